"""Invitations: every contact gets each meeting as an iTIP invitation their calendar understands.

``akn-mail meeting invite 2027-Q1`` (or an extra meeting by its date) mails one German
text with a ``text/calendar; method=REQUEST`` alternative to every contact with delivery
on, through the list's queue. The calendar part is the meeting's VEVENT from
``rotation ics`` (same UID, same SEQUENCE), with the list as ORGANIZER so that the
answers come back to the list (``replies``), and one ATTENDEE per contact, RSVP=TRUE.

What was sent is kept in ``meeting_invitations`` (UID, SEQUENCE, METHOD) and
``meeting_attendees`` (who, and their answer). Every change of date, time, place or host
raises the meeting's SEQUENCE (``Rotation``); ``send_updates`` then mails an update of
each invited meeting whose SEQUENCE moved, or METHOD:CANCEL when it was cancelled or its
plan was dropped with its host, and invites contacts who joined since. The rotation
commands and ``remind`` call it, so no change is left unsent.
Settings: [list] address, name; [reminders] invite_weeks.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from dataclasses import asdict, dataclass, field
from email.headerregistry import Address
from types import SimpleNamespace

from akn_mail.config import Config
from akn_mail.db import transaction
from akn_mail.delivery.queue import DeliveryQueue
from akn_mail.errors import AknError
from akn_mail.meetings import itip
from akn_mail.meetings.agenda import Agenda
from akn_mail.notices.templating import Templates
from akn_mail.results.store import ResultStore
from akn_mail.roster import ics
from akn_mail.roster.members import Roster
from akn_mail.roster.quarter import Quarter, parse_date
from akn_mail.roster.rotation import Rotation, ScheduledMeeting
from akn_mail.text import german_sort_key

log = logging.getLogger("akn_mail.meetings")


class MeetingError(AknError):
    """A meeting that cannot be found or invited as asked."""


@dataclass
class Sent:
    """One invitation mail (the --json form of ``meeting invite``)."""

    meeting: str          # 2027-Q1, or extra-<id>
    uid: str
    sequence: int
    method: str           # REQUEST | CANCEL
    kind: str             # invitation | update | cancel
    recipients: list[str] = field(default_factory=list)
    status: str = "sent"  # sent | would send
    outbound_id: int | None = None

    def as_json(self) -> dict:
        return asdict(self)


def meeting_key(entry: ScheduledMeeting) -> str:
    return entry.quarter if entry.kind == "regular" else f"extra-{entry.meeting_id}"


class Invitations:
    """Builds, sends and updates the invitations of the meetings in the rotation."""

    def __init__(self, config: Config, db: sqlite3.Connection, *, queue: DeliveryQueue, roster: Roster,
                 rotation: Rotation):
        self.config = config
        self.db = db
        self.queue = queue
        self.roster = roster
        self.rotation = rotation
        self.agenda = Agenda(db)

    # -- finding a meeting ------------------------------------------------------------------

    def find(self, reference: str) -> ScheduledMeeting:
        """The meeting named by REFERENCE: a quarter (its regular meeting) or a date
        (the extra meeting on that day, else the regular meeting planned for it)."""
        text = (reference or "").strip()
        try:
            quarter = Quarter.parse(text)
            day = None
        except Exception:  # noqa: BLE001 - not a quarter: try a date
            try:
                day = parse_date(text, "meeting")
            except Exception:  # noqa: BLE001
                raise MeetingError(
                    f"\"{reference}\" is neither a quarter nor a date; give e.g. 2027-Q1 (the regular meeting) "
                    "or 2027-05-20 (an extra meeting)."
                ) from None
            quarter = Quarter.of(day)
        entries = self.rotation.schedule(1, quarter, today=quarter.first_day, store_start=False)
        if day is None:
            return next(entry for entry in entries if entry.kind == "regular")
        found = [entry for entry in entries if entry.date == day and entry.status != "cancelled"]
        found.sort(key=lambda entry: entry.kind != "extra")
        if not found:
            raise MeetingError(f"no meeting on {day}; see the meetings with: akn-mail rotation show")
        return found[0]

    def by_id(self, meeting_id: int) -> ScheduledMeeting | None:
        row = self.db.execute("SELECT quarter FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
        if row is None or not row["quarter"]:
            return None
        quarter = Quarter.parse(row["quarter"])
        for entry in self.rotation.schedule(1, quarter, today=quarter.first_day, store_start=False):
            if entry.meeting_id == meeting_id:
                return entry
        return None

    # -- who is invited ---------------------------------------------------------------------

    def attendees(self, entry: ScheduledMeeting) -> list:
        """Every contact with delivery on of the members on the meeting's day."""
        return self.roster.delivery_contacts(on=entry.date)

    def invited(self, meeting_id: int) -> dict[str, sqlite3.Row]:
        return {row["email"]: row for row in self.db.execute(
            "SELECT * FROM meeting_attendees WHERE meeting_id = ? ORDER BY member_name, email", (meeting_id,))}

    def invitation(self, meeting_id: int | None) -> sqlite3.Row | None:
        if meeting_id is None:
            return None
        return self.db.execute("SELECT * FROM meeting_invitations WHERE meeting_id = ?", (meeting_id,)).fetchone()

    # -- the mail ---------------------------------------------------------------------------

    def _variables(self, entry: ScheduledMeeting, kind: str) -> dict:
        meeting = SimpleNamespace(
            quarter=entry.quarter, kind=entry.kind, id=entry.meeting_id, host=entry.host.name if entry.host else "",
            date=entry.date or entry.dropped_date, place=entry.place, time=entry.start_time or "",
            end=entry.end_time or "", online=entry.online_url, title=ics.summary(entry, self.config.list.name),
        )
        # The open tasks of every member (LoI §5: results are followed up at the next meeting),
        # grouped by member in German order so each town hall finds its own.
        open_tasks = sorted(ResultStore(self.db).list(open_only=True),
                            key=lambda task: (german_sort_key(task.who or "~"), task.due_date or dt.date.max))
        return dict(meeting=meeting, kind=kind, agenda=self.agenda.items(entry.meeting_id),
                    agenda_tag=self.config.list.agenda_tag, open_tasks=open_tasks)

    def message(self, entry: ScheduledMeeting, kind: str, contacts: list, now: dt.datetime | None = None,
                template: str | None = None, to: str | None = None, **variables):
        """The invitation (kind invitation or update) or cancellation mail, with its calendar part
        (TEMPLATE instead for the gentle reminder, which carries the invitation again)."""
        method = "CANCEL" if kind == "cancel" else "REQUEST"
        template = template or ("meeting_cancel" if kind == "cancel" else "meeting_invitation")
        message = Templates(self.config).message(template, to or self.config.list.address,
                                                 **self._variables(entry, kind), **variables)
        # From the list itself: the ORGANIZER, so Outlook shows no "on behalf of" and answers come back here.
        message.replace_header("From", str(Address(display_name=self.config.list.name, addr_spec=self.config.list.address)))
        text = itip.calendar(
            entry, method, domain=self.config.list_domain, name=self.config.list.name, organizer=self.config.list.address,
            attendees=[(contact.email, _display(contact)) for contact in contacts], now=now,
        )
        message.add_alternative(text, subtype="calendar", params={"method": method}, cte="base64")
        return message

    def _send(self, entry: ScheduledMeeting, kind: str, contacts: list, dry_run: bool,
              now: dt.datetime | None = None) -> Sent:
        method = "CANCEL" if kind == "cancel" else "REQUEST"
        uid = ics.uid(entry, self.config.list_domain)
        sent = Sent(meeting_key(entry), uid, entry.sequence, method, kind, [contact.email for contact in contacts])
        if dry_run:
            sent.status = "would send"
            return sent
        message = self.message(entry, kind, contacts, now)
        recipients = sorted(contact.email.lower() for contact in contacts)
        key = f"invitation:{entry.meeting_id}:{entry.sequence}:{method}:{','.join(recipients)}"
        with transaction(self.db):
            sent.outbound_id = self.queue.enqueue(
                message.as_bytes(), [contact.email for contact in contacts], message_id=str(message["Message-ID"]),
                kind=f"meeting_{kind}", key=key, subject=str(message["Subject"]),
            )
            self.db.execute(
                """INSERT INTO meeting_invitations (meeting_id, uid, sequence, method, outbound_id) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (meeting_id) DO UPDATE SET uid = excluded.uid, sequence = excluded.sequence,
                   method = excluded.method, outbound_id = excluded.outbound_id,
                   sent_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')""",
                (entry.meeting_id, uid, entry.sequence, method, sent.outbound_id),
            )
            for contact in contacts:
                self.db.execute(
                    """INSERT INTO meeting_attendees (meeting_id, email, name, member_name) VALUES (?, ?, ?, ?)
                       ON CONFLICT (meeting_id, email) DO UPDATE SET name = excluded.name, member_name = excluded.member_name""",
                    (entry.meeting_id, contact.email.lower(), contact.name or "", contact.member_name),
                )
        log.info("meeting %s sent meeting=%s uid=%s sequence=%s recipients=%d outbound=%s",
                 kind, sent.meeting, uid, entry.sequence, len(contacts), sent.outbound_id)
        return sent

    # -- the commands -----------------------------------------------------------------------

    def invite(self, reference: str, dry_run: bool = False, today: dt.date | None = None) -> Sent:
        """Invite every contact to the meeting named by REFERENCE (``meeting invite``)."""
        entry = self.find(reference)
        return self._invite(entry, dry_run, today)

    def _invite(self, entry: ScheduledMeeting, dry_run: bool, today: dt.date | None) -> Sent:
        today = today or dt.date.today()
        name = meeting_key(entry)
        if entry.status == "cancelled":
            raise MeetingError(f"{name} is cancelled; there is nothing to invite to.")
        if entry.status == "held":
            raise MeetingError(f"{name} is recorded as held already; there is nothing to invite to.")
        if entry.date is None:
            raise MeetingError(f"{name} has no date yet; plan it first: akn-mail rotation plan {entry.quarter} --date YYYY-MM-DD --time HH:MM")
        if entry.date < today:
            raise MeetingError(f"{name} was on {entry.date}, in the past; invitations are for meetings ahead.")
        if entry.host is None:
            raise MeetingError(f"{name} has no host; see akn-mail rotation show.")
        sent = self.invitation(entry.meeting_id)
        if sent is not None and sent["method"] == "REQUEST" and sent["sequence"] == entry.sequence:
            raise MeetingError(
                f"{name} was invited already on {sent['sent_at'][:10]} and has not changed since; a change of date, "
                "time, place or host sends an update by itself (akn-mail rotation plan …)."
            )
        contacts = self.attendees(entry)
        if not contacts:
            raise MeetingError("no contact has delivery on; add contacts first: akn-mail contact add ADDRESS --member NAME")
        kind = "update" if sent is not None else "invitation"
        if kind == "update" and not dry_run:
            self._reset_answers(entry.meeting_id)
        return self._send(entry, kind, contacts, dry_run)

    def _reset_answers(self, meeting_id: int) -> None:
        """A changed meeting needs new answers (Outlook asks again too)."""
        self.db.execute(
            "UPDATE meeting_attendees SET partstat = 'NEEDS-ACTION', replied_at = NULL, reply_sequence = NULL, "
            "reminded_at = NULL WHERE meeting_id = ?", (meeting_id,))

    def send_updates(self, dry_run: bool = False, today: dt.date | None = None) -> list[Sent]:
        """Update or cancel every invited meeting whose SEQUENCE moved since it was mailed, and
        invite the contacts who joined since. Meetings held or past are left alone."""
        today = today or dt.date.today()
        result = []
        for row in self.db.execute("SELECT * FROM meeting_invitations ORDER BY meeting_id").fetchall():
            entry = self.by_id(row["meeting_id"])
            if entry is None or entry.status == "held":
                continue
            day = entry.date or entry.dropped_date
            if day is not None and day < today:
                continue
            if ics.is_cancelled(entry):
                if row["method"] != "CANCEL":
                    invited = self.invited(entry.meeting_id)
                    contacts = [SimpleNamespace(email=r["email"], name=r["name"], member_name=r["member_name"])
                                for r in invited.values()]
                    result.append(self._send(entry, "cancel", contacts, dry_run))
                continue
            if entry.date is None or entry.host is None:
                continue
            if entry.sequence != row["sequence"] or row["method"] == "CANCEL":
                contacts = self.attendees(entry)
                if contacts:
                    if not dry_run:
                        self._reset_answers(entry.meeting_id)
                    result.append(self._send(entry, "update", contacts, dry_run))
                continue
            invited = self.invited(entry.meeting_id)
            new = [contact for contact in self.attendees(entry) if contact.email.lower() not in invited]
            if new:
                result.append(self._send(entry, "invitation", new, dry_run))
        return result

    def due(self, today: dt.date) -> list[ScheduledMeeting]:
        """Meetings planned within ``[reminders] invite_weeks`` weeks of TODAY, not invited yet."""
        last = today + dt.timedelta(weeks=self.config.reminders.invite_weeks)
        quarters = (last - today).days // 90 + 2
        if self.rotation.anchor(today, create=False) is None:
            return []
        result = []
        for entry in self.rotation.schedule(quarters, Quarter.current(today), today=today, store_start=False):
            if entry.date is None or entry.host is None or entry.status in ("held", "cancelled", "unassigned"):
                continue
            if today <= entry.date <= last and self.invitation(entry.meeting_id) is None:
                result.append(entry)
        return result

    def send_due(self, dry_run: bool = False, today: dt.date | None = None) -> list[Sent]:
        """What ``remind`` does: invite meetings that are due, then send updates."""
        today = today or dt.date.today()
        result = []
        for entry in self.due(today):
            try:
                result.append(self._invite(entry, dry_run, today))
            except MeetingError as error:
                log.warning("invitation not sent meeting=%s reason=%s", meeting_key(entry), error)
        return result + self.send_updates(dry_run, today)


def _display(contact) -> str:
    name = getattr(contact, "name", "") or ""
    member = getattr(contact, "member_name", "") or ""
    if name and member:
        return f"{name} ({member})"
    return name or member
