"""Reminders: the host of an upcoming quarter, and the host whose minutes have not arrived.

``akn-mail remind`` (run daily by deploy/akn-mail-remind.timer) asks what is due on a day:

- host reminder: from ``[reminders] host_weeks_before`` weeks before a quarter begins
  until its end, to every contact (delivery enabled) of the quarter's host from the
  rotation, unless the meeting is already held or cancelled;
- task reminder: ``TASK_DAYS_BEFORE`` days before the due date of an open task (a result
  of the minutes, ``akn-mail results``) until that day, to the contacts of the member
  responsible for it (remembered in ``results_reminders``);
- results summary: on the first run of a month, to every read-only recipient who gets
  ``results`` (``akn-mail recipient``), the open and done results of the month before
  (one per recipient and month, by the queue key);
- minutes reminder: from ``[reminders] minutes_after_days`` days after a meeting's date
  (a regular meeting not cancelled, or an extra one) when no minutes are filed for it in
  the archive, to the contacts of its host. Meetings more than ``MINUTES_WINDOW_DAYS``
  beyond that are left alone, so installing on an old database mails nobody about the
  minutes of years ago.

Each reminder is remembered in ``sent_reminders`` under (kind, meeting, recipient) in the
same transaction that queues it, so a second run on the same day, or any later day, never
sends it again — and a run that failed to queue it leaves no mark and is retried.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any

from akn_mail import db as db_module
from akn_mail.config import Config
from akn_mail.notices.notices import Notices, contact_variables, meeting_variables
from akn_mail.notices.informing import previous_month, send_summary
from akn_mail.results.store import ResultStore
from akn_mail.roster.recipients import Recipients
from akn_mail.roster.quarter import Quarter

log = logging.getLogger("akn_mail.reminders")

MINUTES_WINDOW_DAYS = 90
TASK_DAYS_BEFORE = 7  # a task's responsible member hears of it a week before its due date
NO_CONTACT = "no contact"  # the host has no contact with delivery on: nobody to remind
KINDS = ("host", "minutes", "task", "summary")


@dataclass
class Reminder:
    """One reminder to one person (the --json form of ``akn-mail remind``)."""

    kind: str  # host | minutes | task
    meeting: str  # key: the quarter of a regular meeting, meeting:<id> of an extra one, result:<id> of a task
    quarter: str
    date: str | None
    member: str
    recipient: str
    name: str
    status: str = "due"  # sent | would send | already sent | no contact
    outbound_id: int | None = None

    def as_json(self) -> dict:
        return asdict(self)


class Reminders:
    def __init__(self, config: Config, db: sqlite3.Connection, notices: Notices):
        self.config = config
        self.db = db
        self.notices = notices

    @property
    def roster(self):
        return self.notices.roster

    @property
    def rotation(self):
        return self.notices.rotation

    def _recipients(self, member_name: str) -> list[Any]:
        return [c for c in self.roster.contacts(member_name) if c.delivery_enabled]

    # -- what is due -----------------------------------------------------------------------

    def host_due(self, today: dt.date) -> list[tuple[Reminder, dict]]:
        if self.rotation.anchor(today, create=False) is None:
            # No rotation yet: remind never starts one (least of all for a --today in the future).
            log.info("no host reminders: the rotation has not started (akn-mail rotation start)")
            return []
        weeks = self.config.reminders.host_weeks_before
        lead = dt.timedelta(weeks=weeks)
        quarters = weeks // 13 + 2  # enough quarters ahead to reach today + lead
        due = []
        for entry in self.rotation.schedule(quarters=quarters, start=Quarter.current(today), today=today):
            if entry.kind != "regular" or entry.host is None:
                continue
            if entry.status in ("held", "cancelled", "unassigned"):
                continue
            quarter = Quarter.parse(entry.quarter)
            if not (quarter.first_day - lead <= today <= quarter.last_day):
                continue
            if entry.date is not None and entry.date < today:
                continue  # the meeting is over; the minutes reminder takes it from here
            meeting = meeting_variables(entry.quarter, entry.host.name, entry.date, entry.place, entry.meeting_id)
            contacts = self._recipients(entry.host.name)
            if not contacts:
                due.append((Reminder("host", entry.quarter, entry.quarter, _iso(entry.date), entry.host.name, "", "",
                                     status=NO_CONTACT), {}))
            for contact in contacts:
                reminder = Reminder("host", entry.quarter, entry.quarter, _iso(entry.date), entry.host.name,
                                    contact.email, contact.name)
                variables = dict(contact=contact_variables(contact), member=_member(entry.host), meeting=meeting,
                                 quarter_start=quarter.first_day, open_tasks=self.open_tasks())
                due.append((reminder, variables))
        return due

    def minutes_due(self, today: dt.date) -> list[tuple[Reminder, dict]]:
        days = self.config.reminders.minutes_after_days
        newest = today - dt.timedelta(days=days)
        oldest = newest - dt.timedelta(days=MINUTES_WINDOW_DAYS)
        arrived = self._meetings_with_minutes()
        rows = self.db.execute(
            """SELECT mt.*, mb.name AS host_name, mb.kind AS host_kind FROM meetings mt
               LEFT JOIN members mb ON mb.id = mt.host_member_id
               WHERE mt.date IS NOT NULL AND mt.status != 'cancelled' AND mt.date <= ? AND mt.date >= ?
               ORDER BY mt.date, mt.id""",
            (newest.isoformat(), oldest.isoformat()),
        ).fetchall()
        due = []
        for row in rows:
            if row["id"] in arrived:
                continue
            key = row["quarter"] if row["kind"] == "regular" else f"meeting:{row['id']}"
            date = dt.date.fromisoformat(row["date"][:10])
            quarter = row["quarter"] or str(Quarter.of(date))
            host = row["host_name"] and SimpleNamespace(name=row["host_name"], kind=row["host_kind"])
            if not host and row["kind"] == "regular":  # a planned row without a recorded host: the rotation's
                host = self.rotation.host_for(quarter, today=today)
            if not host:
                continue
            meeting = meeting_variables(quarter, host.name, date, row["place"], row["id"], row["kind"])
            member = SimpleNamespace(name=host.name, kind=host.kind)
            contacts = self._recipients(host.name)
            if not contacts:
                due.append((Reminder("minutes", key, quarter, date.isoformat(), host.name, "", "", status=NO_CONTACT), {}))
            for contact in contacts:
                reminder = Reminder("minutes", key, quarter, date.isoformat(), host.name, contact.email, contact.name)
                variables = dict(contact=contact_variables(contact), member=member, meeting=meeting, days=(today - date).days)
                due.append((reminder, variables))
        return due

    def open_tasks(self) -> list[Any]:
        """The open tasks of every member (results of earlier minutes), for the next meeting's host."""
        return ResultStore(self.db).list(open_only=True)

    def task_due(self, today: dt.date) -> list[tuple[Reminder, dict]]:
        """Open tasks due within TASK_DAYS_BEFORE days: one reminder per contact of the member responsible."""
        last = today + dt.timedelta(days=TASK_DAYS_BEFORE)
        due = []
        for result in ResultStore(self.db).list(open_only=True):
            if result.due_date is None or not result.member_name or not (today <= result.due_date <= last):
                continue
            key = f"result:{result.id}"
            try:
                contacts = self._recipients(result.member_name)
            except Exception:  # the member was renamed or removed since
                contacts = []
            if not contacts:
                due.append((Reminder("task", key, result.meeting, result.due_date.isoformat(), result.member_name, "", "",
                                     status=NO_CONTACT), {}))
            for contact in contacts:
                reminder = Reminder("task", key, result.meeting, result.due_date.isoformat(), result.member_name,
                                    contact.email, contact.name)
                variables = dict(contact=contact_variables(contact), member=SimpleNamespace(name=result.member_name),
                                 result=result, days=(result.due_date - today).days,
                                 open_tasks=[r for r in ResultStore(self.db).list(open_only=True)
                                             if r.member_name == result.member_name and r.id != result.id])
                due.append((reminder, variables))
        return due

    def summary_due(self, today: dt.date) -> list[tuple[Reminder, dict]]:
        """The monthly results summary of the month before TODAY's, one per recipient."""
        first, _ = previous_month(today)
        month = f"{first:%Y-%m}"
        due = []
        for recipient in Recipients(self.db, self.roster).for_results():
            reminder = Reminder("summary", month, "", None, recipient.member_name, recipient.email, recipient.name)
            due.append((reminder, {"recipient": recipient}))
        return due

    def _meetings_with_minutes(self) -> set[int]:
        """Meeting ids the archive has minutes for."""
        rows = self.db.execute(
            "SELECT meeting_id FROM meeting_minutes UNION "
            "SELECT meeting_id FROM archived_messages WHERE is_minutes = 1 AND meeting_id IS NOT NULL"
        )
        return {row[0] for row in rows}

    def _already_sent(self, reminder: Reminder) -> bool:
        if reminder.kind == "summary":
            key = f"results-summary:{reminder.meeting}:{reminder.recipient.lower()}"
            return self.db.execute("SELECT 1 FROM outbound WHERE source_key = ?", (key,)).fetchone() is not None
        if reminder.kind == "task":
            return self.db.execute(
                "SELECT 1 FROM results_reminders WHERE result_id = ? AND recipient = ? AND kind = 'due'",
                (int(reminder.meeting.split(":")[1]), reminder.recipient.lower()),
            ).fetchone() is not None
        return self.db.execute(
            "SELECT 1 FROM sent_reminders WHERE kind = ? AND meeting = ? AND recipient = ?",
            (reminder.kind, reminder.meeting, reminder.recipient.lower()),
        ).fetchone() is not None

    # -- doing it --------------------------------------------------------------------------

    def run(self, today: dt.date | None = None, dry_run: bool = False) -> list[Reminder]:
        """Send what is due on TODAY (or, with dry_run, say what would be sent)."""
        today = today or dt.date.today()
        self._today = today
        result = []
        for reminder, variables in self.host_due(today) + self.minutes_due(today) + self.task_due(today) + self.summary_due(today):
            if reminder.status == NO_CONTACT:
                log.warning("reminder not sent kind=%s meeting=%s member=%s reason=no-contact-with-delivery-on",
                            reminder.kind, reminder.meeting, reminder.member)
            elif self._already_sent(reminder):
                reminder.status = "already sent"
            elif dry_run:
                reminder.status = "would send"
            else:
                self._send(reminder, variables)
            result.append(reminder)
        return result

    def _send(self, reminder: Reminder, variables: dict) -> None:
        template = {"host": "host_reminder", "minutes": "minutes_reminder", "task": "task_reminder",
                    "summary": "results_summary"}[reminder.kind]
        recipient = reminder.recipient.lower()
        if reminder.kind == "task":
            self._send_task(reminder, variables, recipient)
            return
        if reminder.kind == "summary":
            reminder.outbound_id = send_summary(self.notices, variables["recipient"], today=self._today)
            reminder.status = "sent"
            return
        with db_module.transaction(self.db):
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO sent_reminders (kind, meeting, recipient, member_name) VALUES (?, ?, ?, ?)",
                (reminder.kind, reminder.meeting, recipient, reminder.member),
            )
            if cursor.rowcount == 0:  # another run got there first
                reminder.status = "already sent"
                return
            outbound_id = self.notices.send(
                template, [reminder.recipient], key=f"reminder:{reminder.kind}:{reminder.meeting}:{recipient}", **variables
            )
            self.db.execute(
                "UPDATE sent_reminders SET outbound_id = ? WHERE kind = ? AND meeting = ? AND recipient = ?",
                (outbound_id, reminder.kind, reminder.meeting, recipient),
            )
        reminder.status = "sent"
        reminder.outbound_id = outbound_id
        log.info("reminder sent kind=%s meeting=%s to=%s outbound=%s", reminder.kind, reminder.meeting, recipient, outbound_id)


    def _send_task(self, reminder: Reminder, variables: dict, recipient: str) -> None:
        result_id = int(reminder.meeting.split(":")[1])
        with db_module.transaction(self.db):
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO results_reminders (result_id, recipient, kind) VALUES (?, ?, 'due')",
                (result_id, recipient))
            if cursor.rowcount == 0:
                reminder.status = "already sent"
                return
            outbound_id = self.notices.send("task_reminder", [reminder.recipient],
                                            key=f"reminder:task:{result_id}:{recipient}", **variables)
            self.db.execute("UPDATE results_reminders SET outbound_id = ? WHERE result_id = ? AND recipient = ? AND kind = 'due'",
                            (outbound_id, result_id, recipient))
        reminder.status = "sent"
        reminder.outbound_id = outbound_id
        log.info("reminder sent kind=task result=%s to=%s outbound=%s", result_id, recipient, outbound_id)


def _member(member: Any) -> SimpleNamespace:
    return SimpleNamespace(name=member.name, kind=member.kind)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
