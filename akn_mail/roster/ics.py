"""The meeting schedule as an iCalendar file (RFC 5545), written with the icalendar library.

Every meeting of the schedule that has a date becomes an all-day event (the time of day is
not kept); quarters without a date yet are left out, since a calendar entry needs a day.
UIDs are stable (quarter or meeting id @ the list's domain), so importing the file again
updates the events instead of duplicating them.
"""

from __future__ import annotations

import datetime

from icalendar import Calendar, Event

from akn_mail.roster.rotation import ScheduledMeeting


def _summary(entry: ScheduledMeeting, name: str) -> str:
    host = entry.host.name if entry.host else "Gastgeber offen"
    if entry.kind == "extra":
        return f"{name}-Sondertreffen in {host}" if entry.host else f"{name}-Sondertreffen"
    return f"{name}-Treffen {entry.quarter} in {host}" if entry.host else f"{name}-Treffen {entry.quarter}"


def to_ics(entries: list[ScheduledMeeting], domain: str, name: str = "AKN", now: datetime.datetime | None = None) -> bytes:
    """An iCalendar file with one all-day VEVENT per dated, not cancelled meeting."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    calendar = Calendar()
    calendar.add("prodid", "-//akn-mail//Termine//DE")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{name}-Termine")
    for entry in entries:
        if entry.date is None or entry.status == "cancelled":
            continue
        event = Event()
        uid = f"{entry.quarter}" if entry.kind == "regular" else f"extra-{entry.meeting_id}"
        event.add("uid", f"{uid}@{domain}")
        event.add("dtstamp", now)
        event.add("dtstart", entry.date)
        event.add("dtend", entry.date + datetime.timedelta(days=1))
        event.add("summary", _summary(entry, name))
        if entry.place:
            event.add("location", entry.place)
        lines = [f"Gastgeber: {entry.host.name}" if entry.host else "Gastgeber: offen", f"Status: {entry.status_text}"]
        if entry.note:
            lines.append(entry.note)
        event.add("description", "\n".join(lines))
        calendar.add_component(event)
    return calendar.to_ical()


def undated(entries: list[ScheduledMeeting]) -> list[str]:
    """The quarters whose regular meeting has no date yet (not in the calendar)."""
    return [entry.quarter for entry in entries if entry.kind == "regular" and entry.date is None and entry.status != "cancelled"]
