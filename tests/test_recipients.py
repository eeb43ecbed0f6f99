"""Informationsweitergabe: read-only recipients get the minutes and a monthly results summary,
never list mail, and cannot post (real server, real relay on loopback)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from archive_support import mail
from click.testing import CliRunner
from service_support import WAIT, Relay, ThreadedService, configure, send
from test_notices import Setup, text, wait_for_message
from test_results_documents import docx_with_tables, lines_of

from akn_mail.cli import cli

HOST = "klimaschutz@dormagen.example"
BUERO = "buergermeisterbuero@kaarst.example"
FACHBEREICH = "fb-umwelt@kaarst.example"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def cli_run(setup, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["--config", str(setup.path), *args])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def setup(tmp_path):
    relay = Relay().start()
    setup = Setup(tmp_path, relay)
    yield setup
    setup.db.close()
    relay.stop()


def test_recipient_commands(setup):
    # Grevenbroich has two contacts already; recipients do not count against the one or two.
    assert len(setup.db.execute("SELECT * FROM contacts c JOIN members m ON m.id = c.member_id "
                                "WHERE m.name = 'Grevenbroich'").fetchall()) == 2
    cli_run(setup, "recipient", "add", "buergermeister@grevenbroich.example", "--member", "Grevenbroich")
    assert cli_run(setup, "recipient", "add", BUERO, "--member", "Kaarst", "--name", "Bürgermeisterbüro", "--gets", "minutes") == (
        f"Added {BUERO} as a recipient of Kaarst (gets minutes).\n")
    cli_run(setup, "recipient", "add", FACHBEREICH, "--member", "kaarst", "--name", "Fachbereich Umwelt")
    cli_run(setup, "recipient", "add", "klima@juechen.example", "--member", "Jüchen", "--gets", "results")
    assert json.loads(cli_run(setup, "recipient", "list", "--json")) == [
        {"email": "buergermeister@grevenbroich.example", "name": "", "member": "Grevenbroich", "gets": "all"},
        {"email": "klima@juechen.example", "name": "", "member": "Jüchen", "gets": "results"},
        {"email": BUERO, "name": "Bürgermeisterbüro", "member": "Kaarst", "gets": "minutes"},
        {"email": FACHBEREICH, "name": "Fachbereich Umwelt", "member": "Kaarst", "gets": "all"},
    ]
    assert cli_run(setup, "recipient", "add", HOST, "--member", "Kaarst", code=1).startswith(
        f"Error: {HOST} is a contact of Dormagen; a contact gets all list mail already.")
    assert cli_run(setup, "recipient", "add", BUERO, "--member", "Neuss", code=1).startswith(
        f"Error: {BUERO} is already a recipient of Kaarst (gets minutes)")
    assert cli_run(setup, "recipient", "add", "x@y.example", "--member", "Kaarstt", code=1).strip() == (
        'Error: no member named "Kaarstt". Did you mean "Kaarst"?')
    assert cli_run(setup, "recipient", "remove", "nobody@kaarst.example", code=1).strip() == (
        "Error: nobody@kaarst.example is not a recipient. See the recipients with: akn-mail recipient list")
    exported = json.loads(cli_run(setup, "roster", "export", "--format", "json"))
    kaarst = next(member for member in exported["members"] if member["name"] == "Kaarst")
    assert [r["email"] for r in kaarst["recipients"]] == [BUERO, FACHBEREICH]
    assert cli_run(setup, "recipient", "remove", BUERO) == f"Removed {BUERO} (recipient of Kaarst).\n"
    assert "Bürgermeisterbüro" not in cli_run(setup, "recipient", "list")


def test_recipients_get_the_minutes_with_results_but_no_list_mail_and_cannot_post(setup):
    cli_run(setup, "recipient", "add", BUERO, "--member", "Kaarst", "--name", "Bürgermeisterbüro", "--gets", "minutes")
    cli_run(setup, "recipient", "add", "klima@juechen.example", "--member", "Jüchen", "--gets", "results")
    configure(setup.config, setup.relay)
    service = ThreadedService(setup.config).start()
    try:
        post = mail("Radverkehr", "Wer kommt zur Radtour?", sender=HOST, message_id="post-1@dormagen.example")
        send(service.port, HOST, [setup.config.list.address], post)
        minutes = mail("[Protokoll] Sitzung in Dormagen", "Anbei das Protokoll.", sender=HOST,
                       date=dt.date.today().isoformat(), message_id="minutes-1@dormagen.example",
                       attachments=[("Protokoll.docx", docx_with_tables(lines_of("01_table.txt")), DOCX)])
        send(service.port, HOST, [setup.config.list.address], minutes)
        _, forwarded = wait_for_message(setup, BUERO, "Protokoll der AKN-Sitzung")
        # A recipient who writes to the list is held like a stranger, never distributed.
        send(service.port, BUERO, [setup.config.list.address],
             mail("Frage zum Protokoll", "Gilt das auch für uns?", sender=BUERO, message_id="q@kaarst.example"))
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not setup.db.execute("SELECT 1 FROM held").fetchone():
            time.sleep(0.05)
    finally:
        service.stop()
    body = text(forwarded.get_body(("plain",)))
    assert body.startswith("Guten Tag Bürgermeisterbüro,\n\nzur Information der Verwaltung Kaarst erhalten Sie das Protokoll")
    assert "2. Aufgabe (TOP 3: Kommunale Wärmeplanung): Ein gemeinsamer Leitfaden" in body
    assert "Das Protokoll liegt dieser Nachricht bei: Protokoll.docx" in body
    assert [part.get_filename() for part in forwarded.iter_attachments()] == ["Protokoll.docx"]
    assert forwarded["To"] == BUERO
    subjects = [str(message["Subject"]) for _, message in setup.received(BUERO)]
    assert not any("Radverkehr" in subject for subject in subjects)  # no list mail
    assert not any("Frage zum Protokoll" in str(m["Subject"]) for _, m in setup.received(HOST))
    held = setup.db.execute("SELECT * FROM held").fetchall()
    assert len(held) == 1
    # "results" recipients do not get the minutes
    assert not [m for _, m in setup.received("klima@juechen.example") if "Protokoll der AKN" in str(m["Subject"])]


def test_monthly_results_summary_once_per_month(setup):
    from akn_mail.roster.members import Roster
    from akn_mail.roster.rotation import Rotation

    Rotation(setup.db, Roster(setup.db)).set_start("2027-Q1")
    cli_run(setup, "recipient", "add", "klima@juechen.example", "--member", "Jüchen", "--name", "Fachbereich Planen",
            "--gets", "results")
    cli_run(setup, "results", "add", "Aufgabe Dachflächenkataster bereitstellen Zuständig Jüchen bis 30.06.2027",
            "--meeting", "2027-Q1")
    cli_run(setup, "results", "add", "Aufgabe Leitfaden Wärmeplanung Zuständig RKN bis Ende Q2", "--meeting", "2027-Q1")
    out = cli_run(setup, "remind", "--today", "2027-04-01")
    assert "sent: results summary 2027-03 (Jüchen) -> klima@juechen.example" in out
    again = cli_run(setup, "remind", "--today", "2027-04-15")
    assert "already sent: results summary 2027-03 (Jüchen) -> klima@juechen.example" in again
    setup.deliver()
    [(_, summary)] = [(s, m) for s, m in setup.received("klima@juechen.example")]
    assert summary["Subject"] == "Ergebnisse der AKN: Stand 31. März 2027"
    body = text(summary)
    assert "Offene Aufgaben von Jüchen:\n  - Dachflächenkataster bereitstellen (bis 30. Juni 2027), Sitzung 1. Quartal 2027" in body
    assert "Offene Aufgaben der anderen Mitglieder:\n  - Rhein-Kreis Neuss: Leitfaden Wärmeplanung" in body
