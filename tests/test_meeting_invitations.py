"""Issue 15, item 1 and 4: invitations as iTIP over mail, one calendar with 'rotation ics'.

Each invitation is read back from the delivery queue (the bytes the relay would get) and
its calendar part parsed with icalendar and with vobject, an independent parser."""

from __future__ import annotations

import email
import email.policy
import sqlite3

import pytest
from icalendar import Calendar

from meeting_support import planned_meeting

vobject = pytest.importorskip("vobject", reason="vobject (the second iCalendar parser) is in the test extras: pip install -e '.[test]'")


@pytest.fixture
def run(config_file):
    return planned_meeting(config_file, end="16:00")


def queued(config_file, kind=None):
    db = sqlite3.connect(config_file.parent / "data" / "akn-mail.sqlite3")
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT * FROM outbound WHERE kind LIKE 'meeting_%' ORDER BY id").fetchall()
    messages = []
    for row in rows:
        recipients = [r[0] for r in db.execute("SELECT recipient FROM deliveries WHERE outbound_id = ? ORDER BY recipient", (row["id"],))]
        messages.append((row["kind"], email.message_from_bytes(row["body"], policy=email.policy.default), recipients))
    db.close()
    return [m for m in messages if kind is None or m[0] == kind]


def calendar_part(message):
    parts = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return parts[0]


def test_invitation_is_itip_request_read_by_two_parsers(run, config_file):
    result = run("meeting", "invite", "2027-Q1")
    assert "Invitation of 2027-Q1 (UID 2027-Q1@lists.example, SEQUENCE 1) queued to" in result.output
    [(kind, message, recipients)] = queued(config_file)
    assert kind == "meeting_invitation"
    assert message["Subject"].strip() == "Einladung: Sitzung im 1. Quartal 2027 am 11. März 2027, ausgerichtet von Dormagen"
    assert message.get_content_type() == "multipart/alternative"
    assert "akn@lists.example" in message["From"]
    part = calendar_part(message)
    assert part.get_param("method") == "REQUEST"
    text = part.get_content()
    body = message.get_body(("plain",)).get_content()
    assert "Ausrichtung: Dormagen" in body and "Rathaus Dormagen" in body and "[TOP]" in body

    calendar = Calendar.from_ical(text)
    assert str(calendar["method"]) == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert str(event["uid"]) == "2027-Q1@lists.example"
    assert int(event["sequence"]) == 1
    assert event["dtstart"].dt.isoformat() == "2027-03-11T14:00:00+01:00"
    assert str(event["organizer"]) == "mailto:akn@lists.example"
    attendees = event["attendee"]
    assert sorted(str(a)[7:] for a in attendees) == sorted(recipients)
    assert all(str(a.params["RSVP"]) == "TRUE" and str(a.params["PARTSTAT"]) == "NEEDS-ACTION" for a in attendees)
    assert [str(z["tzid"]) for z in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]

    second = vobject.readOne(text)
    assert second.method.value == "REQUEST"
    assert second.vevent.uid.value == "2027-Q1@lists.example"
    assert second.vevent.dtstart.value.isoformat() == "2027-03-11T14:00:00+01:00"
    assert len(second.vevent.attendee_list) == len(recipients)
    assert second.vevent.organizer.value == "mailto:akn@lists.example"


def test_invitation_and_rotation_ics_share_uid_and_sequence(run, config_file):
    run("meeting", "invite", "2027-Q1")
    exported = Calendar.from_ical(run("rotation", "ics", "--from", "2027-Q1", "--quarters", "1").stdout_bytes)
    [exported_event] = exported.walk("VEVENT")
    [(_, message, _)] = queued(config_file)
    [invited_event] = Calendar.from_ical(calendar_part(message).get_content()).walk("VEVENT")
    for key in ("uid", "sequence", "summary", "location"):
        assert str(invited_event[key]) == str(exported_event[key])
    assert invited_event["dtstart"].dt == exported_event["dtstart"].dt


def test_change_sends_update_with_higher_sequence_and_cancel_on_host_change(run, config_file):
    run("meeting", "invite", "2027-Q1")
    result = run("rotation", "plan", "2027-Q1", "--time", "15:00")
    assert "Update of 2027-Q1 (UID 2027-Q1@lists.example, SEQUENCE 2) queued" in result.output
    updates = queued(config_file, "meeting_update")
    [(_, message, _)] = updates
    assert message["Subject"].startswith("Geänderte Einladung:")
    [event] = Calendar.from_ical(calendar_part(message).get_content()).walk("VEVENT")
    assert (str(event["uid"]), int(event["sequence"])) == ("2027-Q1@lists.example", 2)
    assert event["dtstart"].dt.isoformat() == "2027-03-11T15:00:00+01:00"
    assert len(queued(config_file, "meeting_update")) == 1

    result = run("rotation", "skip", "2027-Q1", "--reason", "Rathaus wird saniert")
    assert "Cancellation of 2027-Q1 (UID 2027-Q1@lists.example" in result.output
    [(_, cancel, recipients)] = queued(config_file, "meeting_cancel")
    part = calendar_part(cancel)
    assert part.get_param("method") == "CANCEL"
    calendar = Calendar.from_ical(part.get_content())
    [event] = calendar.walk("VEVENT")
    assert str(calendar["method"]) == "CANCEL" and str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == "2027-Q1@lists.example" and int(event["sequence"]) > 2
    assert vobject.readOne(part.get_content()).vevent.status.value == "CANCELLED"
    assert cancel["Subject"].startswith("Abgesagt: Sitzung im 1. Quartal 2027")
    assert recipients


