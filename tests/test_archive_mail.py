"""The archive by mail: commands to -request through the running service, answers at the relay.

Real service, real relay (aiosmtpd sink), real SQLite, Maildir and Whoosh index, real PDFs.
Every command in German and English, from a contact and from a stranger, and the limits.
"""

from __future__ import annotations

import datetime as dt
import time

import icalendar
import pytest

from akn_mail.roster.quarter import Quarter
from akn_mail.roster.rotation import Rotation

from archive_support import mail, pdf_bytes
from service_support import WAIT, Relay, ThreadedService, configure, send
from test_notices import Setup, wait_for_message

CONTACT = "klimaschutz@dormagen.example"      # Petra Hülsmann, Dormagen (tests/data/roster.csv)
OTHER_CONTACT = "m.schaefer@juechen.example"
STRANGER = "leser@beispiel.example"
REQUEST = "akn-request@lists.example"
PDF = pdf_bytes(["TOP 1 Kommunale Waermeplanung", "TOP 2 Radverkehr"])


def file_archive(setup: Setup) -> dict[str, int]:
    """A small archive: a thread about Wärmeplanung, minutes of 2025-Q3 (two versions, one big file)."""
    from akn_mail.archive.filing import Archive

    archive = Archive(setup.config, setup.db)
    ids = {}
    ids["post"] = archive.file(mail("Kommunale Wärmeplanung in Dormagen", "Die Bestandsanalyse zur Wärmeplanung ist fertig.",
                                    sender=CONTACT, message_id="w1@dormagen.example", date="2025-08-20")).message.id
    ids["old"] = archive.file(mail("[Protokoll] Sitzung 2025-Q3", "Erste Fassung.", sender=CONTACT, message_id="p1@x",
                                   date="2025-09-12", attachments=[("Protokoll Q3.pdf", PDF, "application/pdf")])).message.id
    ids["minutes"] = archive.file(mail(
        "[Protokoll] Sitzung 2025-Q3 vom 11.09.2025 (korrigiert)", "Korrigierte Fassung des Protokolls.\nTOP 1 Wärmeplanung",
        sender=CONTACT, message_id="p2@x", date="2025-09-15",
        attachments=[("Protokoll Q3 v2.pdf", PDF, "application/pdf"), ("Fotos.bin", b"\0" * 40_000, "application/octet-stream")],
    )).message.id
    return ids


def start_service(tmp_path, authserv_id: str = ""):
    """The archive above, served: a real relay, a real service in a thread."""
    relay = Relay().start()
    setup = Setup(tmp_path, relay)
    setup.ids = file_archive(setup)
    configure(setup.config, relay)
    setup.config.archive.mail_answer_max_bytes = 20_000   # the PDF fits, Fotos.bin (40 KB) does not
    setup.config.auth.authserv_id = authserv_id
    setup.service = ThreadedService(setup.config).start()
    setup.port = setup.service.port
    return setup


def stop_service(setup) -> None:
    setup.service.stop()
    setup.db.close()
    setup.relay.stop()


@pytest.fixture
def running(tmp_path):
    setup = start_service(tmp_path)
    yield setup
    stop_service(setup)


def ask(setup: Setup, sender: str, subject: str, body: str = "", extra: str = "", number: int = 0) -> None:
    message = (
        f"From: Jemand <{sender}>\r\nTo: {REQUEST}\r\nSubject: {subject}\r\n"
        f"Message-ID: <ask{number}-{time.monotonic_ns()}@example.org>\r\n{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}"
    ).encode("utf-8")
    send(setup.port, sender, [REQUEST], message)


def answer(setup: Setup, address: str, subject_start: str):
    envelope, message = wait_for_message(setup, address, subject_start)
    assert envelope == "<>"                                   # RFC 3834: an automatic answer
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"] == f"AKN <{REQUEST}>"
    return message


