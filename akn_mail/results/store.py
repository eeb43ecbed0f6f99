"""The results table: decisions and tasks of the alliance, tracked until done.

Rows come from three places (``origin``): read from the minutes, added by the host in a
reply to the minutes receipt, or added with ``akn-mail results add``. A row a person
checked or changed is marked ``corrected``; when a new version of the minutes arrives,
the rows read from the old version are replaced by what the new one says, except those
corrected rows and the tasks already done. A result struck by the host stays as
``struck`` (hidden from lists), so the next version does not bring it back.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import Iterable

from akn_mail.db import transaction
from akn_mail.errors import AknError
from akn_mail.results.extract import Found

KINDS = ("decision", "task")
KIND_NAMES_DE = {"decision": "Beschluss", "task": "Aufgabe"}


class ResultError(AknError):
    """A results change that cannot be done as asked."""


@dataclass
class Result:
    id: int
    kind: str
    text: str
    top: str
    member_name: str
    responsible: str
    due_date: dt.date | None
    due_text: str
    meeting_id: int | None
    meeting: str
    meeting_date: dt.date | None
    archived_id: int | None
    position: int
    origin: str
    status: str
    corrected: bool
    done_at: str | None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def kind_de(self) -> str:
        return KIND_NAMES_DE[self.kind]

    @property
    def who(self) -> str:
        return self.member_name or self.responsible

    def as_json(self) -> dict:
        return {
            "id": self.id, "kind": self.kind, "text": self.text, "top": self.top, "member": self.member_name or None,
            "responsible": self.responsible, "due": self.due_date.isoformat() if self.due_date else None,
            "due_text": self.due_text, "meeting": self.meeting or None,
            "meeting_date": self.meeting_date.isoformat() if self.meeting_date else None,
            "archive_id": self.archived_id, "position": self.position, "origin": self.origin, "status": self.status,
            "corrected": self.corrected, "done_at": self.done_at,
        }


SELECT = """
SELECT r.*, mt.kind AS meeting_kind, mt.quarter AS meeting_quarter, mt.date AS meeting_date
FROM results r LEFT JOIN meetings mt ON mt.id = r.meeting_id
"""


def meeting_name(kind: str | None, quarter: str | None, date: str | None) -> str:
    if kind is None:
        return ""
    if kind == "regular":
        return quarter or ""
    return f"extra {date}" if date else "extra"


def _row(row: sqlite3.Row) -> Result:
    return Result(
        id=row["id"], kind=row["kind"], text=row["text"], top=row["top"], member_name=row["member_name"],
        responsible=row["responsible"], due_date=dt.date.fromisoformat(row["due_date"]) if row["due_date"] else None,
        due_text=row["due_text"], meeting_id=row["meeting_id"],
        meeting=meeting_name(row["meeting_kind"], row["meeting_quarter"], row["meeting_date"]),
        meeting_date=dt.date.fromisoformat(row["meeting_date"][:10]) if row["meeting_date"] else None,
        archived_id=row["archived_id"], position=row["position"], origin=row["origin"], status=row["status"],
        corrected=bool(row["corrected"]), done_at=row["done_at"],
    )


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _same(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .;,")


class ResultStore:
    """Reads and writes of the results tables."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    # -- reading -----------------------------------------------------------------------

    def get(self, result_id: int | str) -> Result:
        text = str(result_id).strip().lstrip("#")
        row = self.db.execute(SELECT + " WHERE r.id = ?", (int(text),)).fetchone() if text.isdigit() else None
        if row is None:
            raise ResultError(f"no result with ID {str(result_id).strip()}; see the IDs with: akn-mail results list")
        return _row(row)

    def list(self, *, open_only: bool = False, member_id: int | None = None, meeting_id: int | None = None,
             include_struck: bool = False, archived_id: int | None = None) -> list[Result]:
        where, args = [], []
        if not include_struck:
            where.append("r.status != 'struck'")
        if open_only:
            where.append("r.status = 'open'")
        if member_id is not None:
            where.append("r.member_id = ?")
            args.append(member_id)
        if meeting_id is not None:
            where.append("r.meeting_id = ?")
            args.append(meeting_id)
        if archived_id is not None:
            where.append("r.archived_id = ?")
            args.append(archived_id)
        sql = SELECT + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY coalesce(mt.date, mt.quarter, r.created_at), r.meeting_id, r.position, r.id"
        return [_row(row) for row in self.db.execute(sql, args)]

    def for_meeting(self, meeting_id: int | None, archived_id: int | None = None) -> list[Result]:
        """The current results of a meeting (or of minutes without a meeting), in receipt order."""
        if meeting_id is not None:
            return self.list(meeting_id=meeting_id)
        return self.list(archived_id=archived_id) if archived_id is not None else []

    def by_position(self, meeting_id: int | None, archived_id: int | None, position: int) -> Result:
        for result in self.for_meeting(meeting_id, archived_id):
            if result.position == position:
                return result
        raise ResultError(f"no result number {position} in these minutes")

    def was_read(self, archived_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM results_read WHERE archived_id = ?", (archived_id,)).fetchone() is not None

    # -- writing -----------------------------------------------------------------------

    def replace_from_minutes(self, archived_id: int, meeting_id: int | None, found: Iterable[Found],
                             members: dict[str, int]) -> list[Result]:
        """Store what the minutes ARCHIVED_ID say, replacing what an older version of the
        same meeting's minutes said, but keeping corrected rows, done tasks and the host's own."""
        found = list(found)
        with transaction(self.db):
            if meeting_id is not None:
                kept = self.db.execute(
                    "SELECT id, original_text, text FROM results WHERE meeting_id = ? AND "
                    "(origin != 'minutes' OR corrected = 1 OR status IN ('done', 'struck'))", (meeting_id,)).fetchall()
                self.db.execute(
                    "DELETE FROM results WHERE meeting_id = ? AND origin = 'minutes' AND corrected = 0 "
                    "AND status IN ('open', 'decided')", (meeting_id,))
            else:
                kept = []
            # Kept rows after the new ones unless the new version still says them: then in its order.
            self.db.executemany("UPDATE results SET position = position + 10000 WHERE id = ?", [(row["id"],) for row in kept])
            known: dict[str, int] = {}
            for row in kept:
                known.setdefault(_same(row["original_text"] or row["text"]), row["id"])
                known.setdefault(_same(row["text"]), row["id"])
            placed: set[str] = set()
            for order, item in enumerate(found, 1):
                key = _same(item.text)
                if key in placed:
                    continue
                placed.add(key)
                if key in known:
                    self.db.execute("UPDATE results SET position = ? WHERE id = ?", (order, known[key]))
                    continue
                new_id = self._insert(item, meeting_id, archived_id, "minutes", members)
                self.db.execute("UPDATE results SET position = ? WHERE id = ?", (order, new_id))
            if meeting_id is not None:
                self.db.execute(
                    "UPDATE results SET archived_id = ? WHERE meeting_id = ? AND origin = 'minutes'", (archived_id, meeting_id))
            self.db.execute("INSERT OR REPLACE INTO results_read (archived_id, found) VALUES (?, ?)", (archived_id, len(found)))
            self._renumber(meeting_id, archived_id)
        return self.for_meeting(meeting_id, archived_id)

    def _insert(self, item: Found, meeting_id: int | None, archived_id: int | None, origin: str,
                members: dict[str, int], corrected: bool = False) -> int:
        kind = "task" if (item.kind == "task" or item.member or item.responsible or item.due) else "decision"
        cursor = self.db.execute(
            """INSERT INTO results (kind, text, top, member_id, member_name, responsible, due_date, due_text, meeting_id,
                                    archived_id, origin, status, corrected, original_text)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (kind, item.text, item.top, members.get(item.member) if item.member else None, item.member or "",
             item.responsible, item.due.isoformat() if item.due else None, item.due_text, meeting_id, archived_id,
             origin, "open" if kind == "task" else "decided", int(corrected), item.text if origin == "minutes" else ""),
        )
        return cursor.lastrowid

    def _scope(self, meeting_id: int | None, archived_id: int | None) -> tuple[str, tuple]:
        if meeting_id is not None:
            return "meeting_id = ?", (meeting_id,)
        return "archived_id = ? AND meeting_id IS NULL", (archived_id,)

    def _renumber(self, meeting_id: int | None, archived_id: int | None, full: bool = True) -> None:
        """Number the results of a meeting 1, 2, … (a new version of the minutes: all anew;
        else only the new rows, after the others, so the numbers the host saw stay valid)."""
        if meeting_id is None and archived_id is None:
            return
        where, args = self._scope(meeting_id, archived_id)
        if full:
            rows = self.db.execute(f"SELECT id FROM results WHERE {where} AND status != 'struck' ORDER BY "
                                   "CASE WHEN position = 0 THEN 1 ELSE 0 END, position, id", args).fetchall()
            self.db.execute(f"UPDATE results SET position = 0 WHERE {where} AND status = 'struck'", args)
            start = 1
        else:
            rows = self.db.execute(f"SELECT id FROM results WHERE {where} AND position = 0 ORDER BY id", args).fetchall()
            start = self.db.execute(f"SELECT coalesce(max(position), 0) FROM results WHERE {where}", args).fetchone()[0] + 1
        self.db.executemany("UPDATE results SET position = ? WHERE id = ?",
                            [(n, row["id"]) for n, row in enumerate(rows, start)])

    def add(self, item: Found, *, meeting_id: int | None, archived_id: int | None, origin: str,
            members: dict[str, int]) -> Result:
        if not item.text.strip():
            raise ResultError("the result has no text; say what was decided or what is to be done.")
        with transaction(self.db):
            new_id = self._insert(item, meeting_id, archived_id, origin, members, corrected=True)
            self._renumber(meeting_id, archived_id, full=False)
        return self.get(new_id)

    def update(self, result_id: int | str, **fields) -> Result:
        """Change fields (text, top, kind, member_id/member_name, responsible, due_date, due_text); marks it corrected."""
        result = self.get(result_id)
        allowed = {"text", "top", "kind", "member_id", "member_name", "responsible", "due_date", "due_text", "meeting_id",
                   "archived_id"}
        sets = {key: value for key, value in fields.items() if key in allowed}
        if "kind" in sets:
            if sets["kind"] not in KINDS:
                raise ResultError(f"unknown kind \"{sets['kind']}\"; use decision or task.")
            if result.status in ("open", "decided"):
                sets["status"] = "open" if sets["kind"] == "task" else "decided"
        if not sets:
            raise ResultError("nothing to change; give at least one of --text, --kind, --member, --due, --top.")
        sets["corrected"] = 1
        sets["updated_at"] = _now()
        with transaction(self.db):
            self.db.execute(f"UPDATE results SET {', '.join(f'{key} = ?' for key in sets)} WHERE id = ?",
                            [*sets.values(), result.id])
            if "meeting_id" in sets or "archived_id" in sets:
                self.db.execute("UPDATE results SET position = 0 WHERE id = ?", (result.id,))
                updated = self.get(result.id)
                self._renumber(updated.meeting_id, updated.archived_id, full=False)
        return self.get(result.id)

    def set_status(self, result_id: int | str, status: str) -> Result:
        result = self.get(result_id)
        if status in ("done", "open") and result.kind != "task":
            raise ResultError(f"result {result.id} is a decision; only tasks are done. "
                              "To change its kind: akn-mail results edit {0} --kind task".format(result.id))
        if status == "done" and result.status == "done":
            raise ResultError(f"task {result.id} is done already (since {result.done_at}).")
        with transaction(self.db):
            self.db.execute(
                "UPDATE results SET status = ?, done_at = ?, corrected = 1, updated_at = ? WHERE id = ?",
                (status, _now() if status == "done" else None, _now(), result.id))
        return self.get(result.id)
