"""Tasks from the minutes in ``akn-mail remind``: the responsible member's contacts hear of a
task a week before it is due (once), and the next host sees every open task."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from service_support import Relay
from test_notices import Setup, text

from akn_mail.cli import cli
from akn_mail.roster.members import Roster
from akn_mail.roster.rotation import Rotation

GREVENBROICH = ["a.demir@grevenbroich.example", "umwelt@grevenbroich.example"]


@pytest.fixture
def setup(tmp_path):
    relay = Relay().start()
    setup = Setup(tmp_path, relay)
    setup.rotation = Rotation(setup.db, Roster(setup.db))
    setup.rotation.set_start("2027-Q1")  # Dormagen hosts 2027-Q1, Grevenbroich 2027-Q2
    yield setup
    setup.db.close()
    relay.stop()


def cli_run(setup, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(setup.path), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_task_reminder_a_week_before_the_due_date_once(setup):
    cli_run(setup, "results", "add", "Aufgabe Starkregenkarte abstimmen Zuständig Grevenbroich bis 20.03.2027",
            "--meeting", "2027-Q1", "--top", "TOP 2: Klimaanpassung")
    cli_run(setup, "results", "add", "Aufgabe Radkarte liefern Zuständig GV bis 30.09.2027", "--meeting", "2027-Q1")
    assert "task due" not in cli_run(setup, "remind", "--today", "2027-03-12")  # 8 days before
    assert cli_run(setup, "remind", "--today", "2027-03-13", "--dry-run").count("would send: task due") == 2
    out = cli_run(setup, "remind", "--today", "2027-03-13")
    assert out.count("sent: task due result:1 (Grevenbroich)") == 2
    again = cli_run(setup, "remind", "--today", "2027-03-14")
    assert again.count("already sent: task due result:1") == 2
    setup.deliver()
    messages = [message for address in GREVENBROICH for _, message in setup.received(address)
                if str(message["Subject"]).startswith("Erinnerung: Aufgabe")]
    assert len(messages) == 2
    body = text(messages[0])
    assert messages[0]["Subject"] == "Erinnerung: Aufgabe für Grevenbroich fällig am 20. März 2027"
    assert "in 7 Tagen ist eine Aufgabe fällig, für die laut Protokoll Grevenbroich zuständig ist:" in body
    assert "Starkregenkarte abstimmen" in body and "(TOP 2: Klimaanpassung, Sitzung 1. Quartal 2027)" in body
    assert "Weitere offene Aufgaben von Grevenbroich:\n  - Radkarte liefern" in body

    # Done tasks are not reminded.
    cli_run(setup, "results", "done", "2")
    assert "task due" not in cli_run(setup, "remind", "--today", "2027-09-25", "--dry-run")


def test_host_reminder_lists_the_open_tasks(setup):
    cli_run(setup, "results", "add", "Aufgabe Leitfaden Wärmeplanung Zuständig RKN bis Ende Q2", "--meeting", "2027-Q1")
    cli_run(setup, "remind", "--today", "2027-03-04")
    setup.deliver()
    [(_, message)] = setup.received("umwelt@grevenbroich.example")
    assert ("Offene Aufgaben aus früheren Sitzungen (zur Vorbereitung der Tagesordnung):\n"
            "  - Rhein-Kreis Neuss: Leitfaden Wärmeplanung (bis 30. Juni 2027)\n") in text(message)
