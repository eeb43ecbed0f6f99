"""End to end: minutes posted to the real server over SMTP are found by `akn-mail search`."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from akn_mail import db as db_module
from akn_mail.archive.filing import Archive

from archive_support import docx_bytes, mail, odt_bytes, pdf_bytes, setup_roster
from service_support import WAIT, Relay, StaticResolver, ThreadedService, configure, send

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"


@pytest.fixture
def relay():
    relay = Relay().start()
    yield relay
    relay.stop()


@pytest.fixture
def service(config, database, relay):
    setup_roster(database, start="2027-Q1")
    configure(config, relay)
    service = ThreadedService(config, resolver=StaticResolver()).start()
    yield service
    service.stop()


def archived(config, count: int) -> list[dict]:
    deadline = time.monotonic() + WAIT
    while True:
        connection = db_module.connect(config.database_path)
        try:
            rows = [dict(row) for row in connection.execute("SELECT * FROM archived_messages WHERE indexed = 1 ORDER BY id")]
        finally:
            connection.close()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def search(config_file, *args: str) -> list[dict]:
    completed = subprocess.run(
        [sys.executable, "-m", "akn_mail", "--config", str(config_file), "search", *args, "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_minutes_posted_over_smtp_are_found_with_search(service, config, config_file, relay):
    minutes = [
        ("[Protokoll] Sitzung 2027-Q1", "anna@dormagen.example", "2027-03-12", "q1@dormagen.example",
         ("protokoll.pdf", pdf_bytes(["TOP 1 Kommunale Waermeplanung", "Das Waermeplanungsgesetz wird erlaeutert."]), "application/pdf")),
        ("[Protokoll] Sitzung vom 10.06.2027", "bernd@grevenbroich.example", "2027-06-11", "q2@grevenbroich.example",
         ("protokoll.docx", docx_bytes("Starkregen", ["Die Starkregengefahrenkarte wird vorgestellt."]), DOCX)),
        ("[Protokoll] Treffen in Jüchen", "clara@juechen.example", "2027-09-20", "q3@juechen.example",
         ("protokoll.odt", odt_bytes("Radverkehr", ["Das Radverkehrskonzept für Jüchen ist beschlossen."]), ODT)),
    ]
    for subject, sender, day, message_id, attachment in minutes:
        raw = mail(subject, "Anbei das Protokoll.", sender=sender, date=day, message_id=message_id, attachments=[attachment])
        send(service.port, sender, ["akn@lists.example"], raw)
    rows = archived(config, 3)
    assert [row["message_id"] for row in rows] == ["q1@dormagen.example", "q2@grevenbroich.example", "q3@juechen.example"]

    hits = search(config_file, "Wärmeplanung")
    assert [(hit["message_id"], hit["meeting"], hit["host"], hit["minutes"]) for hit in hits] == [
        ("q1@dormagen.example", "2027-Q1", "Dormagen", True)]
    assert [hit["message_id"] for hit in search(config_file, "Starkregen", "--minutes", "--host", "Grevenbroich")] == ["q2@grevenbroich.example"]
    hits = search(config_file, "Juechen Radverkehr")
    assert [(hit["message_id"], hit["meeting"]) for hit in hits] == [("q3@juechen.example", "2027-Q3")]


def test_posts_filed_but_not_indexed_are_indexed_as_soon_as_the_server_starts(config, config_file, database, relay):
    # As after a crash: the post is in the Maildir and SQLite, the indexer never got to it.
    setup_roster(database, start="2027-Q1")
    Archive(config, database).file(
        mail("Radtour", "Das Radverkehrskonzept wird vorgestellt.", message_id="left@dormagen.example"), index=False)
    configure(config, relay)
    service = ThreadedService(config, resolver=StaticResolver()).start()
    try:
        rows = archived(config, 1)  # no new post arrives to wake the indexer
    finally:
        service.stop()
    assert [row["message_id"] for row in rows] == ["left@dormagen.example"]
    assert [hit["message_id"] for hit in search(config_file, "Radverkehr")] == ["left@dormagen.example"]
