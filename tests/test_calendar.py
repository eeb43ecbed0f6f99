"""Issue 12, item 7: a calendar people can trust.

The file of 'rotation ics' is read with two independent parsers (icalendar and vobject):
timed events in Europe/Berlin with a VTIMEZONE, all-day events only without a time,
cancelled meetings and plans dropped with their host kept as STATUS:CANCELLED, SEQUENCE
raised on every change, stable UIDs, German titles and texts."""

from __future__ import annotations

import datetime

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from akn_mail.cli import cli
from conftest import ROSTER_CSV

vobject = pytest.importorskip("vobject", reason="vobject (the second iCalendar parser) is in the test extras: pip install -e '.[test]'")

UTC = datetime.timezone.utc


@pytest.fixture
def run(config_file):
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, ["--config", str(config_file), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    return invoke


@pytest.fixture
def year(run):
    """A year of the alliance: timed, all-day, online, cancelled and dropped meetings."""
    run("roster", "import", str(ROSTER_CSV))
    run("rotation", "start", "2027-Q1", "--host", "Dormagen")
    run("rotation", "plan", "2027-Q1", "--date", "2027-03-11", "--time", "14:00", "--end", "16:00",
        "--place", "Rathaus Dormagen")
    run("rotation", "plan", "2027-Q2", "--date", "03.06.2027")
    run("rotation", "plan", "2027-Q3", "--date", "2027-08-12", "--time", "10:00", "--place", "Rathaus Jüchen")
    run("rotation", "extra", "--date", "2027-05-20", "--host", "EnergieAgentur.NRW", "--time", "10:00",
        "--online", "https://meet.example/akn")
    run("rotation", "extra", "--date", "2027-06-10", "--host", "Neuss", "--place", "Rathaus Neuss")
    run("rotation", "cancel", "5")
    run("member", "leave", "Jüchen", "--on", "2027-03-31")  # 2027-Q3 goes to Kaarst: the plan is dropped
    return run


def ics(run) -> bytes:
    return run("rotation", "ics", "--from", "2027-Q1", "--quarters", "3").stdout_bytes


def test_icalendar_reads_times_status_sequence_and_german_titles(year):
    calendar = Calendar.from_ical(ics(year))
    assert [str(zone["tzid"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    events = [
        (str(e["uid"]), str(e["summary"]), e["dtstart"].dt.isoformat(), str(e["status"]), int(e["sequence"]))
        for e in calendar.walk("VEVENT")
    ]
    assert events == [
        ("2027-Q1@lists.example", "AKN-Sitzung im 1. Quartal 2027, ausgerichtet von Dormagen",
         "2027-03-11T14:00:00+01:00", "CONFIRMED", 1),
        ("extra-4@lists.example", "AKN-Sondersitzung (online), ausgerichtet von EnergieAgentur.NRW",
         "2027-05-20T10:00:00+02:00", "CONFIRMED", 0),
        ("2027-Q2@lists.example", "AKN-Sitzung im 2. Quartal 2027, ausgerichtet von Grevenbroich",
         "2027-06-03", "CONFIRMED", 1),
        ("extra-5@lists.example", "AKN-Sondersitzung, ausgerichtet von Neuss", "2027-06-10", "CANCELLED", 1),
        ("2027-Q3@lists.example", "AKN-Sitzung im 3. Quartal 2027, ausgerichtet von Kaarst",
         "2027-08-12", "CANCELLED", 2),
    ]
    first = calendar.walk("VEVENT")[0]
    assert first["dtend"].dt.isoformat() == "2027-03-11T16:00:00+01:00"
    assert str(first["location"]) == "Rathaus Dormagen"
    assert str(first["description"]) == "Ausrichtung: Dormagen\nOrt: Rathaus Dormagen\nStatus: geplant"
    online = calendar.walk("VEVENT")[1]
    assert (str(online["location"]), str(online["url"])) == ("Online", "https://meet.example/akn")
    assert online["dtend"].dt.isoformat() == "2027-05-20T12:00:00+02:00"  # two hours without --end
    text = ics(year).decode("utf-8")
    for english in ("planned", "Status: held", "in EnergieAgentur", "Treffen"):
        assert english not in text


def test_vobject_reads_the_same_calendar(year):
    calendar = vobject.readOne(ics(year).decode("utf-8"))
    events = [
        (event.uid.value, event.status.value, event.dtstart.value) for event in calendar.vevent_list
    ]
    assert [(uid, status) for uid, status, _ in events] == [
        ("2027-Q1@lists.example", "CONFIRMED"), ("extra-4@lists.example", "CONFIRMED"),
        ("2027-Q2@lists.example", "CONFIRMED"), ("extra-5@lists.example", "CANCELLED"),
        ("2027-Q3@lists.example", "CANCELLED"),
    ]
    assert events[0][2].astimezone(UTC) == datetime.datetime(2027, 3, 11, 13, 0, tzinfo=UTC)  # CET
    assert events[1][2].astimezone(UTC) == datetime.datetime(2027, 5, 20, 8, 0, tzinfo=UTC)  # CEST
    assert events[2][2] == datetime.date(2027, 6, 3)  # all day: no time was given


def test_every_change_raises_the_sequence_and_keeps_the_uid(year):
    def sequence_of(uid):
        calendar = Calendar.from_ical(ics(year))
        return next(int(e["sequence"]) for e in calendar.walk("VEVENT") if str(e["uid"]) == uid)

    before = sequence_of("2027-Q1@lists.example")
    year("rotation", "plan", "2027-Q1", "--time", "15:00", "--end", "17:00")
    assert sequence_of("2027-Q1@lists.example") == before + 1
    year("rotation", "plan", "2027-Q3", "--date", "2027-09-09", "--place", "Rathaus Kaarst")
    calendar = Calendar.from_ical(ics(year))
    q3 = next(e for e in calendar.walk("VEVENT") if str(e["uid"]) == "2027-Q3@lists.example")
    assert (q3["dtstart"].dt.isoformat(), str(q3["status"]), int(q3["sequence"])) == ("2027-09-09", "CONFIRMED", 3)


@pytest.mark.parametrize("args, message", [
    (("--time", "25:00"), 'Error: invalid --time "25:00"; write it as HH:MM, e.g. 14:00.'),
    (("--time", "14:00", "--end", "13:00"), "Error: the end 13:00 is not after the start 14:00; give a later --end."),
    (("--online", "meet.example/akn"),
     'Error: invalid --online link "meet.example/akn"; give the web address of the video meeting, starting with https://.'),
])
def test_bad_times_and_links_are_one_line(year, config_file, args, message):
    result = CliRunner().invoke(cli, ["--config", str(config_file), "rotation", "plan", "2027-Q2", *args])
    assert (result.exit_code, result.stderr) == (1, message + "\n")
