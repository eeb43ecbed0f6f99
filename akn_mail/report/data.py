"""The numbers of the Jahresbericht, read from the database: one year of the alliance.

``year_report(db, year)`` collects what a member hands to its council: the meetings held
and their hosts, the most frequent topics (TOP headings of the results), the decisions,
the tasks done and open per member, the members who joined or left, and the posts per
member. Everything comes from tables other parts keep (meetings, results, memberships,
archived_messages); nothing is stored here.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from akn_mail.results.store import ResultStore
from akn_mail.roster.members import Roster
from akn_mail.roster.rotation import Rotation
from akn_mail.text import german_sort_key

NO_MEMBER = "(kein Mitglied)"


@dataclass
class Meeting:
    label: str  # 2026-Q1, "extra 2026-05-20"
    date: dt.date | None
    host: str
    place: str
    minutes_id: int | None


@dataclass
class YearReport:
    year: int
    meetings: list[Meeting] = field(default_factory=list)
    topics: list[tuple[str, int]] = field(default_factory=list)
    decisions: list[tuple[str, str]] = field(default_factory=list)  # (meeting, text)
    tasks: dict[str, tuple[int, int]] = field(default_factory=dict)  # member -> (done, open)
    joined: list[tuple[str, dt.date]] = field(default_factory=list)
    left: list[tuple[str, dt.date]] = field(default_factory=list)
    posts: dict[str, int] = field(default_factory=dict)  # member -> posts in the year
    members: int = 0

    @property
    def tasks_done(self) -> int:
        return sum(done for done, _ in self.tasks.values())

    @property
    def tasks_open(self) -> int:
        return sum(still for _, still in self.tasks.values())

    def as_json(self) -> dict:
        return {
            "year": self.year,
            "meetings": [{"meeting": m.label, "date": m.date.isoformat() if m.date else None, "host": m.host,
                          "place": m.place, "minutes": m.minutes_id} for m in self.meetings],
            "topics": [{"topic": topic, "count": count} for topic, count in self.topics],
            "decisions": [{"meeting": meeting, "text": text} for meeting, text in self.decisions],
            "tasks": {member: {"done": done, "open": still} for member, (done, still) in self.tasks.items()},
            "joined": [{"member": name, "date": day.isoformat()} for name, day in self.joined],
            "left": [{"member": name, "date": day.isoformat()} for name, day in self.left],
            "posts": self.posts,
            "members": self.members,
        }


def _topic(top: str) -> str:
    """"TOP 3: Kommunale Wärmeplanung" -> "Kommunale Wärmeplanung" ("" without a title)."""
    return re.sub(r"^\s*TOP\s*[\d.a-z]*\s*[:.\-–]?\s*", "", top or "", flags=re.IGNORECASE).strip()


def year_report(db: sqlite3.Connection, year: int, today: dt.date | None = None) -> YearReport:
    today = today or dt.date.today()
    report = YearReport(year)
    roster = Roster(db)
    rotation = Rotation(db, roster)
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    rows = db.execute(
        """SELECT mt.*, mm.archived_id AS minutes_id FROM meetings mt
           LEFT JOIN meeting_minutes mm ON mm.meeting_id = mt.id
           WHERE mt.status != 'cancelled' AND (mt.quarter LIKE ? OR substr(coalesce(mt.date, ''), 1, 4) = ?)
           ORDER BY coalesce(mt.date, mt.quarter), mt.id""", (f"{year}-Q%", str(year))).fetchall()
    hosts = rotation.meeting_hosts(rows)
    for row in rows:
        day = dt.date.fromisoformat(row["date"][:10]) if row["date"] else None
        held = row["status"] == "held" or row["minutes_id"] is not None or (day is not None and day < today)
        if not held:
            continue
        host = hosts.get(row["id"])
        label = row["quarter"] if row["kind"] == "regular" else f"extra {row['date']}"
        report.meetings.append(Meeting(label, day, host.name if host else "", row["place"] or "", row["minutes_id"]))
    meeting_ids = {row["id"] for row in rows}
    results = [r for r in ResultStore(db).list() if r.meeting_id in meeting_ids]
    counted: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for result in results:
        topic = _topic(result.top)
        if topic:
            key = topic.casefold()
            spelling.setdefault(key, topic)
            counted[key] += 1
    report.topics = [(spelling[key], count) for key, count in sorted(counted.items(), key=lambda item: (-item[1], german_sort_key(spelling[item[0]])))][:10]
    report.decisions = [(r.meeting, r.text) for r in results if r.kind == "decision"]
    tasks: dict[str, list[int]] = {}
    for result in results:
        if result.kind != "task":
            continue
        entry = tasks.setdefault(result.member_name or result.responsible or "alle", [0, 0])
        entry[0 if result.status == "done" else 1] += 1
    report.tasks = {name: (done, still) for name, (done, still) in sorted(tasks.items(), key=lambda item: german_sort_key(item[0]))}
    for member in roster.members():
        for period in member.periods:
            if period.joined and first <= period.joined <= last:
                report.joined.append((member.name, period.joined))
            if period.left and first <= period.left <= last:
                report.left.append((member.name, period.left))
    report.members = len(roster.members(include_former=False, on=min(last, today)))
    posts: Counter[str] = Counter()
    for row in db.execute("SELECT member_name, count(*) AS n FROM archived_messages WHERE substr(date, 1, 4) = ? "
                          "AND source = 'list' GROUP BY member_name", (str(year),)):
        posts[row["member_name"] or NO_MEMBER] += row["n"]
    report.posts = dict(sorted(posts.items(), key=lambda item: german_sort_key(item[0])))
    return report
