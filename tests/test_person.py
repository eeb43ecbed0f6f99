"""akn-mail person export / erase: everything about one address, then nothing (DSGVO Art. 15, 17)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from akn_mail import db as db_module
from akn_mail.cli import cli
from akn_mail.notices.held import HeldStore
from akn_mail.records import person as persons

from service_support import Relay, StaticResolver, ThreadedService, configure, load_roster, post, send

ANNA = "klimaschutz@dormagen.example"  # a contact of Dormagen in tests/data/roster.csv


def run(config_file, *args):
    return CliRunner().invoke(cli, ["--config", str(config_file), *args], catch_exceptions=False)


@pytest.fixture
def stored(config, config_file):
    """Anna posted twice through a real server; a held mail, a bounce and a task of hers too."""
    contacts = load_roster(config)
    relay = Relay().start()
    configure(config, relay)
    service = ThreadedService(config, resolver=StaticResolver()).start()
    try:
        for number in range(2):
            send(service.port, ANNA, ["akn@lists.example"],
                 post(f"Wärmeplanung {number}", sender=ANNA, message_id=f"<anna-{number}@dormagen.example>",
                      body="Kommunale Wärmeplanung.\r\n"))
        relay.sink.wait_for(2 * len(contacts))
    finally:
        service.stop()
        relay.stop()
    connection = db_module.connect(config.database_path)
    HeldStore(connection, config).hold(post("Noch eine Frage", sender=ANNA, message_id="<anna-held@dormagen.example>"),
                                       reason="too big", message_id="anna-held@dormagen.example",
                                       envelope_sender=ANNA, from_address=ANNA, subject="Noch eine Frage")
    connection.execute("INSERT INTO bounce_events (email, kind, weight, source) VALUES (?, 'permanent', 1, 'verp')", (ANNA,))
    connection.execute("INSERT INTO admin_tasks (kind, requester, member_name) VALUES ('unsubscribe', ?, 'Dormagen')",
                       (ANNA.upper(),))
    connection.execute("INSERT INTO recipients (member_id, email, name) SELECT id, ?, 'Anna' FROM members WHERE name = 'Kaarst'",
                       ("Anna.Privat@kaarst.example",))
    connection.close()
    return contacts


def export(config_file, address=ANNA) -> dict:
    result = run(config_file, "person", "export", address)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def rows(exported: dict, key: str) -> list[dict]:
    return exported["data"][key]["rows"]


def test_export_shows_everything_stored_about_the_address(stored, config_file):
    exported = export(config_file, f"Anna <{ANNA.upper()}>")
    assert exported["address"] == ANNA
    assert [row["member"] for row in rows(exported, "contacts")] == ["Dormagen"]
    assert rows(exported, "contacts")[0]["member_periods"]
    assert len(rows(exported, "deliveries")) == 2  # the list sends her own posts back to her
    assert sorted(row["message_id"] for row in rows(exported, "archived_posts")) == [
        "anna-0@dormagen.example", "anna-1@dormagen.example"]
    assert [row["subject"] for row in rows(exported, "held")] == ["Noch eine Frage"]
    assert len(rows(exported, "bounce_events")) == 1
    assert len(rows(exported, "tasks")) == 1
    assert len(rows(exported, "received")) == 2
    assert len(rows(exported, "sent_copies")) == 2
    assert all(section["description"] for section in exported["data"].values())


def test_erase_keeps_the_archive_and_logs_a_hash_only(stored, config, config_file):
    result = run(config_file, "person", "erase", ANNA)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"Erased {ANNA} (logged as sha256:")
    assert "  removed 1 contacts" in lines
    assert "  removed 1 held" in lines
    assert any(line.startswith("  kept 2 archived post(s) unchanged") for line in lines)
    after = export(config_file)
    assert {key for key, section in after["data"].items() if section["rows"]} == {"archived_posts"}
    # Held mail's file is gone too; the other contacts are still there.
    assert not any((config.data_dir / "held").iterdir())
    assert len(json.loads(run(config_file, "contact", "list", "--json").output)) == len(stored) - 1
    log_text = (config.data_dir / "erasure.log").read_text(encoding="utf-8")
    assert ANNA not in log_text.lower() and "dormagen" not in log_text.lower()
    record = json.loads(log_text.splitlines()[-1])
    connection = db_module.connect(config.database_path)
    try:
        assert record["address_sha256"] == persons.address_hash(connection, ANNA)
    finally:
        connection.close()
    assert record["removed"]["contacts"] == 1 and record["archive"] == "keep" and record["operator"]
    assert set(record) == {"date", "operator", "address_sha256", "removed", "held_files_removed", "archive",
                           "archived_posts", "archive_redacted"}
    # The archive is untouched: the posts are the bytes received.
    maildir = list((config.maildir_path / "cur").iterdir())
    assert sum(ANNA.encode() in path.read_bytes() for path in maildir) == 2


def test_export_erase_redact_export_shows_nothing(stored, config, config_file):
    result = run(config_file, "person", "erase", ANNA, "--archive", "redact")
    assert result.exit_code == 0, result.output
    assert any("redacted the headers of 2 archived post(s): these archive copies are no longer the bytes received"
               in line for line in result.output.splitlines())
    assert persons.is_empty(export(config_file))
    for path in (config.maildir_path / "cur").iterdir():
        data = path.read_bytes()
        assert ANNA.encode() not in data.lower() and "Hülsmann".encode() not in data
        assert data.startswith(b"X-AKN-Redacted: ")
        assert b"\r\n\r\nKommunale W" in data  # the body is untouched
    hits = json.loads(run(config_file, "search", "Wärmeplanung", "--json").output)
    assert len(hits) == 2
    assert all("Gelöschte Person" in hit["from"] and ANNA not in hit["from"] for hit in hits)
    shown = run(config_file, "archive", "show", "anna-0@dormagen.example").output
    assert "Flags:       redacted" in shown or "redacted" in shown
    assert ANNA not in shown


def test_a_recipient_of_minutes_is_exported_and_erased(stored, config_file):
    exported = export(config_file, "anna.privat@kaarst.example")
    assert [row["member"] for row in rows(exported, "recipients")] == ["Kaarst"]
    assert run(config_file, "person", "erase", "anna.privat@kaarst.example").exit_code == 0
    assert persons.is_empty(export(config_file, "anna.privat@kaarst.example"))


def test_erase_of_an_unknown_address_says_so_and_still_logs(config, config_file, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "petra-admin")
    result = run(config_file, "person", "erase", "niemand@example.org")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "  nothing was stored about this address"
    record = json.loads((config.data_dir / "erasure.log").read_text(encoding="utf-8"))
    assert record["operator"].endswith("(sudo by petra-admin)") and record["removed"] == {}


def test_person_needs_an_address(config_file):
    result = run(config_file, "person", "export", "kein-at-zeichen")
    assert (result.exit_code, result.output) == (1, "Error: 'kein-at-zeichen' is not an e-mail address; give it as name@domain.\n")


def test_every_person_data_entry_names_an_existing_table(database):
    tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for entry in persons.PERSON_DATA:
        assert entry.table in tables, entry.key
        database.execute(entry.select, {"address": "x@example.org"}).fetchall()  # the SQL is valid
