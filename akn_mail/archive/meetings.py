"""Linking minutes to the meeting they record.

The rule (README, "Filing"), first match wins:
1. an explicit quarter or date in the subject ("Sitzung 2027-Q1", "vom 11.03.2027",
   "11. März 2027"): the meeting of that date, else the regular meeting of that quarter;
2. the most recent meeting (by date, undated ones by the first day of their quarter) up
   to the message's date that has no minutes yet and is hosted by the sender's member;
3. the most recent such meeting without minutes, whoever hosted it;
4. a new extra meeting dated by the message.
A meeting that has minutes already gets a new version (all versions kept, the newest is
current); minutes from someone other than the host are filed with the flag ``not-host``.
The meeting rows belong to the rotation (``akn_mail.rotation``); this module adds only
``meeting_minutes`` rows and, for rule 4, the extra meeting.
"""

from __future__ import annotations

import datetime
import re
import sqlite3
from dataclasses import dataclass, field

from akn_mail.db import transaction
from akn_mail.roster.quarter import Quarter, QuarterError, parse_date

MONTHS = {
    "januar": 1, "jan": 1, "jänner": 1, "februar": 2, "feb": 2, "märz": 3, "maerz": 3, "mär": 3, "mrz": 3,
    "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11,
    "dezember": 12, "dez": 12,
}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
# Numbers are bounded by "not a digit" rather than \b, and "_" separates like "-": file
# names of imported minutes ("Protokoll_2025-03-05.pdf", "AKN_Q3_2024.odt") carry the date
# after an underscore, which \b (underscore is a word character) would not see.
QUARTER_PATTERNS = (
    re.compile(r"(?<!\d)(?P<year>\d{4})\s*[-/ _]?\s*Q(?P<number>[1-4])(?!\d)", re.IGNORECASE),
    re.compile(r"(?<![^\W_])Q(?P<number>[1-4])\s*[-/ _]?\s*(?P<year>\d{4})(?!\d)", re.IGNORECASE),
    re.compile(r"(?<!\d)(?P<number>[1-4])\.\s*Quartal\s+(?P<year>\d{4})(?!\d)", re.IGNORECASE),
)
DATE_PATTERNS = (
    re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?!\d)"),
    re.compile(r"(?<!\d)(?P<day>\d{1,2})\.\s?(?P<month>\d{1,2})\.\s?(?P<year>\d{4}|\d{2})(?!\d)"),
    re.compile(rf"(?<!\d)(?P<day>\d{{1,2}})\.?\s*(?P<month>{_MONTH_NAMES})\.?\s+(?P<year>\d{{4}})(?!\d)", re.IGNORECASE),
)


@dataclass(frozen=True)
class SubjectReference:
    """What the subject names: a date, or a quarter."""

    quarter: Quarter
    date: datetime.date | None = None


def subject_reference(subject: str) -> SubjectReference | None:
    """The date or quarter written in a subject, if any (a date wins over a quarter)."""
    for pattern in DATE_PATTERNS:
        for match in pattern.finditer(subject):
            month = match.group("month")
            month_number = MONTHS.get(month.lower()) if not month.isdigit() else int(month)
            year = int(match.group("year"))
            if year < 100:
                year += 2000
            try:
                day = datetime.date(year, month_number, int(match.group("day")))
            except (TypeError, ValueError):
                continue
            return SubjectReference(Quarter.of(day), day)
    for pattern in QUARTER_PATTERNS:
        match = pattern.search(subject)
        if match:
            try:
                return SubjectReference(Quarter(int(match.group("year")), int(match.group("number"))))
            except QuarterError:
                continue
    return None


def parse_meeting_option(text: str) -> SubjectReference:
    """--meeting 2024-Q3, --meeting 2024-09-12 or --meeting 12.09.2024."""
    try:
        return SubjectReference(Quarter.parse(text))
    except QuarterError:
        pass
    try:
        day = parse_date(text)
    except QuarterError:
        raise QuarterError(f"unknown meeting \"{text}\"; give a quarter like 2024-Q3 or a date like 2024-09-12.") from None
    return SubjectReference(Quarter.of(day), day)


@dataclass
class Candidate:
    """A meeting minutes may belong to (a row, or a derived quarter without a row yet)."""

    day: datetime.date              # its date, or the first day of its quarter
    host_member_id: int | None
    meeting_id: int | None = None
    quarter: Quarter | None = None  # for derived quarters
    has_minutes: bool = False


@dataclass
class Link:
    meeting_id: int
    version: int
    rule: str
    flags: list[str] = field(default_factory=list)


def _rotation(db: sqlite3.Connection):
    from akn_mail.roster.rotation import Rotation

    return Rotation(db)


