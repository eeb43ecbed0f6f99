"""Matching with arrays (archive.arrays) answers as Whoosh's own matchers do, on real indexes."""

from __future__ import annotations

import pytest

from akn_mail.archive import search as search_module
from akn_mail.archive.filing import Archive
from akn_mail.archive.search import ArchiveSearch

from archive_support import mail, setup_roster

QUERIES = [
    "Wärmeplanung", "Wärme", "Waerme*", "Starkregen", "Radverkehr NOT Kaarst", "Klimaschutz AND Hitze",
    "Klimaschutz OR Hitze", '"kommunale Wärmeplanung"', '"faire Kantine"', "Lärm Schutz", "Protokoll Wärmeplanung",
    "Dormagen Starkregen", "Kantinenumstellung", "date:2027-04 Hitze", "subject:Runde", "host:Kaarst",
    "NOT Hitze", "(Hitze OR Starkregen) AND NOT Radverkehr", "Bauamtsleitung", '"Rhein-Kreis Neuss" Kantine',
    "Energieberatung Photovoltaik Wärmepumpe",
]


def file_corpus(archive: Archive) -> None:
    texts = [
        ("Wärmeplanung", "Die kommunale Wärmeplanung beginnt; Wärmepumpen und Fernwärme im Quartier."),
        ("Starkregen", "Nach dem Starkregen: Starkregengefahrenkarte und Hitzeschutz im Kreis."),
        ("Kantine", "Die Kantine, fair beliefert, stellt um: Umstellung der Kantine bis Juni."),
        ("Lärm", "Der Lärmschutz an der Straße und die Lärmkartierung des Rhein-Kreis Neuss."),
        ("Radverkehr", "Radverkehr in Kaarst und Neuss; die Wärmeplanung folgt später."),
        ("Bauamt", "Die Leitung des Bauamts übernimmt die Planung."),
    ]
    for number, (subject, text) in enumerate(texts):
        archive.file(mail(subject, text, message_id=f"t{number}@x", date=f"2027-03-{number + 1:02d}"))
    archive.file(mail("[Protokoll] Sitzung 2027-Q1", "TOP 1 Wärmeplanung\nBeschluss zur kommunalen Wärmeplanung.",
                      message_id="p1@x", date="2027-03-20"))
    archive.file(mail("[Protokoll] Sitzung 2027-Q1", "TOP 1 Wärmeplanung\nKorrigiert: Beschluss zur Wärmeplanung.",
                      message_id="p2@x", date="2027-03-21"))  # replaces the first version
    for number in range(14):
        archive.file(mail(f"Runde {number}", f"Beitrag {number} zu Klimaschutz, Hitze und Wärmepumpen",
                          sender="dirk@kaarst.example", message_id=f"r{number}@x", date=f"2027-04-{number + 1:02d}"))


def answers(search: ArchiveSearch, arrays: bool, limit: int) -> dict:
    search_module.ARRAYS = arrays
    try:
        return {query: [(hit.id, round(hit.score, 9), hit.tier, hit.snippet) for hit in search.search(query, limit=limit)]
                for query in QUERIES}
    finally:
        search_module.ARRAYS = True


@pytest.mark.parametrize("workers", [None, 2])
def test_arrays_rank_as_whoosh_matchers_do(config, database, workers):
    """Every match, score and tier the same as Whoosh's matchers give, with a limit above
    the number of matches (so Whoosh prunes nothing); filed post by post (several segments,
    a replaced version of minutes) and after a rebuild on two processes."""
    setup_roster(database)
    archive = Archive(config, database)
    file_corpus(archive)
    if workers:
        archive.reindex(workers=workers)
    search = ArchiveSearch(archive.index, database)
    whoosh = answers(search, arrays=False, limit=100)
    assert answers(search, arrays=True, limit=100) == whoosh
    assert sum(1 for hits in whoosh.values() if hits) >= len(QUERIES) - 2
    assert {tier for hits in whoosh.values() for _, _, tier, _ in hits} >= {"literal", "near", "parts", "most concepts"}


def test_a_short_page_is_the_start_of_the_longer_list(config, database):
    """The first page shows the best hits, the same as the first lines of a longer list
    (Whoosh's block pruning, with NOT and optional clauses, could skip better hits)."""
    setup_roster(database)
    archive = Archive(config, database)
    file_corpus(archive)
    search = ArchiveSearch(archive.index, database)
    for query in QUERIES:
        long = [hit.id for hit in search.search(query, limit=100)]
        for limit in (1, 3, 10):
            assert [hit.id for hit in search.search(query, limit=limit)] == long[:limit], (query, limit)


def test_words_near_each_other_are_judged_by_their_positions(config, database):
    setup_roster(database)
    archive = Archive(config, database)
    archive.file(mail("Nah", "Die Kantine wird fair beliefert.", message_id="near@x", date="2027-03-01"))
    archive.file(mail("Fern", "Die Kantine ist neu. " + "Wort " * 20 + "Fair ist anders.", message_id="far@x",
                      date="2027-03-02"))
    archive.file(mail("Genau", "Eine faire Kantine für alle.", message_id="exact@x", date="2027-03-03"))
    search = ArchiveSearch(archive.index, database)
    hits = search.search('"faire Kantine"')
    assert [(hit.subject, hit.tier) for hit in hits] == [
        ("Genau", "literal"), ("Nah", "near any order"), ("Fern", "most concepts")]
