"""Rebuilding the index on every core, and words found inside compounds without a tails field."""

from __future__ import annotations

import shutil

import pytest
from whoosh import index as whoosh_index
from whoosh.fields import TEXT

from akn_mail.archive.analysis import tails_analyzer
from akn_mail.archive.filing import Archive
from akn_mail.archive.index import INDEX_NAME, make_schema
from akn_mail.archive.mime import read
from akn_mail.archive.rebuild import RebuildError
from akn_mail.archive.search import ArchiveSearch
from akn_mail.archive.store import ArchiveError

from archive_support import docx_bytes, mail, pdf_bytes, setup_roster

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
QUERIES = ["Satzung", "Regen", "Konzept", "Wärmeplanung", "Waerme*", "Photovoltaik", '"kommunale Wärmeplanung"',
           "Förderprogramm", "Niederschlagswasser", "Starkregen OR Radverkehr", "Baumschutzsatzung"]


def file_corpus(archive: Archive) -> None:
    archive.file(mail("[Protokoll] Sitzung 2027-Q1", "TOP 1 Baumschutzsatzungen\nDie Baumschutzsatzungen der Städte im Vergleich.",
                      message_id="b1@x"))
    archive.file(mail("Starkregen", "Nach dem Starkregens-Ereignis: Vorsorge im Kreis.", message_id="b2@x"))
    archive.file(mail("Radverkehr", "Das Radverkehrskonzept ist beschlossen; die kommunale Wärmeplanung folgt.", message_id="b3@x"))
    archive.file(mail("Protokoll als PDF", "Anbei.", message_id="b4@x",
                      attachments=[("protokoll.pdf", pdf_bytes(["Photovoltaik auf Schuldaechern", "Bundesfoerderprogramme"]), PDF)]))
    archive.file(mail("Anlage", "Siehe Anlage.", message_id="b5@x",
                      attachments=[("anlage.docx", docx_bytes("Niederschlagswasser", ["Versickerung statt Kanal"]), DOCX)]))
    archive.file(mail("Energieberatung", "Die Energieberatung der Verbraucherzentrale ist kostenlos.", message_id="b6@x"))
    for number in range(11):
        archive.file(mail(f"Runde {number}", f"Beitrag {number} zu Klimaschutz und Wärmepumpen", message_id=f"n{number}@x",
                          date=f"2027-04-{number + 1:02d}"))


def answers(search: ArchiveSearch) -> dict:
    return {query: [(hit.id, hit.snippet, hit.tier) for hit in search.search(query, limit=20)] for query in QUERIES}


def test_reindex_on_several_processes_gives_the_same_answers_as_one(config, database):
    setup_roster(database)
    archive = Archive(config, database)
    file_corpus(archive)
    search = ArchiveSearch(archive.index, database)
    filed = answers(search)
    assert all(filed.values())
    statuses = database.execute("SELECT extraction FROM archived_attachments ORDER BY id").fetchall()

    assert archive.reindex(workers=0) == 17
    one = answers(search)
    assert archive.reindex(workers=2) == 17
    two = answers(search)
    assert one == filed and two == filed
    # Equal scores (a prefix scores every hit alike): the newer post first, however built.
    dates = [hit.date for hit in search.search("Waerme*", limit=20) if hit.subject.startswith("Runde")]
    assert dates == sorted(dates, reverse=True) and len(dates) == 11
    # The readers' extraction outcomes are recorded as filing recorded them.
    assert database.execute("SELECT extraction FROM archived_attachments ORDER BY id").fetchall() == statuses
    assert [row[0] for row in statuses] == ["ok", "ok"]
    assert not any(path.name.endswith(".rebuild") for path in archive.index.path.parent.iterdir())


def test_words_inside_compounds_are_found_without_a_tails_field(config, database):
    setup_roster(database)
    archive = Archive(config, database)
    file_corpus(archive)
    search = ArchiveSearch(archive.index, database)
    assert "tails" not in whoosh_index.open_dir(str(archive.index.path), indexname=INDEX_NAME).schema
    by_subject = lambda query: {hit.subject for hit in search.search(query, limit=20)}  # noqa: E731
    # Snowball cuts "ung" off the long compound (baumschutzsatz) but not off "Satzung".
    assert "[Protokoll] Sitzung 2027-Q1" in by_subject("Satzung")
    assert "Starkregen" in by_subject("Regen")                 # starkreg ends with reg
    assert "Radverkehr" in by_subject("Konzept")               # radverkehrskonzept
    assert "Protokoll als PDF" in by_subject("Förderprogramm")  # in the PDF: Bundesfoerderprogramme
    # The snippet marks the compound the word was found in.
    hit = next(hit for hit in search.search("Satzung") if hit.subject.startswith("[Protokoll]"))
    assert "\x02Baumschutzsatzungen\x03" in hit.snippet
    # Short words are not looked for inside others (Rat is not in Beratung).
    assert not by_subject("Rat")


