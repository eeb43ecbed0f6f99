"""Results of the minutes as a service: read them when minutes are filed, correct and add.

``Results.read_minutes`` is what the archive calls once the text of current minutes
(body and attachments) is known: it finds the meeting's day (for dates without a year)
and the next meeting's day (for "zur nächsten Sitzung"), reads the results with
``extract.extract_results`` against the roster's member names, and stores them with
``ResultStore.replace_from_minutes``. ``Results.parse`` turns one line a person wrote
("Aufgabe Entwurf Förderantrag Zuständig Neuss bis 30.06.2027") into a result.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import sqlite3

from akn_mail.results.dates import parse_due
from akn_mail.results.extract import Found, extract_results
from akn_mail.results.matching import match_member
from akn_mail.results.store import Result, ResultError, ResultStore

log = logging.getLogger("akn_mail.results")

_KIND_WORD = re.compile(
    r"^\s*(?P<word>Beschluss|Ergebnis|Empfehlung|Entscheidung|Aufgabe|To-?do|Maßnahme|decision|task)\b\s*:?\s*",
    re.IGNORECASE)
_TOP_WORD = re.compile(r"^\s*(?:\(|\[)?\s*TOP\s*(\d{1,2}[a-z]?)\s*(?:\)|\])?\s*[:.\-–]?\s*", re.IGNORECASE)
_WHO_WORD = re.compile(r"\b(?:Zuständig|Verantwortlich|Zust\.|Verantw\.)\s*:?\s*(?P<who>.+?)\s*(?=[,;]|\bbis\b|\bFrist\b|$)",
                       re.IGNORECASE)
_DUE_WORD = re.compile(r"[,;]?\s*\b(?:bis|Frist|Termin|fällig)\b\s*:?\s*(?:zum\s+)?(?P<due>.+)$", re.IGNORECASE)


class Results:
    def __init__(self, db: sqlite3.Connection, roster=None):
        self.db = db
        self.store = ResultStore(db)
        self._roster = roster

    @functools.cached_property
    def roster(self):
        if self._roster is not None:
            return self._roster
        from akn_mail.roster.members import Roster

        return Roster(self.db)

    def member_ids(self) -> dict[str, int]:
        return {member.name: member.id for member in self.roster.members()}

    # -- the meeting's days ----------------------------------------------------------------

    def meeting_day(self, meeting_id: int | None, fallback: dt.date, text: str = "") -> dt.date:
        """The meeting's date; else the first date in the minutes' head that lies in its
        quarter ("Meerbusch, 15.09.2027"); else the quarter's first day; else FALLBACK."""
        if meeting_id is None:
            return fallback
        row = self.db.execute("SELECT date, quarter FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
        if row is None:
            return fallback
        if row["date"]:
            return dt.date.fromisoformat(row["date"][:10])
        from akn_mail.roster.quarter import Quarter

        quarter = Quarter.parse(row["quarter"])
        head = "\n".join(text.splitlines()[:15])
        for match in re.finditer(r"\d{1,2}\.\s?\d{1,2}\.\s?\d{4}|\d{4}-\d{2}-\d{2}|\d{1,2}\.\s*[A-Za-zä]+\s+\d{4}", head):
            value, _ = parse_due(match[0], quarter.first_day)
            if value is not None and Quarter.of(value) == quarter:
                return value
        return quarter.first_day

    def next_meeting_day(self, after: dt.date) -> dt.date | None:
        """The date of the first meeting after AFTER that is not cancelled, if one is dated."""
        row = self.db.execute(
            "SELECT date FROM meetings WHERE date > ? AND status != 'cancelled' ORDER BY date LIMIT 1",
            (after.isoformat(),)).fetchone()
        return dt.date.fromisoformat(row["date"][:10]) if row else None

    def meeting_id(self, text: str, create: bool = False) -> int | None:
        """The meeting named by --meeting: a quarter (2027-Q1: its regular meeting) or a day (2027-03-10)."""
        from akn_mail.roster.quarter import Quarter, QuarterError

        text = text.strip()
        try:
            quarter = Quarter.parse(text)
        except QuarterError:
            quarter = None
        if quarter is not None:
            row = self.db.execute("SELECT id FROM meetings WHERE kind = 'regular' AND quarter = ?", (str(quarter),)).fetchone()
            if row is None and create:
                from akn_mail.roster.rotation import Rotation

                return Rotation(self.db, self.roster).ensure_meeting(quarter)
            if row is None:
                raise ResultError(f"no meeting of {quarter} is recorded; see the meetings with: akn-mail rotation show")
            return row["id"]
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise ResultError(f"unknown meeting \"{text}\"; give a quarter like 2027-Q1 or a date like 2027-03-10.") from None
        row = self.db.execute("SELECT id FROM meetings WHERE date = ? AND status != 'cancelled' ORDER BY kind DESC, id",
                              (day.isoformat(),)).fetchone()
        if row is None:
            raise ResultError(f"no meeting on {day} is recorded; give its quarter (like {Quarter.of(day)}) instead.")
        return row["id"]

    # -- reading minutes -------------------------------------------------------------------

    def read_minutes(self, archived_id: int, text: str) -> list[Result] | None:
        """Read and store the results of the minutes ARCHIVED_ID (None if not current minutes)."""
        row = self.db.execute(
            "SELECT am.id, am.date, am.is_minutes, am.meeting_id, mm.archived_id AS current_id FROM archived_messages am "
            "LEFT JOIN meeting_minutes mm ON mm.meeting_id = am.meeting_id WHERE am.id = ?", (archived_id,)).fetchone()
        if row is None or not row["is_minutes"]:
            return None
        if row["meeting_id"] is not None and row["current_id"] not in (None, archived_id):
            return None  # an older version arriving late: the current minutes' results stand
        sent = dt.date.fromisoformat(row["date"][:10])
        day = self.meeting_day(row["meeting_id"], sent, text)
        members = self.member_ids()
        found = extract_results(text, list(members), day, self.next_meeting_day(day))
        stored = self.store.replace_from_minutes(archived_id, row["meeting_id"], found, members)
        log.info("results read archived=%s meeting=%s found=%s", archived_id, row["meeting_id"], len(found))
        return stored

    # -- what a person writes ----------------------------------------------------------------

    def parse(self, line: str, meeting_day: dt.date, kind: str | None = None) -> Found:
        """One result as a person writes it: "Aufgabe … Zuständig Neuss bis 30.06.2027"."""
        text = " ".join(line.split())
        top = ""
        match = _TOP_WORD.match(text)
        if match:
            top, text = f"TOP {match[1]}", text[match.end():]
        match = _KIND_WORD.match(text)
        if match:
            word = match["word"].lower()
            kind = kind or ("decision" if word in ("beschluss", "ergebnis", "empfehlung", "entscheidung", "decision")
                            else "task")
            text = text[match.end():]
        match = _TOP_WORD.match(text)
        if match and not top:
            top, text = f"TOP {match[1]}", text[match.end():]
        responsible = member = None
        due = None
        due_text = ""
        match = _DUE_WORD.search(text)
        if match:
            value, words = parse_due(match["due"], meeting_day, self.next_meeting_day(meeting_day))
            if words:
                due, due_text = value, words
                text = text[: match.start()]
        match = _WHO_WORD.search(text)
        if match:
            responsible = match["who"].strip(" .,;")
            member = match_member(responsible, [m.name for m in self.roster.members()])
            text = text[: match.start()] + text[match.end():]
        text = text.strip(" ,;:–-")
        if not text:
            raise ResultError(f"no text in \"{line.strip()}\"; write what was decided or what is to be done.")
        if kind is None:
            kind = "task" if (responsible or due_text) else "decision"
        return Found(kind, text, top=top, responsible=responsible or "", member=member, due=due, due_text=due_text)
