"""Informationsweitergabe: minutes and results to the read-only recipients of each member.

When minutes arrive on the list (after their text and results are read), every recipient
who gets ``minutes`` receives them in a mail of its own: a German cover note (template
``minutes_forward``), the results of the meeting, and the minutes' attachments (or their
text, when they came in the mail body). Once a month ``akn-mail remind`` sends recipients
who get ``results`` a summary (template ``results_summary``): their member's open tasks, the
other members' open tasks, what was done and decided in the past month. Each mail is queued
once (by key), so a re-run never repeats it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import sqlite3

from akn_mail.notices.notices import Notices, meeting_variables
from akn_mail.results.store import ResultStore
from akn_mail.roster.recipients import Recipients

log = logging.getLogger("akn_mail.notices")

MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
             "November", "Dezember")


def minutes_to_recipients(notices: Notices, archived_id: int, attachments: list[tuple[str, bytes, str]],
                          minutes_text: str = "") -> list[int]:
    """Queue the minutes ARCHIVED_ID to every recipient who gets minutes; the outbound ids."""
    db = notices.db
    row = db.execute("SELECT * FROM archived_messages WHERE id = ?", (archived_id,)).fetchone()
    if row is None or not row["is_minutes"] or row["source"] != "list":
        return []
    recipients = Recipients(db, notices.roster).for_minutes()
    if not recipients:
        return []
    meeting = None
    if row["meeting_id"] is not None:
        m = db.execute("SELECT * FROM meetings WHERE id = ?", (row["meeting_id"],)).fetchone()
        if m is not None:
            host = notices.rotation.meeting_host(m)
            meeting = meeting_variables(m["quarter"], host.name if host else None, m["date"], m["place"], m["id"], m["kind"])
    store = ResultStore(db)
    results = store.for_meeting(row["meeting_id"], archived_id) if store.was_read(archived_id) else []
    sent = []
    for recipient in recipients:
        contacts = [contact.name or contact.email for contact in notices.roster.contacts(recipient.member_name)]
        outbound = notices.send(
            "minutes_forward", [recipient.email], key=f"minutes-forward:{row['message_id']}:{recipient.email.lower()}",
            files=attachments, recipient=recipient, meeting=meeting, version=row["minutes_version"],
            results=results, minutes_text=minutes_text.strip(), contacts=contacts,
            attachment_names=[name for name, _, _ in attachments],
        )
        if outbound is not None:
            sent.append(outbound)
    log.info("minutes sent to recipients archived=%s recipients=%s", archived_id, len(sent))
    return sent


def previous_month(today: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the month before TODAY's."""
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


def summary_variables(db: sqlite3.Connection, recipient, first: dt.date, last: dt.date, language: str = "de") -> dict:
    store = ResultStore(db)
    open_tasks = store.list(open_only=True)
    everything = store.list()

    def within(value: str | None) -> bool:
        return bool(value) and first.isoformat() <= value[:10] <= last.isoformat()

    done = [r for r in everything if r.status == "done" and within(r.done_at)]
    decisions = [r for r in everything if r.kind == "decision" and r.meeting_date and first <= r.meeting_date <= last]
    month_name = (MONTHS_DE[first.month - 1] if language == "de" else calendar.month_name[first.month]) + f" {first.year}"
    return dict(
        recipient=recipient, month_end=last, month_name=month_name,
        own=[r for r in open_tasks if r.member_name == recipient.member_name],
        others=[r for r in open_tasks if r.member_name != recipient.member_name], done=done, decisions=decisions,
    )


def send_summary(notices: Notices, recipient, today: dt.date) -> int | None:
    first, last = previous_month(today)
    variables = summary_variables(notices.db, recipient, first, last, notices.config.list.language)
    return notices.send("results_summary", [recipient.email],
                        key=f"results-summary:{first:%Y-%m}:{recipient.email.lower()}", **variables)