def test_a_rebuild_that_cannot_read_a_message_keeps_the_old_index(config, database, tmp_path):
    setup_roster(database)
    archive = Archive(config, database)
    file_corpus(archive)
    stored = archive.meta.message("b3@x")
    path = next(archive.maildir.path.glob(f"cur/{stored.maildir_key}*"))
    path.rename(tmp_path / "away")
    path.symlink_to(tmp_path / "gone")  # a message the Maildir lists but nobody can read
    with pytest.raises(RebuildError) as caught:
        archive.reindex(workers=2)
    assert isinstance(caught.value, ArchiveError)
    assert stored.maildir_key in str(caught.value) and "old index is kept" in str(caught.value)
    assert ArchiveSearch(archive.index, database).search("Radverkehrskonzept")  # the old index still answers
    assert not any(p.name.endswith(".rebuild") for p in archive.index.path.parent.iterdir())
    path.unlink()
    (tmp_path / "away").rename(path)
    assert archive.reindex(workers=2) == 17


def test_an_index_built_with_the_former_tails_field_still_opens_and_answers(config, database):
    """An index written before the words field: it opens (its schema names the tails
    analyzer), finds words, prefixes and most words inside compounds, and `archive reindex`
    makes it current."""
    setup_roster(database)
    archive = Archive(config, database)
    archive.file(mail("Radverkehr", "Das Radverkehrskonzept ist beschlossen. Baumschutzsatzungen folgen.", message_id="old@x"))
    stored = archive.meta.message("old@x")
    shutil.rmtree(archive.index.path)
    schema = make_schema()
    schema.remove("words")
    schema.add("tails", TEXT(analyzer=tails_analyzer(), phrase=False))
    archive.index.path.mkdir()
    old = whoosh_index.create_in(str(archive.index.path), schema, indexname=INDEX_NAME)
    writer = old.writer()
    document = archive.document(stored, read(archive.maildir.get(stored.maildir_key)), [])
    document.pop("words")
    writer.add_document(tails=document["body"], **document)
    writer.commit()

    search = ArchiveSearch(archive.index, database)
    assert [hit.id for hit in search.search("Radverkehr")] == [stored.id]
    assert [hit.id for hit in search.search("Konzept")] == [stored.id]  # inside the stem radverkehrskonzept
    assert search.search("Satzung") == []  # the stem baumschutzsatz hides it: only after a reindex
    search.close()
    assert archive.reindex() == 1
    assert [hit.id for hit in ArchiveSearch(archive.index, database).search("Satzung")] == [stored.id]


def test_equal_scores_give_the_newest_posts_even_when_more_match_than_shown(config, database):
    """Thirty posts that a prefix query scores alike, filed oldest first in several segments:
    the first page is the ten newest, in date order, before and after a rebuild."""
    setup_roster(database)
    archive = Archive(config, database)
    for day in range(30):
        archive.file(mail(f"Tag {day}", "Wärmepumpen im Bestand", message_id=f"t{day}@x",
                          date=f"2027-05-{day + 1:02d}"))
    expected = [f"2027-05-{day:02d}" for day in range(30, 20, -1)]
    for workers in (None, 0, 2):
        if workers is not None:
            archive.reindex(workers=workers)
        search = ArchiveSearch(archive.index, database)
        assert [hit.date[:10] for hit in search.search("Wärme*")] == expected, workers
        assert [hit.date[:10] for hit in search.search("Wärmepumpen")] == expected, workers
        search.close()


def test_an_index_without_the_words_field_takes_new_posts(config, database):
    setup_roster(database)
    archive = Archive(config, database)
    archive.file(mail("Erster", "Radverkehr", message_id="first@x"))
    shutil.rmtree(archive.index.path)
    schema = make_schema()
    schema.remove("words")
    archive.index.path.mkdir()
    whoosh_index.create_in(str(archive.index.path), schema, indexname=INDEX_NAME)
    filed = archive.file(mail("Zweiter", "Die Baumschutzsatzungen der Städte", message_id="second@x"))
    assert filed.indexed
    assert [hit.id for hit in ArchiveSearch(archive.index, database).search("Satzung")] == [filed.message.id]


def test_a_rebuild_that_fails_midway_leaves_no_process_behind(config, database, tmp_path):
    import multiprocessing

    setup_roster(database)
    archive = Archive(config, database)
    for number in range(260):
        archive.file(mail(f"Beitrag {number}", f"Text {number} zur Wärmeplanung", message_id=f"m{number}@x"))
    late = archive.meta.message("m250@x")
    path = next(archive.maildir.path.glob(f"cur/{late.maildir_key}*"))
    path.rename(tmp_path / "away")
    path.symlink_to(tmp_path / "gone")
    with pytest.raises(RebuildError):
        archive.reindex(workers=2)  # the writer processes have batches by then
    assert [child for child in multiprocessing.active_children() if "SubWriter" in type(child).__name__] == []
    assert len(ArchiveSearch(archive.index, database).search("Wärmeplanung", limit=300)) == 260
