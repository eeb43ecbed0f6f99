"""Tiered retrieval and ranking (issue 13): each tier and rule on a small built corpus.

Literal hits first; then a query compound found by all its parts apart; a phrase near in
order, then in any order; posts matching most of the concepts; a single compound part last.
"""

from __future__ import annotations

import pytest

from akn_mail import config as config_module
from akn_mail import db as db_module
from akn_mail.archive.compounds import Splitter, spellings
from akn_mail.archive.filing import Archive
from akn_mail.archive.search import ArchiveSearch

from archive_support import mail, setup_roster

POSTS = {
    "literal": ("Schulhofbegrünung", "Die Schulhofbegrünung an der Grundschule beginnt im Mai."),
    "apart": ("Grüne Pausen", "Die Begrünung der Schulhöfe beginnt im Herbst."),
    "related": ("Sanierung", "Die Schulhofsanierung ist für 2028 geplant."),
    "other-hof": ("Bauhof", "Der Bauhof hat neue Fahrzeuge."),
    "exact-phrase": ("Kantine", "Wir wollen eine faire Kantine im Rathaus."),
    "near": ("Preise", "Faire und regionale Preise in der Kantine."),
    "reversed": ("Lieferung", "Die Kantine wird seit Mai fair beliefert."),
    "two-of-three": ("Hitze", "Bei Hitze helfen Trinkwasser und Schatten."),
    "one-of-three": ("Brunnen", "Der Brunnen am Markt wurde saniert."),
    "laermschutz": ("Autobahn", "Der Lärmschutz an der A57 wird erhöht."),
    "laerm-und-schutz": ("Verkehr", "Lärm stört, Schutz fehlt."),
    "dotted": ("Förderaufruf", "Der Aufruf von klima.nrw endet im März."),
    "klima-nrw-apart": ("Klima", "Das Klima in NRW wird wärmer."),
    "klimaanpassung": ("Anpassung", "Die Klimaanpassung beginnt."),
    "bauamtsleitung": ("Personal", "Die Bauamtsleitung wechselt im Oktober."),
    "leitung-des-bauamts": ("Personal", "Die Leitung des Bauamts ist neu besetzt."),
    "abwaerme": ("Rechenzentrum", "Die Nutzung der Abwärme aus dem Rechenzentrum wird geprüft."),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiers")
    (directory / "akn-mail.toml").write_text('[storage]\ndata_dir = "data"\n', encoding="utf-8")
    config = config_module.load(directory / "akn-mail.toml", environ={})
    database = db_module.connect(config.database_path)
    setup_roster(database)
    archive = Archive(config, database)
    ids = {}
    for key, (subject, body) in POSTS.items():
        ids[archive.file(mail(subject, body, message_id=f"{key}@test")).message.id] = key
    search = ArchiveSearch(archive.index, database)
    yield search, ids
    search.close()
    database.close()


def ranked(corpus, query, **options):
    search, ids = corpus
    return [(ids[hit.id], hit.tier) for hit in search.search(query, limit=20, **options)]


def test_a_compound_is_found_by_its_parts_apart_below_the_literal_hit(corpus):
    hits = ranked(corpus, "Schulhofbegrünung")
    assert hits[:2] == [("literal", "literal"), ("apart", "parts")]
    # A compound sharing one part comes last, in the tier of single parts.
    assert ("related", "one part") in hits
    assert hits.index(("related", "one part")) > 1


def test_umlaut_spelled_ae_is_split_like_the_umlaut(corpus):
    assert ranked(corpus, "Abwaermenutzung") == ranked(corpus, "Abwärmenutzung") == [("abwaerme", "parts")]


def test_three_letter_parts_found_where_the_splitter_finds_them(corpus):
    hits = ranked(corpus, "Bauamtsleitung")
    assert hits[:2] == [("bauamtsleitung", "literal"), ("leitung-des-bauamts", "parts")]


def test_phrase_near_in_order_then_any_order(corpus):
    hits = ranked(corpus, '"faire Kantine"')
    assert hits[:3] == [("exact-phrase", "literal"), ("near", "near"), ("reversed", "near any order")]


def test_or_ranked_by_how_many_concepts_match(corpus):
    hits = ranked(corpus, "Hitze Trinkwasser Brunnen")
    assert hits[:2] == [("two-of-three", "most concepts"), ("one-of-three", "most concepts")]


def test_two_word_query_rewards_the_joined_compound(corpus):
    hits = ranked(corpus, "Lärm Schutz")
    assert hits[:2] == [("laermschutz", "literal"), ("laerm-und-schutz", "literal")]


def test_dotted_name_is_one_word_not_a_prefix(corpus):
    hits = ranked(corpus, "klima.nrw")
    assert hits[0] == ("dotted", "literal")
    assert ("klima-nrw-apart", "parts") in hits        # both parts, below
    assert "klimaanpassung" not in [key for key, _ in hits[:2]]


def test_scores_fall_from_tier_to_tier(corpus):
    search, _ = corpus
    scores = [hit.score for hit in search.search("Schulhofbegrünung", limit=20)]
    assert scores == sorted(scores, reverse=True)


def test_operators_and_fields_keep_their_meaning(corpus):
    # No loose readings for a boolean query: only what it says.
    assert ranked(corpus, "Kantine AND NOT fair") == []
    assert ranked(corpus, "Hitze AND Brunnen") == []                 # no "most concepts" for an explicit AND
    assert {key for key, _ in ranked(corpus, "Hitze Brunnen")} == {"two-of-three", "one-of-three"}
    assert {key for key, _ in ranked(corpus, "Bauhof OR Brunnen")} == {"other-hof", "one-of-three"}


def test_splitter_uses_the_archive_vocabulary():
    vocabulary = {"schulhof": 3, "begrun": 2, "bauamt": 1, "leitung": 4, "bau": 1, "amt": 1}
    splitter = Splitter(lambda term: vocabulary.get(term, 0))
    assert splitter.split("Schulhofbegrünung") == ["schulhof", "begrünung"]
    assert splitter.split("Bauamtsleitung")[-1] == "leitung"
    assert splitter.split("Leitung") == []            # a word of its own is no compound
    assert splitter.split("Xylophonbau") == []        # a part the archive does not know
    assert spellings("Abwaerme") == ["abwärme", "abwaerme"]


def test_effective_host_for_minutes_replies_and_posts(config, database):
    """host:/--host and a member named in the query use the post's effective host: the
    meeting's host for minutes, that host for replies in the minutes' thread, else the
    sender's member."""
    setup_roster(database)  # Dormagen hosts 2027-Q1
    archive = Archive(config, database)
    ids = {}
    for key, subject, body, sender, reply_to in (
        ("minutes", "[Protokoll] Sitzung 2027-Q1", "TOP 1 Lärmschutz an der B9", "anna@dormagen.example", None),
        ("reply", "Re: [Protokoll] Sitzung 2027-Q1", "Wie laut ist es dort nachts?", "dirk@kaarst.example", "minutes@test"),
        ("kaarst", "Lärmschutz bei uns", "Der Lärmschutz am Bahnhof kommt.", "dirk@kaarst.example", None),
        ("mention", "Vorbild", "Der Lärmschutz in Dormagen ist vorbildlich, Lärmschutz überall!", "bernd@grevenbroich.example", None),
    ):
        ids[key] = archive.file(mail(subject, body, sender=sender, message_id=f"{key}@test", in_reply_to=reply_to)).message.id
    search = ArchiveSearch(archive.index, database)
    names = {value: key for key, value in ids.items()}
    try:
        assert {names[hit.id] for hit in search.search("host:Dormagen")} == {"minutes", "reply"}
        assert {names[hit.id] for hit in search.search("host:Juechen OR host:Kaarst")} == {"kaarst"}
        assert [names[hit.id] for hit in search.search("Lärmschutz", host="Kaarst")] == ["kaarst"]
        # The member's name is a boost, not a required word: the minutes of the meeting
        # Dormagen hosted come before a post of another member that names Dormagen.
        # The reply in the minutes' thread names neither Dormagen nor Lärmschutz: it follows
        # the literal hits, before looser readings.
        hits = [(names[hit.id], hit.tier) for hit in search.search("Dormagen Lärmschutz")]
        literal = [key for key, tier in hits if tier == "literal"]
        assert literal[0] == "minutes" and set(literal) == {"minutes", "mention", "kaarst"}
        assert hits[3] == ("reply", "same thread")
        assert [hit.host for hit in search.search("host:Dormagen") if names[hit.id] == "reply"] == [None]  # JSON host: the meeting's
    finally:
        search.close()
