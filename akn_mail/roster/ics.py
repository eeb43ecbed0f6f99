"""The meeting schedule as an iCalendar file (RFC 5545), written with the icalendar library.

A calendar people can trust: a meeting with a time is an event at that time in
Europe/Berlin (with its VTIMEZONE, so Outlook and Thunderbird agree on summer time); one
without a time is an all-day event. Every meeting keeps its UID (``2027-Q1@<list domain>``
for a quarter's regular meeting, ``extra-<id>@<list domain>`` for an extra one) and carries
the SEQUENCE stored with it, raised on every change, so that a calendar importing the file
again updates its entry. A cancelled extra meeting, and a planned date dropped because its
quarter's host changed, stay in the file with ``STATUS:CANCELLED``: a calendar that imported
them removes them instead of keeping a meeting that will not take place. Every text is
German, as the people who read it are.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard

from akn_mail.roster.rotation import ScheduledMeeting

TIMEZONE = "Europe/Berlin"
DEFAULT_LENGTH = datetime.timedelta(hours=2)
STATUS_TEXT = {
    "planned": "geplant",
    "held": "hat stattgefunden",
    "cancelled": "abgesagt",
    "skipped": "geplant",
    "swapped": "geplant (Gastgeber getauscht)",
    "unassigned": "noch ohne Ausrichtung",
}


def _quarter_text(quarter: str) -> str:
    year, number = quarter.split("-Q")
    return f"{number}. Quartal {year}"


def summary(entry: ScheduledMeeting, name: str = "AKN") -> str:
    """The title a person would write: "AKN-Sitzung im 1. Quartal 2027, ausgerichtet von
    Grevenbroich", "AKN-Sondersitzung (online), ausgerichtet von EnergieAgentur.NRW"."""
    title = f"{name}-Sondersitzung" if entry.kind == "extra" else f"{name}-Sitzung im {_quarter_text(entry.quarter)}"
    if entry.online_url and not entry.place:
        title += " (online)"
    if entry.host is not None:
        title += f", ausgerichtet von {entry.host.name}"
    return title


def _description(entry: ScheduledMeeting, cancelled: bool) -> str:
    lines = [f"Ausrichtung: {entry.host.name}" if entry.host else "Ausrichtung: noch offen"]
    if entry.place:
        lines.append(f"Ort: {entry.place}")
    if entry.online_url:
        lines.append(f"Online-Teilnahme: {entry.online_url}")
    if cancelled:
        lines.append("Status: abgesagt")
    else:
        lines.append(f"Status: {STATUS_TEXT.get(entry.status, entry.status)}")
        if entry.skipped:
            lines.append(f"Setzt in diesem Quartal aus: {', '.join(entry.skipped)}")
    if entry.note:
        lines.append(entry.note)
    return "\n".join(lines)


def _times(entry: ScheduledMeeting, day: datetime.date) -> tuple[object, object]:
    if not entry.start_time:
        return day, day + datetime.timedelta(days=1)
    zone = ZoneInfo(TIMEZONE)
    start = datetime.datetime.combine(day, datetime.time.fromisoformat(entry.start_time), zone)
    if entry.end_time:
        end = datetime.datetime.combine(day, datetime.time.fromisoformat(entry.end_time), zone)
    else:
        end = start + DEFAULT_LENGTH
    return start, end


def berlin() -> Timezone:
    """The VTIMEZONE of Europe/Berlin with the yearly rules (last Sunday of March and of
    October), the compact form Outlook and Thunderbird write themselves. (icalendar's
    add_missing_timezones lists every transition up to 2038 instead, which some readers,
    vobject among them, apply wrongly.)"""
    zone = Timezone()
    zone.add("tzid", TIMEZONE)
    for kind, name, start, offset_from, offset_to, month in (
        (TimezoneDaylight, "CEST", datetime.datetime(1970, 3, 29, 2, 0), 1, 2, 3),
        (TimezoneStandard, "CET", datetime.datetime(1970, 10, 25, 3, 0), 2, 1, 10),
    ):
        part = kind()
        part.add("tzname", name)
        part.add("dtstart", start)
        part.add("tzoffsetfrom", datetime.timedelta(hours=offset_from))
        part.add("tzoffsetto", datetime.timedelta(hours=offset_to))
        part.add("rrule", {"freq": "yearly", "bymonth": month, "byday": "-1su"})
        zone.add_component(part)
    return zone


def uid(entry: ScheduledMeeting, domain: str) -> str:
    """Stable per meeting: importing the file again updates instead of duplicating."""
    return f"{entry.quarter}@{domain}" if entry.kind == "regular" else f"extra-{entry.meeting_id}@{domain}"


def to_ics(entries: list[ScheduledMeeting], domain: str, name: str = "AKN", now: datetime.datetime | None = None) -> bytes:
    """An iCalendar file with one VEVENT per dated meeting, cancelled ones included."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    calendar = Calendar()
    calendar.add("prodid", "-//akn-mail//Termine//DE")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{name}-Termine")
    calendar.add("x-wr-timezone", TIMEZONE)
    if any(entry.start_time and (entry.date or entry.dropped_date) for entry in entries):
        calendar.add_component(berlin())
    for entry in entries:
        built = event(entry, domain, name, now)
        if built is not None:
            calendar.add_component(built)
    return calendar.to_ical()


def is_cancelled(entry: ScheduledMeeting) -> bool:
    """Cancelled, or a planned date dropped because the quarter's host changed."""
    return entry.status == "cancelled" or (entry.date is None and entry.dropped_date is not None)


def event(entry: ScheduledMeeting, domain: str, name: str = "AKN", now: datetime.datetime | None = None) -> Event | None:
    """The VEVENT of one meeting (None without any date): the file of ``rotation ics`` and
    the invitations mailed by ``meeting invite`` are built from it, so a calendar that has
    both sees one meeting (same UID, same SEQUENCE)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    cancelled = is_cancelled(entry)
    day = entry.date or (entry.dropped_date if cancelled else None)
    if day is None:
        return None
    built = Event()
    built.add("uid", uid(entry, domain))
    built.add("dtstamp", now)
    built.add("sequence", entry.sequence)
    start, end = _times(entry, day)
    built.add("dtstart", start)
    built.add("dtend", end)
    built.add("summary", summary(entry, name))
    if entry.place:
        built.add("location", entry.place)
    elif entry.online_url:
        built.add("location", "Online")
    if entry.online_url:
        built.add("url", entry.online_url)
    built.add("description", _description(entry, cancelled))
    built.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    built.add("transp", "OPAQUE")
    return built


def undated(entries: list[ScheduledMeeting]) -> list[str]:
    """The quarters whose regular meeting has no date yet (not in the calendar)."""
    return [
        entry.quarter for entry in entries
        if entry.kind == "regular" and entry.date is None and entry.status != "cancelled"
    ]