def test_extra_meeting_invited_by_date_and_cancelled(run, config_file):
    run("rotation", "extra", "--date", "2027-05-20", "--host", "EnergieAgentur.NRW", "--time", "10:00",
        "--online", "https://meet.example/akn")
    dry = run("meeting", "invite", "2027-05-20", "--dry-run")
    assert "would be sent" in dry.output and queued(config_file) == []
    run("meeting", "invite", "2027-05-20")
    [(_, message, _)] = queued(config_file)
    assert message["Subject"].strip() == "Einladung: Sondersitzung am 20. Mai 2027, ausgerichtet von EnergieAgentur.NRW"
    [event] = Calendar.from_ical(calendar_part(message).get_content()).walk("VEVENT")
    meeting_id = str(event["uid"]).split("@")[0].split("-")[1]
    assert str(event["url"]) == "https://meet.example/akn"
    result = run("rotation", "cancel", meeting_id)
    assert "Cancellation of extra-" in result.output


def test_invite_errors_are_one_line(run):
    result = run("meeting", "invite", "2027-Q2", code=1)
    assert result.output == "Error: 2027-Q2 has no date yet; plan it first: akn-mail rotation plan 2027-Q2 --date YYYY-MM-DD --time HH:MM\n"
    run("meeting", "invite", "2027-Q1")
    again = run("meeting", "invite", "2027-Q1", code=1)
    assert again.output.startswith("Error: 2027-Q1 was invited already on ")
    bad = run("meeting", "invite", "soon", code=1)
    assert bad.output.startswith("Error: \"soon\" is neither a quarter nor a date")


def test_member_leave_that_moves_the_host_cancels_the_invited_meeting(run, config_file):
    run("meeting", "invite", "2027-Q1")
    result = run("member", "leave", "Dormagen", "--on", "2027-01-31")  # 2027-Q1 needs another host: plan dropped
    assert "Cancellation of 2027-Q1 (UID 2027-Q1@lists.example" in result.output
    [(_, cancel, recipients)] = queued(config_file, "meeting_cancel")
    assert "klimaschutz@dormagen.example" in recipients  # everyone invited hears of it
    [event] = Calendar.from_ical(calendar_part(cancel).get_content()).walk("VEVENT")
    exported = Calendar.from_ical(run("rotation", "ics", "--from", "2027-Q1", "--quarters", "1").stdout_bytes)
    [exported_event] = exported.walk("VEVENT")
    assert (str(event["uid"]), int(event["sequence"]), str(event["status"])) == (
        str(exported_event["uid"]), int(exported_event["sequence"]), str(exported_event["status"]))


def test_invitation_lists_the_open_tasks_of_every_member(run, config_file):
    # LoI §5 (issue 17): what earlier meetings gave each member to do comes up again with the
    # invitation to the next one; done tasks and decisions do not.
    run("results", "add", "Entwurf Förderantrag Radwege", "--meeting", "2026-Q4", "--kind", "task",
        "--member", "Kaarst", "--due", "31.03.2027")
    run("results", "add", "Dachflächenkataster bereitstellen", "--meeting", "2026-Q4", "--kind", "task",
        "--member", "Jüchen")
    run("results", "add", "Stadtradeln gemeinsam", "--meeting", "2026-Q4", "--kind", "decision")
    run("results", "add", "Bericht verschicken", "--meeting", "2026-Q4", "--kind", "task", "--member", "Neuss")
    done_id = [line for line in run("results", "list", "--member", "Neuss").output.splitlines() if "Bericht" in line]
    run("results", "done", done_id[0].split()[0].strip("#"))
    run("meeting", "invite", "2027-Q1")
    [(_, message, _)] = queued(config_file)
    body = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    section = body.split("Offene Aufgaben aus früheren Sitzungen:")[1].split("\n\n")[0]
    assert [line.strip() for line in section.strip().splitlines()] == [
        "- Jüchen: Dachflächenkataster bereitstellen",
        "- Kaarst: Entwurf Förderantrag Radwege (bis 31. März 2027)",
    ]