def candidates(db: sqlite3.Connection, sent_on: datetime.date, rotation=None) -> list[Candidate]:
    """Meetings on or before sent_on: every row, and the derived quarters of the last year."""
    found: list[Candidate] = []
    regular_quarters = set()
    rotation = rotation if rotation is not None else _rotation(db)
    rows = db.execute(
        """SELECT mt.id, mt.kind, mt.quarter, mt.date, mt.host_member_id, mt.status,
                  mm.meeting_id IS NOT NULL AS has_minutes
           FROM meetings mt LEFT JOIN meeting_minutes mm ON mm.meeting_id = mt.id"""
    ).fetchall()
    # A planned regular meeting has no host on its row; the rotation knows it.
    hosts = rotation.meeting_hosts(rows)
    for row in rows:
        if row["kind"] == "regular":
            regular_quarters.add(row["quarter"])
        if row["status"] == "cancelled":
            continue
        if row["date"]:
            day = datetime.date.fromisoformat(row["date"])
        elif row["quarter"]:
            day = Quarter.parse(row["quarter"]).first_day
        else:
            continue
        if day <= sent_on:
            host = hosts.get(row["id"])
            found.append(Candidate(day, host.id if host else None, row["id"], None, bool(row["has_minutes"])))
    current = Quarter.of(sent_on)
    for back in range(4):
        quarter = current - back
        if str(quarter) in regular_quarters:
            continue
        try:
            host = rotation.host_for(quarter, today=sent_on)
        except Exception:  # no rotation set up yet: the quarter has no known host
            host = None
        if host is not None:
            found.append(Candidate(quarter.first_day, host.id, None, quarter, False))
    return found


def choose(reference: SubjectReference | None, member_id: int | None, found: list[Candidate]) -> tuple[str, Candidate | None]:
    """Rules 2-4 over the candidates: (rule name, the chosen one or None for a new meeting)."""
    open_ones = [candidate for candidate in found if not candidate.has_minutes]
    # Latest first; on the same day a real row beats a derived quarter.
    ordering = lambda candidate: (candidate.day, candidate.meeting_id is not None, candidate.meeting_id or 0)
    if member_id is not None:
        own = [candidate for candidate in open_ones if candidate.host_member_id == member_id]
        if own:
            return "sender-hosted", max(own, key=ordering)
    if open_ones:
        return "latest-without-minutes", max(open_ones, key=ordering)
    return "new-extra-meeting", None


def link_minutes(
    db: sqlite3.Connection,
    subject: str,
    sent: datetime.datetime,
    member_id: int | None,
    message_id: str,
    override: SubjectReference | None = None,
    check_host: bool = True,
    rotation=None,
) -> Link:
    """Find (or create) the meeting of these minutes; call inside the filing transaction."""
    rotation = rotation if rotation is not None else _rotation(db)
    sent_on = sent.date()
    reference = override or subject_reference(subject)
    if reference is not None:
        rule = "meeting-option" if override else ("subject-date" if reference.date else "subject-quarter")
        meeting_id = None
        if reference.date:
            row = db.execute(
                "SELECT id FROM meetings WHERE date = ? AND status != 'cancelled' ORDER BY kind = 'regular' DESC, id LIMIT 1",
                (reference.date.isoformat(),),
            ).fetchone()
            meeting_id = row["id"] if row else None
        if meeting_id is None:
            meeting_id = rotation.ensure_meeting(reference.quarter)
            if reference.date:
                db.execute("UPDATE meetings SET date = ? WHERE id = ? AND date IS NULL", (reference.date.isoformat(), meeting_id))
    else:
        rule, chosen = choose(None, member_id, candidates(db, sent_on, rotation))
        if chosen is None:
            cursor = db.execute(
                "INSERT INTO meetings (kind, quarter, date, host_member_id, status, note) VALUES ('extra', ?, ?, ?, 'held', ?)",
                (str(Quarter.of(sent_on)), sent_on.isoformat(), member_id, f"created by the archive for the minutes <{message_id}>"),
            )
            meeting_id = cursor.lastrowid
        elif chosen.meeting_id is None:
            meeting_id = rotation.ensure_meeting(chosen.quarter)
        else:
            meeting_id = chosen.meeting_id
    flags = [f"matched-by-{rule}"]
    host = rotation.meeting_host(meeting_id)
    host_id = host.id if host else None
    if check_host and host_id is not None and host_id != member_id:
        flags.append("not-host")
    previous = db.execute("SELECT versions FROM meeting_minutes WHERE meeting_id = ?", (meeting_id,)).fetchone()
    version = (previous["versions"] + 1) if previous else 1
    if version > 1:
        flags.append("new-version")
    return Link(meeting_id, version, rule, flags)


def record_minutes(db: sqlite3.Connection, link: Link, archived_id: int, arrived: str) -> None:
    """Note on the meeting that (a new version of) its minutes arrived."""
    db.execute(
        """INSERT INTO meeting_minutes (meeting_id, archived_id, versions, first_arrived, last_arrived)
           VALUES (?, ?, 1, ?, ?)
           ON CONFLICT (meeting_id) DO UPDATE SET archived_id = excluded.archived_id,
               versions = meeting_minutes.versions + 1, last_arrived = excluded.last_arrived""",
        (link.meeting_id, archived_id, arrived, arrived),
    )


def preview_version(db: sqlite3.Connection, subject: str, sent: datetime.datetime, member_id: int | None,
                    message_id: str) -> int:
    """The version these minutes would become (1: the first), without recording anything.

    Runs ``link_minutes`` inside a savepoint that is rolled back, so the answer follows the
    very rule filing will use (and a meeting it would create is not kept).
    """
    with transaction(db):
        db.execute("SAVEPOINT preview_minutes")
        try:
            return link_minutes(db, subject, sent, member_id, message_id).version
        finally:
            db.execute("ROLLBACK TO preview_minutes")
            db.execute("RELEASE preview_minutes")
