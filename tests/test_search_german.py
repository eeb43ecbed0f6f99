"""German search: stems, umlaut spellings, compounds, phrases, fields, ranking, query errors."""

from __future__ import annotations

import datetime

import pytest

from akn_mail import config as config_module
from akn_mail import db as db_module
from akn_mail.archive.filing import Archive
from akn_mail.archive.search import ArchiveSearch, QuerySyntaxError

from archive_support import docx_bytes, mail, setup_roster

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Minutes of 2027-Q1 (Dormagen), Q2 (Grevenbroich), Q3 (Jüchen), Q4 (Kaarst) and posts.

    Built once for the module (read-only afterwards), in its own data directory.
    """
    directory = tmp_path_factory.mktemp("german")
    (directory / "akn-mail.toml").write_text('[storage]\ndata_dir = "data"\n', encoding="utf-8")
    config = config_module.load(directory / "akn-mail.toml", environ={})
    database = db_module.connect(config.database_path)
    setup_roster(database)
    archive = Archive(config, database)
    ids = {}

    def file(key, *args, **kwargs):
        ids[key] = archive.file(mail(*args, message_id=f"{key}@test", **kwargs)).message.id

    file("q1", "[Protokoll] Sitzung 2027-Q1", "TOP 1 Förderprogramme\nDas Land hat neue Förderprogramme aufgelegt.",
         sender="anna@dormagen.example", date="2027-03-11")
    file("q2", "[Protokoll] Sitzung 2027-Q2", "Der Kreis stellt das Wärmeplanungsgesetz vor.\nDie kommunale Wärmeplanung beginnt 2028.",
         sender="bernd@grevenbroich.example", date="2027-06-10")
    file("q3", "[Protokoll] Sitzung 2027-Q3", "Anbei das Protokoll.", sender="clara@juechen.example", date="2027-09-09",
         attachments=[("protokoll.docx", docx_bytes("Starkregen", ["Die Starkregengefahrenkarte für Jüchen ist fertig.",
                                                                      "Stadtbäume leiden unter Hitze."]), DOCX)])
    file("q4", "[Protokoll] Sitzung 2027-Q4", "TOP 2 Radverkehr\nDas Radverkehrskonzept wurde beschlossen.",
         sender="dirk@kaarst.example", date="2027-12-02")
    file("post-rad", "Radverkehr in Neuss", "Wir planen auch mehr Radverkehr, wer hat Erfahrungen?",
         sender="anna@dormagen.example", date="2027-12-05")
    file("post-foerder", "Frage zu Förderprogramm", "Gibt es ein Förderprogramm für Wärmepumpen?",
         sender="bernd@grevenbroich.example", date="2028-01-15")
    file("post-mention", "Ausblick", "Nebenbei: die Förderprogramme laufen aus.", sender="anna@dormagen.example", date="2028-02-01")
    yield ArchiveSearch(archive.index, database), ids
    database.close()


def found(search, query, **filters):
    return [hit.id for hit in search.search(query, limit=50, **filters)]


@pytest.mark.parametrize("query, expected", [
    ("Förderprogramm", {"q1", "post-foerder", "post-mention"}),       # Förderprogramme -> Förderprogramm
    ("Förderprogrammen", {"q1", "post-foerder", "post-mention"}),
    ("Waerme", {"q2", "post-foerder"}),                               # ae = ä; Wärmeplanung, Wärmepumpen
    ("wärme", {"q2", "post-foerder"}),
    ("Wärmeplanung", {"q2"}),                                         # also the compound Wärmeplanungsgesetz
    ("Starkregen", {"q3"}),                                           # in Starkregengefahrenkarte, in a DOCX
    ("Juechen", {"q3"}),                                              # ue = ü
    ("Stadtbaum", {"q3"}),                                            # Stadtbäume
    ("Gefahrenkarte", {"q3"}),                                        # the end of a compound
    ("Konzept", {"q4"}),                                              # Radverkehrskonzept
    ("RADVERKEHR", {"q4", "post-rad"}),
    ('"kommunale Wärmeplanung"', {"q2"}),
    ('"Wärmeplanung kommunale"', {"q2"}),                            # the words in another order: a lower tier
    ("Wärmepl*", {"q2"}),
    ("Förder* AND NOT Wärme*", {"q1", "post-mention"}),
    ("Starkregen OR Radverkehrskonzept", {"q3", "q4"}),
    ("subject:Radverkehr", {"post-rad"}),
    ("host:Kaarst", {"q4"}),
    ("host:Juechen", {"q3"}),
    ("from:bernd@grevenbroich.example", {"q2", "post-foerder"}),
    ("from:Grevenbroich", {"q2", "post-foerder"}),
    ("Förderprogramm date:2028", {"post-foerder", "post-mention"}),
    ("Förderprogramm date:[2027-01-01 to 2027-12-31]", {"q1"}),
    ("meeting:2027-Q3", {"q3"}),
    ("Förderprogramm date:>2027-12-31", {"post-foerder", "post-mention"}),
    ("Förderprogramm date:<2028-02", {"q1", "post-foerder"}),
    ("Förderprogramm date:[2028-01-15 to]", {"post-foerder", "post-mention"}),
    ("Radverkehr OR date:2028-02", {"q4", "post-rad", "post-mention"}),
    ('subject:"Sitzung 2027-Q4"', {"q4"}),
    ("host:(Jüchen OR Kaarst)", {"q3", "q4"}),
])
def test_german_queries(corpus, query, expected):
    search, ids = corpus
    assert set(found(search, query)) == {ids[key] for key in expected}


def test_member_name_in_the_words_lifts_the_posts_of_that_host(corpus):
    search, ids = corpus
    # Kaarst is not a required word but a boost on the effective host: the minutes of the
    # meeting Kaarst hosted first, then the other post on cycling (from Dormagen).
    hits = search.search("Kaarst Radverkehr", limit=50)
    assert [(hit.id, hit.tier) for hit in hits] == [(ids["q4"], "literal"), (ids["post-rad"], "literal")]
    assert hits[0].score > hits[1].score
    hits = search.search("Dormagen Radverkehr", limit=50)
    assert [hit.id for hit in hits] == [ids["post-rad"], ids["q4"]]


def test_minutes_rank_first_only_when_the_query_asks_for_them(corpus):
    search, ids = corpus
    # Previously minutes whose headings matched always came first.
    assert found(search, "Förderprogramme")[0] == ids["post-foerder"]
    for query in ("Protokoll Förderprogramme", "Förderprogramme TOP", "Niederschrift Förderprogramme"):
        assert found(search, query) == [ids["q1"], ids["post-foerder"], ids["post-mention"]], query


def test_filters(corpus):
    search, ids = corpus
    assert set(found(search, "Förderprogramm", minutes=True)) == {ids["q1"]}
    assert set(found(search, "Radverkehr", host="Kaarst")) == {ids["q4"]}
    assert set(found(search, "Förderprogramm", sender="bernd@grevenbroich.example")) == {ids["post-foerder"]}
    assert set(found(search, "Förderprogramm", since=datetime.date(2028, 1, 15))) == {ids["post-foerder"], ids["post-mention"]}
    assert set(found(search, "Förderprogramm", until=datetime.date(2028, 1, 15))) == {ids["q1"], ids["post-foerder"]}
    assert len(search.search("Förderprogramm", limit=2)) == 2


def test_snippet_marks_the_matches(corpus):
    search, ids = corpus
    hit = search.search('"kommunale Wärmeplanung"')[0]
    assert hit.as_json()["snippet"] == "Der Kreis stellt das Wärmeplanungsgesetz vor. Die **kommunale** **Wärmeplanung** beginnt 2028."


@pytest.mark.parametrize("query", ["Wärme", "Regen", "Wärme*", "Planung", '"Rhein-Kreis Neuss"', "regen2"])
def test_snippet_marks_whole_words_only(query):
    """The marked places are the words ``WORD`` cuts the text into that the query matches:
    not a part of a longer word, of a hyphenated or dotted one, or of one with a digit or _."""
    import random

    from akn_mail.archive.analysis import WORD
    from akn_mail.archive.index import make_schema
    from akn_mail.archive.search import _WordMatcher, _expand, parse_query

    texts = ["Die kommunale Wärmeplanung im Rhein-Kreis Neuss; wärme.plan, Wärme-Planung -Wärme Wärme. _Wärme "
             "Wärme_ x.Wärme Wärmes Wärme--Plan ..Wärme.. Wärme.x Starkregen, Regen-Wasser, Regen. 2regen regen2"]
    rng = random.Random(13)
    letters = list("abcäöü Wärme-.,_ Regen2 ")
    texts += ["".join(rng.choice(letters) for _ in range(rng.randint(5, 80))) for _ in range(2000)]
    matcher = _WordMatcher(_expand(parse_query(query, make_schema(), expand=False)))
    for text in texts:
        every_word = [(m.start(), m.end()) for m in WORD.finditer(text) if matcher.matches(m.group(0))]
        assert matcher.spans(text) == every_word, text
    assert matcher.spans(texts[0])


@pytest.mark.parametrize("query, message", [
    ('"kommunale Wärmeplanung', "query syntax error at column 1: the quote '\"' is never closed."),
    ("(Starkregen OR Hitze", "query syntax error at column 1: '(' is never closed."),
    ("Starkregen)", "query syntax error at column 11: ')' without a matching '('."),
    ("Starkregen AND", "query syntax error at column 12: nothing follows the operator."),
    ("OR Hitze", "query syntax error at column 1: OR needs a word before it."),
    ("ort:Jüchen", "query syntax error at column 1: unknown field 'ort:'; known fields are host:, from:, subject:, date:, meeting:, headings:, body:."),
    ("Hitze host:", "query syntax error at column 7: 'host:' needs a value right after the colon."),
    ("*regen", "query syntax error at column 1: a word cannot start with '*'; put * at the end, e.g. Wärme*."),
    ("Hitze date:gestern", "query syntax error at column 7: cannot read the date 'gestern'; write date:2025, date:2025-03, date:2025-03-11, date:[2025-01-01 to 2025-06-30] or date:>2025-03."),
    ("date:[2025 bis 2026]", "query syntax error at column 1: a date range looks like date:[2025-01-01 to 2025-06-30]."),
    ("   ", "the query is empty; give at least one word, e.g. akn-mail search Wärmeplanung"),
])
def test_query_syntax_errors_say_where(corpus, query, message):
    search, _ = corpus
    with pytest.raises(QuerySyntaxError) as error:
        search.search(query)
    assert str(error.value) == message
