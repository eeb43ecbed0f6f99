"""The agenda (Tagesordnung) of a meeting: numbered items, from [TOP] posts and by hand.

A post whose subject carries ``[list] agenda_tag`` (default ``[TOP]``) becomes an item of
the next meeting, or of the one named right after the tag (``[TOP] 2027-Q1 Radverkehr``);
it is distributed like any post. Admins edit the list with ``akn-mail meeting agenda``.
Items are kept in ``agenda_items`` with their position (1, 2, 3 … without gaps).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import asdict, dataclass

from akn_mail.db import transaction
from akn_mail.errors import AknError
from akn_mail.subject import is_reply, strip_list_prefix

QUARTER_AFTER_TAG = re.compile(r"^\s*[:\-–]?\s*(\d{4}-Q[1-4])\b\s*[:\-–]?\s*", re.IGNORECASE)


class AgendaError(AknError):
    """An agenda change that cannot be done as asked."""


@dataclass
class Item:
    position: int
    title: str
    author: str
    message_id: str | None

    def as_json(self) -> dict:
        return asdict(self)


def agenda_subject(subject: str, tag: str, prefix: str = "") -> tuple[str, str | None] | None:
    """(item title, quarter named after the tag or None) when SUBJECT marks an agenda item;
    None when it does not (no tag, or a reply that only talks about an item)."""
    if not tag or tag.casefold() not in (subject or "").casefold() or is_reply(subject, prefix):
        return None
    text = strip_list_prefix(subject, prefix)
    text = re.sub(re.escape(tag), " ", text, flags=re.IGNORECASE).strip()
    quarter = None
    match = QUARTER_AFTER_TAG.match(text)
    if match:
        quarter = match.group(1).upper()
        text = text[match.end():]
    title = " ".join(text.split()).strip(" :-–")
    return title, quarter


class Agenda:
    """The items of each meeting, by meetings.id."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def items(self, meeting_id: int | None) -> list[Item]:
        if meeting_id is None:
            return []
        return [
            Item(row["position"], row["title"], row["author"], row["message_id"])
            for row in self.db.execute(
                "SELECT * FROM agenda_items WHERE meeting_id = ? ORDER BY position, id", (meeting_id,))
        ]

    def add(self, meeting_id: int, title: str, author: str = "", message_id: str | None = None) -> Item | None:
        """Append an item; None if the post MESSAGE_ID is on this agenda already."""
        title = " ".join((title or "").split())
        if not title:
            raise AgendaError("the agenda item has no title; give one, e.g. --add \"Kommunale Wärmeplanung\".")
        with transaction(self.db):
            if message_id and self.db.execute(
                "SELECT 1 FROM agenda_items WHERE meeting_id = ? AND message_id = ?", (meeting_id, message_id)
            ).fetchone():
                return None
            position = self.db.execute(
                "SELECT coalesce(max(position), 0) + 1 FROM agenda_items WHERE meeting_id = ?", (meeting_id,)
            ).fetchone()[0]
            self.db.execute(
                "INSERT INTO agenda_items (meeting_id, position, title, author, message_id) VALUES (?, ?, ?, ?, ?)",
                (meeting_id, position, title, author or "", message_id),
            )
        return Item(position, title, author or "", message_id)

    def _check(self, meeting_id: int, position: int) -> int:
        count = len(self.items(meeting_id))
        if not 1 <= position <= count:
            raise AgendaError(
                f"the agenda has no item {position}" + (f" (it has 1 to {count})" if count else " (it is empty)")
                + "; see the numbers with: akn-mail meeting agenda QUARTER"
            )
        return count

    def remove(self, meeting_id: int, position: int) -> Item:
        self._check(meeting_id, position)
        item = self.items(meeting_id)[position - 1]
        with transaction(self.db):
            self.db.execute("DELETE FROM agenda_items WHERE meeting_id = ? AND position = ?", (meeting_id, position))
            self.db.execute("UPDATE agenda_items SET position = position - 1 WHERE meeting_id = ? AND position > ?",
                            (meeting_id, position))
        return item

    def move(self, meeting_id: int, position: int, to: int) -> Item:
        count = self._check(meeting_id, position)
        if not 1 <= to <= count:
            raise AgendaError(f"cannot move to position {to}; give a position from 1 to {count}.")
        rows = self.db.execute("SELECT id FROM agenda_items WHERE meeting_id = ? ORDER BY position, id",
                               (meeting_id,)).fetchall()
        ids = [row["id"] for row in rows]
        moved = ids.pop(position - 1)
        ids.insert(to - 1, moved)
        with transaction(self.db):
            for number, item_id in enumerate(ids, start=1):
                self.db.execute("UPDATE agenda_items SET position = ? WHERE id = ?", (number, item_id))
        return self.items(meeting_id)[to - 1]
