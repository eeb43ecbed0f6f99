"""What ``akn-mail remind`` does for meetings, besides the host and minutes reminders.

- invitations: every meeting planned within ``[reminders] invite_weeks`` weeks (default 6)
  that nobody invited yet is invited, and changed meetings get their update (or cancel);
- a week before an invited meeting (``BRIEFING_DAYS``), the host's contacts get the agenda
  so far and who accepted, declined, is tentative or has not answered;
- at the same time, the contacts of a member from whom nobody has accepted yet, and who have
  not answered themselves, get one gentle German reminder with the invitation again, so one
  click in their calendar answers it. ``meeting_attendees.reminded_at`` keeps it to one.
Each is remembered (queue key, reminded_at), so running ``remind`` daily never repeats one.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from email.headerregistry import Address
from types import SimpleNamespace

from akn_mail.db import transaction
from akn_mail.meetings.invitations import Invitations, meeting_key
from akn_mail.meetings.replies import attendance
from akn_mail.notices.templating import Templates

log = logging.getLogger("akn_mail.meetings")

BRIEFING_DAYS = 7


@dataclass
class MeetingReminder:
    """One mail of ``remind`` about a meeting (the "meetings" list of ``remind --json``)."""

    kind: str        # invitation | update | cancel | briefing | answer
    meeting: str
    recipients: list[str] = field(default_factory=list)
    status: str = "sent"  # sent | would send

    def as_json(self) -> dict:
        return asdict(self)


class MeetingReminders:
    def __init__(self, invitations: Invitations):
        self.invitations = invitations
        self.db = invitations.db
        self.config = invitations.config

    def run(self, today: dt.date | None = None, dry_run: bool = False) -> list[MeetingReminder]:
        today = today or dt.date.today()
        result = [
            MeetingReminder(sent.kind, sent.meeting, sent.recipients, sent.status)
            for sent in self.invitations.send_due(dry_run, today)
        ]
        for row in self.db.execute("SELECT * FROM meeting_invitations WHERE method = 'REQUEST' ORDER BY meeting_id").fetchall():
            entry = self.invitations.by_id(row["meeting_id"])
            if entry is None or entry.date is None or entry.host is None or entry.status in ("held", "cancelled"):
                continue
            if not today <= entry.date <= today + dt.timedelta(days=BRIEFING_DAYS):
                continue
            result += self._briefing(entry, dry_run)
            result += self._answer_reminders(entry, dry_run)
        return result

    def _briefing(self, entry, dry_run: bool) -> list[MeetingReminder]:
        """The host's contacts: agenda and attendance, once per meeting and contact."""
        members = [member.name for member in self.invitations.roster.members(include_former=False, on=entry.date)]
        answers = attendance(self.db, entry.meeting_id, members)
        result = []
        for contact in self.invitations.roster.contacts(entry.host.name):
            if not contact.delivery_enabled:
                continue
            key = f"meeting-briefing:{entry.meeting_id}:{contact.email.lower()}"
            if self.db.execute("SELECT 1 FROM outbound WHERE source_key = ?", (key,)).fetchone():
                continue
            reminder = MeetingReminder("briefing", meeting_key(entry), [contact.email], "would send" if dry_run else "sent")
            if not dry_run:
                variables = self.invitations._variables(entry, "briefing")
                message = Templates(self.config).message(
                    "meeting_briefing", [contact.email], contact=SimpleNamespace(name=contact.name, email=contact.email),
                    attendance=answers, **variables)
                self.invitations.queue.enqueue(message.as_bytes(), [contact.email], message_id=str(message["Message-ID"]),
                                               kind="meeting_briefing", key=key, subject=str(message["Subject"]))
                log.info("meeting briefing sent meeting=%s to=%s", reminder.meeting, contact.email)
            result.append(reminder)
        return result

    def _answer_reminders(self, entry, dry_run: bool) -> list[MeetingReminder]:
        """Contacts of members with no acceptance yet who have not answered: one gentle reminder."""
        rows = self.db.execute("SELECT * FROM meeting_attendees WHERE meeting_id = ?", (entry.meeting_id,)).fetchall()
        accepted = {row["member_name"] for row in rows if row["partstat"] == "ACCEPTED"}
        result = []
        for row in rows:
            if row["member_name"] in accepted or row["partstat"] != "NEEDS-ACTION" or row["reminded_at"]:
                continue
            if row["member_name"] == entry.host.name:
                continue  # the host gets the briefing instead
            reminder = MeetingReminder("answer", meeting_key(entry), [row["email"]], "would send" if dry_run else "sent")
            if not dry_run:
                contact = SimpleNamespace(email=row["email"], name=row["name"], member_name=row["member_name"])
                message = self.invitations.message(entry, "invitation", self._all_attendees(entry.meeting_id),
                                                   template="rsvp_reminder", to=row["email"],
                                                   contact=contact)
                # Replace the From the template set: the calendar part makes this an invitation again.
                message.replace_header("From", str(Address(display_name=self.config.list.name,
                                                           addr_spec=self.config.list.address)))
                with transaction(self.db):
                    self.invitations.queue.enqueue(
                        message.as_bytes(), [row["email"]], message_id=str(message["Message-ID"]),
                        kind="rsvp_reminder", key=f"meeting-answer:{entry.meeting_id}:{row['email']}",
                        subject=str(message["Subject"]))
                    self.db.execute(
                        "UPDATE meeting_attendees SET reminded_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') "
                        "WHERE meeting_id = ? AND email = ?", (entry.meeting_id, row["email"]))
                log.info("meeting answer reminder sent meeting=%s to=%s", reminder.meeting, row["email"])
            result.append(reminder)
        return result

    def _all_attendees(self, meeting_id: int) -> list:
        return [SimpleNamespace(email=row["email"], name=row["name"], member_name=row["member_name"])
                for row in self.db.execute("SELECT * FROM meeting_attendees WHERE meeting_id = ? ORDER BY email",
                                           (meeting_id,))]
