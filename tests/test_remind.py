"""``akn-mail remind``: host and minutes reminders, once each, to a real relay on loopback."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from archive_support import mail
from click.testing import CliRunner
from conftest import verp_of
from service_support import Relay
from test_notices import Setup, text

from akn_mail.archive.filing import Archive
from akn_mail.cli import cli
from akn_mail.roster.members import Roster
from akn_mail.roster.rotation import Rotation

GREVENBROICH = ["a.demir@grevenbroich.example", "umwelt@grevenbroich.example"]
DORMAGEN = "klimaschutz@dormagen.example"


@pytest.fixture
def setup(tmp_path, monkeypatch):
    relay = Relay().start()
    setup = Setup(tmp_path, relay)
    # Dormagen hosts 2027-Q1, Grevenbroich 2027-Q2, Jüchen 2027-Q3 (German alphabetical order).
    setup.rotation = Rotation(setup.db, Roster(setup.db))
    setup.rotation.set_start("2027-Q1")
    yield setup
    setup.db.close()
    relay.stop()


def remind(setup, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(setup.path), "remind", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_host_reminder_four_weeks_before_the_quarter_and_run_twice_sends_once(setup):
    # Q1 held already (its minutes are not due before 11 March), so only the coming quarter's host is due.
    setup.rotation.record("2027-Q1", "Dormagen", "2027-02-25", today=dt.date(2027, 3, 4))
    assert remind(setup, "--today", "2027-03-03") == "No reminders due.\n"  # 4 weeks before 1 April is 4 March
    assert remind(setup, "--today", "2027-03-04") == (
        "sent: host of 2027-Q2 (Grevenbroich) -> umwelt@grevenbroich.example\n"
        "sent: host of 2027-Q2 (Grevenbroich) -> a.demir@grevenbroich.example\n"
        "2 reminder(s) queued for delivery.\n"
    )
    assert remind(setup, "--today", "2027-03-04") == (
        "already sent: host of 2027-Q2 (Grevenbroich) -> umwelt@grevenbroich.example\n"
        "already sent: host of 2027-Q2 (Grevenbroich) -> a.demir@grevenbroich.example\n"
        "0 reminder(s) queued for delivery.\n"
    )
    remind(setup, "--today", "2027-03-05")  # the daily timer the next day
    setup.deliver()
    assert sorted(setup.relay.sink.recipients()) == GREVENBROICH
    [(envelope, message)] = setup.received("umwelt@grevenbroich.example")
    assert envelope == verp_of(setup.config, "umwelt@grevenbroich.example")
    assert message["Subject"] == "Erinnerung: Grevenbroich richtet die Sitzung im 2. Quartal 2027 aus"
    assert message["Auto-Submitted"] == "auto-generated"
    body = text(message)
    assert body.startswith("Guten Tag,\n\nlaut Rotation richtet Grevenbroich die Sitzung der Allianz")
    assert "im 2. Quartal 2027 aus und führt das Protokoll. Das Quartal beginnt am 1. April 2027." in body
    rows = setup.db.execute("SELECT kind, meeting, recipient FROM sent_reminders ORDER BY recipient").fetchall()
    assert [tuple(row) for row in rows] == [("host", "2027-Q2", address) for address in GREVENBROICH]


def test_dry_run_sends_and_remembers_nothing(setup):
    output = remind(setup, "--dry-run", "--today", "2027-03-04")
    assert "would send: host of 2027-Q1 (Dormagen) -> klimaschutz@dormagen.example\n" in output
    assert "would send: host of 2027-Q2 (Grevenbroich) -> umwelt@grevenbroich.example\n" in output
    assert output.endswith("3 reminder(s) would be sent (dry run, nothing sent).\n")
    assert setup.db.execute("SELECT count(*) FROM sent_reminders").fetchone()[0] == 0
    assert setup.db.execute("SELECT count(*) FROM outbound").fetchone()[0] == 0


def test_json_output(setup):
    data = json.loads(remind(setup, "--dry-run", "--json", "--today", "2027-03-04"))
    assert data["dry_run"] is True
    assert data["reminders"][0] == {
        "kind": "host", "meeting": "2027-Q1", "quarter": "2027-Q1", "date": None, "member": "Dormagen",
        "recipient": DORMAGEN, "name": "Petra Hülsmann", "status": "would send", "outbound_id": None,
    }


def test_planned_date_and_place_are_in_the_reminder(setup):
    setup.rotation.record("2027-Q1", "Dormagen", "2027-02-10", today=dt.date(2027, 3, 4))
    setup.rotation.plan("2027-Q2", "2027-05-12", "Altes Schloss Dyck")
    remind(setup, "--today", "2027-03-20")
    setup.deliver()
    [(_, message)] = setup.received("a.demir@grevenbroich.example")
    assert "Vorgesehener Termin: Mittwoch, 12. Mai 2027, Altes Schloss Dyck." in text(message)


def test_minutes_reminder_after_n_days_once_and_not_when_minutes_arrived(setup):
    setup.rotation.record("2027-Q1", "Dormagen", "2027-02-10", today=dt.date(2027, 3, 4))
    assert "minutes" not in remind(setup, "--dry-run", "--today", "2027-02-23")  # 13 days after
    output = remind(setup, "--today", "2027-02-24")  # 14 days after ([reminders] minutes_after_days)
    assert "sent: minutes missing for 2027-Q1 (Dormagen) -> klimaschutz@dormagen.example\n" in output
    assert "minutes" not in remind(setup, "--today", "2027-02-25").replace("already sent: minutes", "")
    setup.deliver()
    [(_, message)] = setup.received(DORMAGEN)
    assert message["Subject"] == "Protokoll fehlt noch: Sitzung im 1. Quartal 2027"
    assert "die Sitzung der Allianz für Klima und Nachhaltigkeit im Rhein-Kreis Neuss am Mittwoch, 10. Februar 2027 " \
           "(1. Quartal 2027) liegt 14 Tage zurück" in text(message)


def test_no_minutes_reminder_once_the_archive_has_the_minutes(setup):
    setup.rotation.record("2027-Q1", "Dormagen", "2027-02-10", today=dt.date(2027, 3, 4))
    Archive(setup.config, setup.db).file(
        mail("[Protokoll] Sitzung 1. Quartal", "Protokoll", sender=DORMAGEN, date="2027-02-15",
             attachments=[("Protokoll.txt", b"Top 1", "text/plain")]),
        is_minutes=True,
    )
    assert setup.db.execute("SELECT count(*) FROM meeting_minutes").fetchone()[0] == 1
    assert "minutes" not in remind(setup, "--dry-run", "--today", "2027-02-24")


def test_old_meetings_are_left_alone(setup):
    setup.rotation.record("2027-Q1", "Dormagen", "2027-02-10", today=dt.date(2027, 3, 4))
    assert "minutes" not in remind(setup, "--dry-run", "--today", "2027-08-01")


def test_bad_today_is_one_error_line(setup):
    result = CliRunner().invoke(cli, ["--config", str(setup.path), "remind", "--today", "04/03/2027"])
    assert result.exit_code == 1
    assert result.output == 'Error: invalid --today "04/03/2027"; write it as YYYY-MM-DD or DD.MM.YYYY, e.g. 2027-03-11.\n'


def test_systemd_timer_runs_remind_daily(tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    deploy = Path(__file__).resolve().parent.parent / "deploy"
    service = (deploy / "akn-mail-remind.service").read_text(encoding="utf-8")
    timer = (deploy / "akn-mail-remind.timer").read_text(encoding="utf-8")
    assert "\nType=oneshot\n" in service and "\nExecStart=/opt/akn-mail/venv/bin/akn-mail remind\n" in service
    assert "\nOnCalendar=*-*-* 07:30:00\n" in timer and "\nPersistent=true\n" in timer
    assert "\nUnit=akn-mail-remind.service\n" in timer
    if shutil.which("systemd-analyze") is None:
        return
    # Verify the units as systemd reads them, with ExecStart pointing at this installation.
    executable = Path(sys.executable).parent / "akn-mail"
    (tmp_path / "akn-mail-remind.service").write_text(
        service.replace("/opt/akn-mail/venv/bin/akn-mail", str(executable)), encoding="utf-8")
    (tmp_path / "akn-mail-remind.timer").write_text(timer, encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", "akn-mail-remind.service", "akn-mail-remind.timer"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_remind_never_starts_the_rotation(tmp_path, monkeypatch):
    relay = Relay().start()
    try:
        setup = Setup(tmp_path, relay)
        setup.db.execute("DELETE FROM settings")  # as after 'roster import', before any 'rotation' command
        assert remind(setup, "--dry-run", "--today", "2030-01-02") == "No reminders due.\n"
        assert remind(setup) == "No reminders due.\n"
        assert setup.db.execute("SELECT count(*) FROM settings").fetchone()[0] == 0
        setup.db.close()
    finally:
        relay.stop()


def test_a_host_without_reachable_contacts_is_named(setup):
    CliRunner().invoke(cli, ["--config", str(setup.path), "contact", "disable", "klimaschutz@dormagen.example"])
    output = remind(setup, "--today", "2027-01-05")
    assert output == (
        "no contact: host of 2027-Q1 (Dormagen) -> nobody: the host has no contact with delivery on\n"
        "0 reminder(s) queued for delivery.\n"
    )
    assert setup.db.execute("SELECT count(*) FROM sent_reminders").fetchone()[0] == 0
