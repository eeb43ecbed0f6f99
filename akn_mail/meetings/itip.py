"""iTIP (RFC 5546) over mail: the calendar part of an invitation, and reading a reply.

An invitation is the meeting's VEVENT from ``akn_mail.roster.ics.event`` (so it has the
UID and SEQUENCE that ``rotation ics`` writes: one calendar entry, whichever way it came)
with METHOD:REQUEST (or METHOD:CANCEL), the list as ORGANIZER, so that the answers of
Outlook, Thunderbird, Apple Calendar and Google come back to the list, and one ATTENDEE
per contact with RSVP=TRUE. Reading uses the icalendar library too: a reply is a
VCALENDAR with METHOD:REPLY whose VEVENT names the UID, SEQUENCE and one ATTENDEE with
its PARTSTAT.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from email.message import Message

from icalendar import Calendar, vCalAddress, vText

from akn_mail.roster import ics
from akn_mail.roster.rotation import ScheduledMeeting

ANSWERS = ("ACCEPTED", "TENTATIVE", "DECLINED")


def _mailto(address: str) -> str:
    return f"mailto:{address}"


def calendar(entry: ScheduledMeeting, method: str, *, domain: str, name: str, organizer: str,
             attendees: list[tuple[str, str]], now: datetime.datetime | None = None) -> str:
    """The VCALENDAR text of an invitation (method REQUEST) or cancellation (CANCEL).

    ``attendees`` are (address, display name). A cancel carries STATUS:CANCELLED, as
    RFC 5546 section 3.2.5 asks, whatever the meeting's row says.
    """
    event = ics.event(entry, domain, name, now)
    if event is None:
        raise ValueError(f"{entry.quarter} has no date")
    if method == "CANCEL":
        event["status"] = vText("CANCELLED")
    host = vCalAddress(_mailto(organizer))
    host.params["cn"] = vText(name)
    event.add("organizer", host)
    for address, display in attendees:
        attendee = vCalAddress(_mailto(address))
        if display:
            attendee.params["cn"] = vText(display)
        attendee.params["cutype"] = vText("INDIVIDUAL")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("NEEDS-ACTION")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=0)
    result = Calendar()
    result.add("prodid", "-//akn-mail//Einladung//DE")
    result.add("version", "2.0")
    result.add("calscale", "GREGORIAN")
    result.add("method", method)
    if entry.start_time:
        result.add_component(ics.berlin())
    result.add_component(event)
    return result.to_ical().decode("utf-8")


@dataclass
class Reply:
    """One answer read from an iTIP REPLY."""

    uid: str
    sequence: int | None  # None when the client left SEQUENCE out
    attendee: str      # the address in the ATTENDEE line, lower-case, without mailto:
    partstat: str      # ACCEPTED | TENTATIVE | DECLINED (anything else: as written)
    comment: str = ""


def _calendar_parts(message: Message) -> list[bytes]:
    """Every text/calendar (or application/ics, as Google and Apple attach it) part's bytes."""
    parts = []
    for part in message.walk():
        content_type = part.get_content_type()
        filename = (part.get_filename() or "").lower()
        if content_type in ("text/calendar", "application/ics") or (
            content_type in ("application/octet-stream", "text/plain") and filename.endswith(".ics")
        ):
            data = part.get_payload(decode=True)
            if data:
                parts.append(data)
    return parts


def read_replies(message: Message) -> list[Reply] | None:
    """The answers in MESSAGE if it is an iTIP REPLY, else None (not a calendar reply).

    Clients differ: Outlook sends a base64 text/calendar with method=REPLY; Thunderbird
    adds the same calendar again as an attachment; Apple writes MAILTO: in capitals;
    Google sends the reply twice (text/calendar and application/ics invite.ics). Every
    part is read; the same answer twice counts once.
    """
    found: list[Reply] = []
    is_reply = False
    for data in _calendar_parts(message):
        try:
            parsed = Calendar.from_ical(data)
        except ValueError:
            continue
        if str(parsed.get("method", "")).upper() != "REPLY":
            continue
        is_reply = True
        for event in parsed.walk("VEVENT"):
            attendees = event.get("attendee")
            if attendees is None:
                continue
            if not isinstance(attendees, list):
                attendees = [attendees]
            for attendee in attendees:
                address = str(attendee).strip()
                if address.lower().startswith("mailto:"):
                    address = address[7:]
                partstat = str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
                sequence = event.get("sequence")
                reply = Reply(str(event.get("uid", "")).strip(), int(sequence) if sequence is not None else None,
                              address.strip().lower(), partstat, str(event.get("comment", "") or ""))
                if reply not in found:
                    found.append(reply)
    return found if is_reply else None