def plain(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def files(message) -> dict[str, bytes]:
    """The attachments by file name, decoded."""
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


def processed(setup: Setup, count: int) -> list:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        rows = setup.db.execute("SELECT action, reason FROM received WHERE route = 'request' ORDER BY id").fetchall()
        if len(rows) >= count:
            return rows
        time.sleep(0.05)
    raise AssertionError(f"the service did not process {count} request(s)")


def test_suche_answers_the_top_hits_in_german_with_text_and_html(running):
    ask(running, CONTACT, "suche Wärmeplanung")
    reply = answer(running, CONTACT, "Suche im Archiv: Wärmeplanung")
    assert reply.get_content_type() == "multipart/alternative"
    text = plain(reply)
    assert "Kommunale Wärmeplanung in Dormagen" in text
    assert "[Protokoll] Sitzung 2025-Q3 vom 11.09.2025 (korrigiert)" in text
    assert f"ID {running.ids['minutes']}" in text
    assert "*Wärmeplanung*" in text                           # the snippet marks the match
    assert "Mit freundlichen Grüßen" in text
    page = html_of(reply)
    assert '<html lang="de">' in page and "Kommunale Wärmeplanung in Dormagen" in page


def test_search_in_english_uses_the_cli_query_language(running):
    ask(running, CONTACT, "search Waermeplanung subject:Dormagen")
    text = plain(answer(running, CONTACT, "Archive search: Waermeplanung subject:Dormagen"))
    assert text.startswith("Hello,")
    assert "1. Kommunale Wärmeplanung in Dormagen" in text and "[Protokoll]" not in text


def test_search_without_words_or_with_a_broken_query_says_so(running):
    ask(running, CONTACT, "suche")
    assert "Ihrer Anfrage fehlen die Suchwörter" in plain(answer(running, CONTACT, "Suche im Archiv: ohne Suchwörter"))
    ask(running, CONTACT, 'search "Wärme', number=1)
    assert "was not possible" in plain(answer(running, CONTACT, 'Archive search: "Wärme'))


def test_protokoll_by_quarter_carries_the_current_minutes_and_lists_a_big_attachment(running):
    ask(running, CONTACT, "protokoll 2025-Q3")
    reply = answer(running, CONTACT, "Protokoll 2025-Q3")
    text = plain(reply)
    assert "[Protokoll] Sitzung 2025-Q3 vom 11.09.2025 (korrigiert)" in text
    assert "Fassung 2" in text and "Korrigierte Fassung des Protokolls." in text
    attached = files(reply)
    assert attached == {"Protokoll Q3 v2.pdf": PDF}          # the current version, under its safe name
    assert "Zu groß zum Mitschicken (über 19 KB):\n  Fotos.bin (39 KB)" in text


@pytest.mark.parametrize("subject, start", [
    ("protokoll 11.09.2025", "Protokoll 2025-Q3"),
    ("Protokoll letztes", "Protokoll 2025-Q3"),
    ("minutes latest", "Minutes 2025-Q3"),
    ("minutes 2025-09-11", "Minutes 2025-Q3"),
])
def test_protokoll_by_date_or_latest(running, subject, start):
    ask(running, CONTACT, subject)
    reply = answer(running, CONTACT, start)
    assert list(files(reply)) == ["Protokoll Q3 v2.pdf"]


def test_minutes_of_an_unknown_or_empty_meeting(running):
    ask(running, CONTACT, "minutes 2019-Q1")
    assert 'I do not know the meeting "2019-Q1"' in plain(answer(running, CONTACT, "Minutes 2019-Q1"))
    Rotation(running.db).ensure_meeting("2025-Q4")
    ask(running, CONTACT, "protokoll 2025-Q4", number=1)
    assert "zur Sitzung 2025-Q4 ist noch kein Protokoll im Archiv" in plain(answer(running, CONTACT, "Protokoll 2025-Q4"))


def test_nachricht_sends_the_archived_post_as_eml(running):
    ask(running, CONTACT, f"nachricht {running.ids['post']}")
    reply = answer(running, CONTACT, f"Nachricht {running.ids['post']} aus dem Archiv")
    assert "„Kommunale Wärmeplanung in Dormagen“" in plain(reply)
    parts = list(reply.iter_attachments())
    assert [part.get_filename() for part in parts] == [f"nachricht-{running.ids['post']}.eml"]
    assert parts[0].get_content_type() == "message/rfc822"
    inner = parts[0].get_payload()[0]
    assert inner["Message-ID"] == "<w1@dormagen.example>"
    assert inner.get_content().strip() == "Die Bestandsanalyse zur Wärmeplanung ist fertig."


def test_message_unknown_id_in_english(running):
    ask(running, CONTACT, "message 999")
    assert 'There is no message with the ID "999"' in plain(answer(running, CONTACT, "Message 999 from the archive"))


def test_message_too_big_is_listed_not_attached(running):
    ask(running, CONTACT, f"message {running.ids['minutes']}")
    reply = answer(running, CONTACT, f"Message {running.ids['minutes']} from the archive")
    assert list(reply.iter_attachments()) == []
    assert "too large to send" in plain(reply)


def test_sitzungen_lists_meetings_with_missing_minutes_marked(running):
    Rotation(running.db).ensure_meeting("2025-Q4")
    ask(running, CONTACT, "sitzungen 2025")
    text = plain(answer(running, CONTACT, "Sitzungen 2025 und ihre Protokolle"))
    assert f"2025-Q3, 11. September 2025" in text or "2025-Q3" in text
    assert f"Protokoll vorhanden (ID {running.ids['minutes']}, 2 Fassungen)" in text
    assert "2025-Q4" in text and "PROTOKOLL FEHLT" in text


def test_meetings_in_english(running):
    ask(running, CONTACT, "meetings")
    text = plain(answer(running, CONTACT, "Meetings and their minutes"))
    assert f"minutes received (ID {running.ids['minutes']}, 2 versions)" in text


def test_termine_lists_the_next_four_meetings_with_an_ics_file(running):
    quarter = Quarter.current()
    rotation = Rotation(running.db)
    rotation.plan(quarter + 1, (quarter + 1).first_day + dt.timedelta(days=20), "Rathaus")
    ask(running, CONTACT, "termine")
    reply = answer(running, CONTACT, "Die nächsten Sitzungen")
    text = plain(reply)
    assert text.count("Gastgeber") == 4
    calendar = icalendar.Calendar.from_ical(files(reply)["termine.ics"])
    starts = [str(event.decoded("dtstart"))[:10] for event in calendar.walk("VEVENT")]
    assert starts == [((quarter + 1).first_day + dt.timedelta(days=20)).isoformat()]
    ask(running, CONTACT, "dates", number=1)
    assert "The next meetings:" in plain(answer(running, CONTACT, "The next meetings"))


@pytest.mark.parametrize("subject, body, start", [
    ("hilfe", "", "Das Archiv per Mail: so funktioniert es"),
    ("Re: help", "", "The archive by mail: how it works"),
    ("Frage", "Hilfe\r\n", "Das Archiv per Mail: so funktioniert es"),   # the first body line
])
def test_help_lists_every_command(running, subject, body, start):
    ask(running, CONTACT, subject, body)
    text = plain(answer(running, CONTACT, start))
    for word in ("suche", "protokoll", "nachricht", "sitzungen", "termine", "hilfe") if start.startswith("Das") else \
            ("search", "minutes", "message", "meetings", "dates", "help"):
        assert f"  {word} " in text
    assert "nicht im Verzeichnis" not in text and "not on the roster" not in text


def test_a_command_in_the_first_body_line(running):
    ask(running, CONTACT, "Anfrage", "\r\nprotokoll letztes\r\n> zitiert\r\n")
    assert list(files(answer(running, CONTACT, "Protokoll 2025-Q3"))) == ["Protokoll Q3 v2.pdf"]


def test_a_stranger_gets_the_help_text_once_a_day_and_no_archive(running):
    ask(running, STRANGER, "protokoll 2025-Q3")
    reply = answer(running, STRANGER, "Das Archiv per Mail")
    text = plain(reply)
    assert "Ihre Adresse steht nicht im Verzeichnis der Ansprechpersonen" in text
    assert list(reply.iter_attachments()) == []
    ask(running, STRANGER, "search Wärmeplanung", number=1)
    rows = processed(running, 2)
    assert "help already sent today, not answered" in rows[1]["reason"]
    assert len(running.received(STRANGER)) == 1


def test_the_answer_goes_to_the_checked_from_address_not_to_reply_to(running):
    ask(running, CONTACT, "protokoll 2025-Q3", extra=f"Reply-To: {STRANGER}\r\n")
    answer(running, CONTACT, "Protokoll 2025-Q3")
    assert running.received(STRANGER) == []


def test_at_most_twenty_answers_per_contact_and_hour(running):
    for number in range(21):
        ask(running, OTHER_CONTACT, "hilfe", number=number)
    rows = processed(running, 21)
    assert [row["action"] for row in rows].count("accept") == 21
    assert "had 20 archive answers in the last hour; not answered" in rows[-1]["reason"]
    deadline = time.monotonic() + WAIT
    while len(running.received(OTHER_CONTACT)) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(running.received(OTHER_CONTACT)) == 20
    # Another contact is not limited by that.
    ask(running, CONTACT, "hilfe", number=99)
    answer(running, CONTACT, "Das Archiv per Mail")



@pytest.fixture
def running_behind_dmarc(tmp_path):
    """The running service as behind a front MTA that writes Authentication-Results."""
    setup = start_service(tmp_path, authserv_id="mx.lists.example")
    yield setup
    stop_service(setup)


def test_a_contact_address_that_fails_dmarc_gets_no_archive_answer(running_behind_dmarc):
    # A forged request in a contact's name (the front MTA's verdict: DMARC fail) must not make
    # the list mail the archive to the real contact; the same contact's own request is answered.
    running = running_behind_dmarc
    forged = "Authentication-Results: mx.lists.example; dmarc=fail header.from=dormagen.example\r\n"
    ask(running, CONTACT, "protokoll 2025-Q3", extra=forged)
    ask(running, CONTACT, "hilfe", number=1)
    answer(running, CONTACT, "Das Archiv per Mail")
    processed(running, 2)
    subjects = [str(message["Subject"]) for _, message in running.received(CONTACT)]
    assert len(subjects) == 1 and subjects[0].startswith("Das Archiv per Mail")
