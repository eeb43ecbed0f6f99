"""Filing through the pipeline's archive step: Maildir, metadata, attachments, index."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shlex
import signal

from akn_mail.archive.filing import Archive
from akn_mail.archive.indexer import BackgroundIndexer
from akn_mail.archive.search import ArchiveSearch
from akn_mail.pipeline.context import Post
from akn_mail.services import Services
from akn_mail.message import parse
from akn_mail.roster.members import Roster
from akn_mail.pipeline.steps.archive import file_in_archive
from akn_mail.pipeline.steps.minutes import detect_minutes

from archive_support import docx_bytes, mail, odt_bytes, pdf_bytes, setup_roster, zip_bomb_docx

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"


def run_step(config, db, raw: bytes, is_minutes: bool = False):
    parsed = parse(raw)
    roster = Roster(db)
    contact = roster.find_contact("anna@dormagen.example")
    post = Post(raw=raw, parsed=parsed, message_id=parsed.message_id,
               sender_member=roster.member_by_id(contact.member_id) if contact else None, is_minutes=is_minutes)
    decision = file_in_archive(post, Services(config, db))
    assert BackgroundIndexer.for_config(config).flush()  # the server's indexer catches up
    return decision, post


def test_step_files_minutes_with_pdf_docx_odt_and_goes_on(config, database):
    setup_roster(database)
    raw = mail(
        "[Protokoll] Sitzung vom 11.03.2027", "Anbei das Protokoll.", message_id="p1@dormagen.example",
        attachments=[
            ("protokoll.pdf", pdf_bytes(["TOP 1 Waermeplanung", "Das Waermeplanungsgesetz gilt ab 2028."]), PDF),
            ("anlage.docx", docx_bytes("Starkregen", ["Starkregengefahrenkarte fuer Juechen"]), DOCX),
            ("anlage.odt", odt_bytes("Radverkehr", ["Radverkehrskonzept Kaarst"]), ODT),
        ],
    )
    decision, post = run_step(config, database, raw, is_minutes=True)
    assert decision.is_next
    archive = Archive(config, database)
    stored = archive.meta.message(post.archive_id)
    assert (stored.message_id, stored.meeting, stored.member_name, stored.is_minutes) == ("p1@dormagen.example", "2027-Q1", "Dormagen", True)
    assert archive.maildir.get(stored.maildir_key) == raw  # the original bytes, unchanged
    rows = archive.meta.attachments(stored.id)
    assert [(r["filename"], r["extraction"]) for r in rows] == [("protokoll.pdf", "ok"), ("anlage.docx", "ok"), ("anlage.odt", "ok")]
    search = ArchiveSearch(archive.index, database)
    for query in ("Wärmeplanungsgesetz", "Starkregen", "Radverkehr", "Jüchen"):
        assert [hit.id for hit in search.search(query)] == [stored.id], query
    minutes = database.execute("SELECT archived_id FROM meeting_minutes WHERE meeting_id = ?", (stored.meeting_id,)).fetchone()
    assert minutes["archived_id"] == stored.id


def test_same_message_id_is_filed_once(config, database):
    setup_roster(database)
    raw = mail("Hallo", message_id="same@dormagen.example")
    _, first = run_step(config, database, raw)
    _, second = run_step(config, database, raw)
    assert first.archive_id == second.archive_id
    assert database.execute("SELECT count(*) FROM archived_messages").fetchone()[0] == 1
    assert len(Archive(config, database).maildir) == 1


def test_hostile_attachments_are_recorded_and_the_message_is_still_found(config, database):
    setup_roster(database)
    raw = mail(
        "Unterlagen Klimaanpassung", "Der Text im Körper erwähnt Hitzeschutz.", message_id="h1@dormagen.example",
        attachments=[
            ("../../etc/passwd", b"root:x:0:0", "text/plain"),
            ("bericht\x1b]0;pwn\x07.pdf", pdf_bytes(["geheim"], password="pw"), PDF),
            ("bombe.docx", zip_bomb_docx(), DOCX),
        ],
    )
    _, post = run_step(config, database, raw)
    archive = Archive(config, database)
    rows = archive.meta.attachments(post.archive_id)
    assert [r["filename"] for r in rows] == ["passwd", "bericht]0;pwn.pdf", "bombe.docx"]
    assert [r["extraction"] for r in rows] == ["ok", "failed", "failed"]
    assert rows[1]["extraction_note"] == "the PDF is encrypted (password protected); its text was not extracted"
    assert rows[2]["extraction_note"].startswith("refused as a zip bomb")
    assert [hit.id for hit in ArchiveSearch(archive.index, database).search("Hitzeschutz")] == [post.archive_id]


def test_a_mail_with_200_attachments_is_archived_with_all_of_them(config, database):
    setup_roster(database)
    attachments = [(f"anlage-{n}.txt", f"Anlage Nummer {n} Baumkataster".encode(), "text/plain") for n in range(200)]
    _, post = run_step(config, database, mail("Viele Anlagen", message_id="many@dormagen.example", attachments=attachments))
    archive = Archive(config, database)
    rows = archive.meta.attachments(post.archive_id)
    assert len(rows) == 200 and {r["extraction"] for r in rows} == {"ok"}
    assert [hit.id for hit in ArchiveSearch(archive.index, database).search("Baumkataster")] == [post.archive_id]


def test_big_pdf_over_the_configured_limit_is_stored_but_not_read(config, database):
    config.archive.extract_max_bytes = 100_000
    setup_roster(database)
    big = pdf_bytes(["Anhang"]).replace(b"%%EOF", b"% " + b"0" * 200_000 + b"\n%%EOF")
    _, post = run_step(config, database, mail("Großer Anhang", "Siehe Anhang Lärmaktionsplan.", message_id="big@x", attachments=[("gross.pdf", big, PDF)]))
    archive = Archive(config, database)
    row = archive.meta.attachments(post.archive_id)[0]
    assert (row["extraction"], row["size"]) == ("skipped", len(big))
    assert [hit.id for hit in ArchiveSearch(archive.index, database).search("Lärmaktionsplan")] == [post.archive_id]


def test_replies_join_the_thread_of_their_first_message(config, database):
    setup_roster(database)
    archive = Archive(config, database)
    first = archive.file(mail("Frage", message_id="q@x")).message
    reply = archive.file(mail("Re: Frage", message_id="a@x", in_reply_to="q@x")).message
    again = archive.file(mail("Re: Re: Frage", message_id="b@x", in_reply_to="a@x")).message
    assert first.thread_id == reply.thread_id == again.thread_id == "q@x"
    assert again.in_reply_to == "a@x"


def test_html_only_mail_is_indexed_by_its_text(config, database):
    archive = Archive(config, database)
    raw = mail("Newsletter", "", message_id="html@x", html="<h1>Förderaufruf</h1><p>Kommunale Klimaschutz-Investitionen</p>")
    filed = archive.file(raw).message
    assert [hit.id for hit in ArchiveSearch(archive.index, database).search("Förderaufruf")] == [filed.id]


def test_busy_index_leaves_the_post_pending_and_the_next_write_catches_up(config, database):
    archive = Archive(config, database)
    with archive.index.writer():  # another writer holds the lock
        import akn_mail.archive.filing as filing

        old, filing.FILING_LOCK_TIMEOUT = filing.FILING_LOCK_TIMEOUT, 0.2
        try:
            filed = archive.file(mail("Erster", "Windenergie", message_id="w1@x"))
        finally:
            filing.FILING_LOCK_TIMEOUT = old
    assert not filed.indexed
    assert database.execute("SELECT indexed FROM archived_messages WHERE id = ?", (filed.message.id,)).fetchone()[0] == 0
    second = archive.file(mail("Zweiter", "Windenergie", message_id="w2@x"))
    assert second.indexed
    hits = ArchiveSearch(archive.index, database).search("Windenergie")
    assert sorted(hit.id for hit in hits) == [filed.message.id, second.message.id]


def _hold_lock_and_die(index_dir: str) -> None:
    from akn_mail.archive.index import ArchiveIndex

    writer = ArchiveIndex(index_dir).open().writer()
    os.kill(os.getpid(), signal.SIGKILL)


def test_stale_lock_of_a_crashed_writer_is_recovered(config, database):
    archive = Archive(config, database)
    archive.file(mail("Vorher", message_id="before@x"))
    process = multiprocessing.get_context("spawn").Process(target=_hold_lock_and_die, args=(str(archive.index.path),))
    process.start()
    process.join(30)
    assert process.exitcode == -signal.SIGKILL
    filed = archive.file(mail("Nachher", "Photovoltaik", message_id="after@x"))
    assert filed.indexed
    assert [hit.id for hit in ArchiveSearch(archive.index, database).search("Photovoltaik")] == [filed.message.id]


def test_reindex_rebuilds_the_same_results(config, database):
    setup_roster(database)
    archive = Archive(config, database)
    archive.file(mail("[Protokoll] Sitzung 2027-Q1", "Kommunale Wärmeplanung und Starkregen", message_id="r1@x"))
    archive.file(mail("Radverkehr", "Radverkehrskonzept", message_id="r2@x"))
    archive.file(mail("Förderprogramme", "Neue Förderprogramme für Wärmepumpen", message_id="r3@x"))
    search = ArchiveSearch(archive.index, database)
    queries = ["Wärme", "Waerme*", "Rad*", "Förderprogramm", "Starkregen OR Radverkehr", '"kommunale Wärmeplanung"']
    before = {query: [(hit.id, hit.snippet) for hit in search.search(query)] for query in queries}
    import shutil

    shutil.rmtree(archive.index.path)
    assert archive.reindex() == 3
    after = {query: [(hit.id, hit.snippet) for hit in search.search(query)] for query in queries}
    assert after == before and all(before.values())


def test_searching_while_the_server_files_never_fails(config, database):
    import threading

    from akn_mail import db as db_module

    archive = Archive(config, database)
    archive.file(mail("Start", "Klimaschutz", message_id="start@x"))
    errors, done = [], threading.Event()

    def searcher_loop():
        connection = db_module.connect(config.database_path)
        try:
            search = ArchiveSearch(Archive(config, connection).index, connection)
            while not done.is_set():
                fresh = ArchiveSearch(search.index, connection)  # like a new `akn-mail search`
                for engine in (search, fresh):
                    if not engine.search("Klimaschutz"):
                        errors.append("no hits")
                fresh.close()
        except Exception as error:  # anything reaching here would reach a user
            import traceback

            errors.append(traceback.format_exc())
        finally:
            connection.close()

    thread = threading.Thread(target=searcher_loop)
    thread.start()
    try:
        for number in range(40):  # enough commits for several merges
            archive.file(mail(f"Post {number}", "Klimaschutz im Kreis", message_id=f"c{number}@x"))
    finally:
        done.set()
        thread.join(60)
    assert errors == []
    assert len(ArchiveSearch(archive.index, database).search("Klimaschutz", limit=100)) == 41


def test_archived_log_line_keeps_an_extra_meeting_in_one_field(config, database, caplog):
    setup_roster(database)
    run_step(config, database, mail("[Protokoll] Sitzung 2027-Q1", message_id="q1@dormagen.example"), is_minutes=True)
    caplog.set_level(logging.INFO, logger="akn_mail.archive")
    # No meeting is left without minutes: these become an extra meeting ("extra 2027-03-20").
    run_step(config, database, mail("[Protokoll] Sondersitzung", message_id="extra@dormagen.example"), is_minutes=True)
    # The line of the second post (an earlier test may have left the logger at INFO, so the first post's is there too).
    line = next(record.getMessage() for record in caplog.records
                if record.getMessage().startswith("archived ") and "extra@dormagen.example" in record.getMessage())
    fields = dict(part.split("=", 1) for part in shlex.split(line)[1:])
    assert fields["message_id"] == "<extra@dormagen.example>"
    assert (fields["minutes"], fields["meeting"], fields["duplicate"]) == ("yes", "extra 2027-03-20", "no")


def test_a_reply_to_minutes_filed_directly_is_not_minutes(config, database):
    # archive import and reindex file without the pipeline: they follow detect_minutes
    # too, so "Re: [Protokoll] ..." does not become a new version that hides the minutes.
    setup_roster(database)
    archive = Archive(config, database)
    minutes = archive.file(mail("[Protokoll] Sitzung 2027-Q1", "TOP 1 Baumschutz", message_id="m@x")).message
    reply = archive.file(mail("Re: [Protokoll] Sitzung 2027-Q1", "Danke!", message_id="r@x", in_reply_to="m@x")).message
    assert (minutes.is_minutes, reply.is_minutes, reply.meeting_id) == (True, False, None)
    assert [hit.id for hit in ArchiveSearch(archive.index, database).search("Baumschutz")] == [minutes.id]


def test_import_and_live_filing_agree_on_what_is_minutes(config, database):
    """One rule: a reply about minutes is not minutes, whether imported or arriving live."""
    setup_roster(database)
    archive = Archive(config, database)
    reply = archive.file(mail("AW: [Protokoll] Sitzung 2027-03-20", message_id="aw@dormagen.example"), source="import")
    minutes = archive.file(mail("[Protokoll] Sitzung 2027-03-20", message_id="p@dormagen.example"), source="import")
    assert (reply.message.is_minutes, minutes.message.is_minutes) == (False, True)
    raw = mail("AW: [Protokoll] Sitzung 2027-03-21", message_id="aw2@dormagen.example")
    live = Post(raw=raw, parsed=parse(raw), message_id="aw2@dormagen.example")
    services = Services(config, database)
    detect_minutes(live, services)
    file_in_archive(live, services)
    assert archive.meta.message(live.archive_id).is_minutes is False


def test_the_archive_files_what_the_pipeline_read(config, database):
    """From, Subject and Message-ID come from the pipeline's one parse, not a second reading."""
    raw = mail("Wärmeplanung – Termine", message_id="one-parse@dormagen.example")
    _, post = run_step(config, database, raw)
    stored = Archive(config, database).meta.message(post.archive_id)
    assert (stored.message_id, stored.subject, stored.from_address) == (
        post.message_id, post.subject, post.from_address)
