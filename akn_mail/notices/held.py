"""Held mail: posts (or other mail) kept for a moderator, with the reason.

The message is stored as a file under ``<data_dir>/held`` (written and fsynced before its
row is committed) and a ``held`` row records who sent it, the subject and why it was held.
A moderator approves, rejects (the sender gets a notice through the delivery queue) or
discards it (no notice). Holding is idempotent: the same spool entry, or the same
Message-ID still waiting, is held once.

Approving never runs the pipeline here: the message is written back into the spool,
marked with its held id, and the serve worker continues it after the sender check like
any post (duplicate check, minutes, archive, decoration, fan-out). So only the serve
worker ever writes posts into the archive, the index and the delivery queue, whether the
approval came from ``akn-mail held approve`` or from a moderator's reply by mail. The
spool entry is durable before the row says "approved": a crash in between leaves the
message held *and* spooled, and the duplicate check drops a second approval's copy.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from akn_mail import db as db_module
from akn_mail import logs
from akn_mail.config import Config
from akn_mail.edge.spool import Entry, Spool
from akn_mail.errors import AknError
from akn_mail.files import write_durably
from akn_mail.message import normalise_message_id
from akn_mail.notices.templating import Templates
from akn_mail.notices.answers import AnswerGate, Incoming

log = logging.getLogger("akn_mail.held")



@dataclass(frozen=True)
class Rejection:
    """The outcome of ``held reject``: who was told, or why nobody was (for the admin to read)."""

    told: str | None
    not_told: str | None

class HeldError(AknError):
    """A held-mail command cannot do what was asked."""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class HeldStore:
    """The held table and its files."""

    def __init__(self, db: sqlite3.Connection, config: Config):
        self.db = db
        self.config = config
        self.directory = Path(config.data_dir) / "held"

    def hold(self, raw: bytes, *, reason: str, message_id: str = "", envelope_sender: str = "",
             from_address: str = "", subject: str = "", route: str = "post", key: str | None = None) -> int:
        """Keep ``raw`` for a moderator; return the held id (an existing one for a repeat)."""
        existing = self.existing(key=key, message_id=message_id, route=route)
        if existing is not None:
            return existing
        path = self._write(raw)
        with db_module.transaction(self.db):
            cursor = self.db.execute(
                "INSERT INTO held (source_key, message_id, envelope_sender, from_address, subject, reason, route, path) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, message_id, envelope_sender, from_address, subject, reason, route, path.name),
            )
        held_id = cursor.lastrowid
        logs.event(log, "held", message_id=message_id, held_id=held_id, sender=from_address or envelope_sender,
                   route=route, reason=reason)
        return held_id

    def existing(self, *, key: str | None = None, message_id: str = "", route: str = "post") -> int | None:
        """The id under which this spool entry, or this Message-ID still waiting, is held already."""
        if key is not None:
            row = self.db.execute("SELECT id FROM held WHERE source_key = ?", (key,)).fetchone()
            if row is not None:
                return row["id"]
        if message_id:
            row = self.db.execute(
                "SELECT id FROM held WHERE message_id = ? AND route = ? AND status = 'held'", (message_id, route)
            ).fetchone()
            if row is not None:
                return row["id"]
        return None

    def _write(self, raw: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.eml"
        write_durably(raw, self.directory / (name + ".tmp"), self.directory / name)
        return self.directory / name

    # --- reading -------------------------------------------------------------------
    def entries(self, status: str | None = "held") -> list[dict[str, Any]]:
        if status is None:
            rows = self.db.execute("SELECT * FROM held ORDER BY id").fetchall()
        else:
            rows = self.db.execute("SELECT * FROM held WHERE status = ? ORDER BY id", (status,)).fetchall()
        return [self._public(row) for row in rows]

    def _public(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "message_id": row["message_id"],
            "from": row["from_address"] or row["envelope_sender"],
            "envelope_sender": row["envelope_sender"],
            "subject": row["subject"],
            "reason": row["reason"],
            "route": row["route"],
            "status": row["status"],
            "time": row["held_at"],
            "decided_at": row["decided_at"],
        }

    def get(self, held_id: int) -> dict[str, Any]:
        return self._public(self._row(held_id))

    def _row(self, held_id: int) -> sqlite3.Row:
        row = self.db.execute("SELECT * FROM held WHERE id = ?", (held_id,)).fetchone()
        if row is None:
            raise HeldError(f"no held message with id {held_id}; see 'akn-mail held list'.")
        return row

    def raw(self, held_id: int) -> bytes:
        row = self._row(held_id)
        path = self.directory / row["path"]
        try:
            return path.read_bytes()
        except OSError as error:
            raise HeldError(f"the file of held message {held_id} ({path}) cannot be read: {error.strerror}.") from None

    def _waiting(self, held_id: int) -> sqlite3.Row:
        row = self._row(held_id)
        if row["status"] != "held":
            raise HeldError(f"held message {held_id} is already decided ({row['status']}); nothing to do.")
        return row

    def _decide(self, held_id: int, status: str, note: str = "") -> None:
        with db_module.transaction(self.db):
            self.db.execute(
                "UPDATE held SET status = ?, decided_at = ?, decision_note = ? WHERE id = ?",
                (status, _now(), note, held_id),
            )
        logs.event(log, "decision", message_id=self._row(held_id)["message_id"], held_id=held_id, action=status,
                   reason=note)

    # --- deciding ------------------------------------------------------------------
    def approve(self, held_id: int) -> str:
        """Hand held message HELD_ID back to the serve worker through the spool; mark it approved.

        The worker continues it after the sender check (see the module docstring). Returns the
        spool segment it was written to.
        """
        row = self._waiting(held_id)
        raw = self.raw(held_id)
        entry = Entry(mail_from=row["envelope_sender"] or "", rcpt_tos=self._recipients(row), route=row["route"],
                      data=raw, held_id=held_id)
        segment = Spool(self.config.spool_dir).write([entry])  # durable before the row says approved
        self._decide(held_id, "approved", "approved; handed to the serve worker through the spool")
        return segment

    def record_outcome(self, held_id: int, outcome: str) -> None:
        """What the serve worker did with an approved message (kept in the held row's ``decision_note``)."""
        with db_module.transaction(self.db):
            self.db.execute("UPDATE held SET decision_note = ? WHERE id = ?", (outcome, held_id))

    def _recipients(self, row: sqlite3.Row) -> list[str]:
        """The RCPT TO addresses the message originally came with (its route's address if unknown)."""
        if row["source_key"]:
            received = self.db.execute("SELECT recipients FROM received WHERE spool_id = ?",
                                       (row["source_key"],)).fetchone()
            if received is not None and received["recipients"]:
                return received["recipients"].split(",")
        if row["route"] == "post":
            return [self.config.list.address]
        if row["route"] == "bounces":
            return [self.config.bounce_address]
        return [self.config.list_alias(row["route"])]

    def reject(self, held_id: int, *, queue: Any, reason: str = "") -> Rejection:
        """Refuse a held message and tell its sender why, if the AnswerGate lets that notice go."""
        row = self._waiting(held_id)
        recipient = row["from_address"] or row["envelope_sender"]
        told, not_told = None, "the message names no sender"
        if recipient:
            # An automatic answer like any other: the AnswerGate refuses our own and reserved
            # addresses (automatic ones too), a forged sender (envelope and From differ) and a
            # fourth notice an hour.
            gate = AnswerGate(self.config, self.db)
            incoming = Incoming(envelope_sender=row["envelope_sender"] or "", from_address=row["from_address"] or "")
            not_told = gate.refusal(recipient, incoming)
            if not_told is None:
                notice = self._rejection_notice(row, recipient, reason)
                queued = gate.enqueue(
                    queue, notice.as_bytes(), recipient, incoming, kind="post_rejected",
                    message_id=normalise_message_id(str(notice["Message-ID"])), sender=self.config.bounce_address,
                    subject=str(notice["Subject"]), key=f"post-rejected:{held_id}",
                )
                told = recipient if queued is not None else None
        self._decide(held_id, "rejected", reason)
        return Rejection(told=told, not_told=None if told else not_told)

    def discard(self, held_id: int, reason: str = "") -> None:
        self._waiting(held_id)
        self._decide(held_id, "discarded", reason)

    def _rejection_notice(self, row: sqlite3.Row, recipient: str, reason: str):
        held = SimpleNamespace(
            # reason: why the message was held (the template says it in its language);
            # note: what the moderator wrote when rejecting it, shown as their words.
            id=row["id"], subject=row["subject"], reason=row["reason"], note=reason, sender=recipient,
            received=row["held_at"][:10], message_id=row["message_id"],
        )
        return Templates(self.config).message(
            "post_rejected", recipient, held=held,
            in_reply_to=f"<{row['message_id']}>" if row["message_id"] else None,
        )
