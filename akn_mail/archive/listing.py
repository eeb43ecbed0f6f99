"""The meetings and their minutes, for ``archive list``: which minutes arrived, which are missing.

Meetings come from the rotation's schedule (regular quarters, extra meetings) from the
earliest recorded meeting (or the rotation's start) up to the current quarter, joined with
``meeting_minutes``. A meeting that is over and has no minutes is flagged ``missing``.
"""

from __future__ import annotations

import datetime
import sqlite3
from dataclasses import dataclass, field

from akn_mail.roster.quarter import Quarter
from akn_mail.archive.store import meeting_label


@dataclass
class MeetingEntry:
    meeting: str
    meeting_id: int | None
    kind: str
    quarter: str
    date: str | None
    host: str | None
    status: str
    archived_id: int | None = None
    minutes: str | None = None          # Message-ID of the current minutes
    minutes_subject: str = ""
    versions: int = 0
    flags: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "meeting": self.meeting,
            "date": self.date,
            "host": self.host,
            "minutes": self.minutes,
            "flags": self.flags,
            "kind": self.kind,
            "status": self.status,
            "versions": self.versions,
            "id": self.archived_id,
            "meeting_id": self.meeting_id,
        }


def _minutes_by_meeting(db: sqlite3.Connection) -> dict[int, sqlite3.Row]:
    return {
        row["meeting_id"]: row
        for row in db.execute(
            """SELECT mm.meeting_id, mm.versions, am.id, am.message_id, am.subject, am.flags
               FROM meeting_minutes mm JOIN archived_messages am ON am.id = mm.archived_id"""
        )
    }


def meeting_overview(db: sqlite3.Connection, rotation, year: int | None = None,
                     today: datetime.date | None = None) -> list[MeetingEntry]:
    today = today or datetime.date.today()
    current = Quarter.of(today)
    rows = db.execute("SELECT * FROM meetings").fetchall()
    quarters = [Quarter.parse(row["quarter"]) for row in rows if row["quarter"]]
    if year is not None:
        first, last = Quarter(year, 1), Quarter(year, 4)
    else:
        first = min(quarters) if quarters else current
        try:
            first = min(first, rotation.anchor(today))
        except Exception:
            pass
        last = max([current, *quarters])
    entries: list[MeetingEntry] = []
    seen_ids: set[int] = set()
    try:
        schedule = rotation.schedule(last - first + 1, first, today=today)
    except Exception:  # no roster or rotation yet: the recorded meetings only
        schedule = []
    for item in schedule:
        if item.meeting_id is None and (item.host is None or item.status == "unassigned"):
            continue
        if item.meeting_id is None and item.kind == "regular" and Quarter.parse(item.quarter) > current:
            continue
        entries.append(MeetingEntry(
            meeting=item.quarter if item.kind == "regular" else meeting_label("extra", item.quarter, item.date.isoformat() if item.date else None),
            meeting_id=item.meeting_id, kind=item.kind, quarter=item.quarter,
            date=item.date.isoformat() if item.date else None, host=item.host.name if item.host else None,
            status=item.status,
        ))
        if item.meeting_id is not None:
            seen_ids.add(item.meeting_id)
    left = [row for row in rows if row["id"] not in seen_ids and row["quarter"]]
    hosts = rotation.meeting_hosts(left) if left else {}
    for row in left:
        if not first <= Quarter.parse(row["quarter"]) <= last:
            continue
        entries.append(MeetingEntry(
            meeting=meeting_label(row["kind"], row["quarter"], row["date"]), meeting_id=row["id"], kind=row["kind"],
            quarter=row["quarter"], date=row["date"], host=hosts[row["id"]].name if hosts.get(row["id"]) else None,
            status=row["status"],
        ))
    minutes = _minutes_by_meeting(db)
    for entry in entries:
        found = minutes.get(entry.meeting_id) if entry.meeting_id is not None else None
        if entry.kind == "extra":
            entry.flags.append("extra")
        if found is not None:
            entry.archived_id = found["id"]
            entry.minutes = found["message_id"]
            entry.minutes_subject = found["subject"]
            entry.versions = found["versions"]
            if found["versions"] > 1:
                entry.flags.append("new-version")
            if "not-host" in found["flags"].split():
                entry.flags.append("not-host")
        elif entry.status == "cancelled":
            entry.flags.append("cancelled")
        else:
            over = (datetime.date.fromisoformat(entry.date) < today) if entry.date else Quarter.parse(entry.quarter).last_day < today
            entry.flags.append("missing" if over else "pending")
    entries.sort(key=lambda entry: (entry.quarter, entry.date or "9999", entry.kind))
    return entries
