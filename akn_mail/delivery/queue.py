"""Delivery queue: one SQLite row per (message, recipient), sent through the relay.

The enqueue step (and every part that writes mail: notices, reminders, moderation) calls
``DeliveryQueue.enqueue``; the message is stored once in ``outbound`` and one row per
recipient in ``deliveries``. The ``Deliverer`` takes the due rows, sends them in
transactions of up to ``[delivery] batch_size`` recipients over ``[delivery] connections``
parallel connections, and records the outcome of every SMTP transaction before it starts
the next one on that connection, so a recipient the relay answered 250 is never sent the
message again (not after a relay outage, not after a crash).

- 4xx and connection errors: the row is deferred with exponential backoff
  (``first_retry_seconds``, doubling, at most ``max_retry_seconds``) until
  ``retry_for_hours`` have passed; then it expires.
- 5xx: the row fails and a ``delivery_failures`` row is written; bounce scoring reads those.
- Envelope sender: the list's bounce address; with VERP (``[delivery] verp``) it names the
  recipient and a check code only this list can make (``akn_mail.delivery.verp``):
  ``akn-bounces+3f9a0c11de+anna=dormagen.example@lists.example``. ``auto`` asks a relay that
  offers XVERP (Postfix does) to do this, so a transaction still carries many recipients;
  otherwise VERP costs one transaction (and one copy of the message) per recipient —
  fine for a list of dozens, slower for thousands. ``off`` sends batches with the plain
  bounce address; bounces must then be matched from the DSN's content.
- DKIM ([dkim]): the message is signed once, here, before it is stored
  (``akn_mail.delivery.signing``): the stored bytes are the bytes every recipient gets.
- No relay (``[relay] host`` empty): every transaction is written as one file into the
  Maildir ``<data_dir>/outbox`` with ``Return-Path`` and ``X-Original-To`` (the recipients).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property

from akn_mail import db as db_module
from akn_mail import logs
from akn_mail.config import Config
from akn_mail.delivery.signing import DkimSigner
from akn_mail.errors import AknError
from akn_mail.message import normalise_message_id

log = logging.getLogger("akn_mail.delivery")

STATUSES = ("pending", "deferred", "sent", "failed", "expired")


class DeliveryError(AknError):
    """A queue command cannot do what was asked."""


def normalize_line_endings(message: bytes) -> bytes:
    """CRLF everywhere, as SMTP carries it (bare LF from generated mail included)."""
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class DeliveryQueue:
    """The queue tables: enqueue, list, retry, and the bookkeeping the Deliverer needs."""

    def __init__(self, db: sqlite3.Connection, config: Config, wakeup: threading.Event | None = None):
        self.db = db
        self.config = config
        self.wakeup = wakeup  # set after enqueue, so a running deliverer starts at once
        self.lock = threading.RLock()  # the connection may be shared by sender threads

    @cached_property
    def signer(self) -> DkimSigner | None:
        """The DKIM signer of [dkim], read on the first enqueue (None: signing is off)."""
        return DkimSigner.from_config(self.config)

    def enqueue(
        self,
        message: bytes,
        recipients: list[str],
        *,
        message_id: str,
        sender: str | None = None,
        kind: str = "post",
        key: str | None = None,
        subject: str = "",
    ) -> int:
        """Queue ``message`` for every recipient; return the outbound id.

        ``sender`` None means the list's bounce address with VERP per recipient; ``""``
        sends with the null sender. ``key`` (optional) makes the call idempotent: a second
        call with the same key returns the first id and queues nothing.
        """
        now = time.time()
        unique = list(dict.fromkeys(r.strip() for r in recipients if r and r.strip()))
        body = normalize_line_endings(message)
        if self.signer is not None:
            body = self.signer.sign(body)
        with self.lock, db_module.transaction(self.db):
            if key is not None:
                row = self.db.execute("SELECT id FROM outbound WHERE source_key = ?", (key,)).fetchone()
                if row is not None:
                    return row["id"]
            cursor = self.db.execute(
                "INSERT INTO outbound (message_id, kind, sender, source_key, subject, body) VALUES (?, ?, ?, ?, ?, ?)",
                (normalise_message_id(message_id), kind, sender, key, subject, body),
            )
            outbound_id = cursor.lastrowid
            self.db.executemany(
                "INSERT INTO deliveries (outbound_id, recipient, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                [(outbound_id, recipient, now, now, now) for recipient in unique],
            )
        logs.event(log, "enqueued", message_id=message_id, queue_id=outbound_id, kind=kind, recipients=len(unique))
        if not self.db.in_transaction:  # inside a caller's transaction: the caller notifies after COMMIT
            self.notify()
        return outbound_id

    def notify(self) -> None:
        """Wake a waiting deliverer (the rows are committed)."""
        if self.wakeup is not None:
            self.wakeup.set()

    # --- reading -------------------------------------------------------------------
    def entries(self, status: str | None = None, include_sent: bool = False) -> list[dict]:
        """Deliveries for ``queue list``: pending/deferred/failed/expired (sent only if asked)."""
        if status is not None and status not in STATUSES:
            raise DeliveryError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}.")
        where, params = "", []
        if status is not None:
            where, params = "WHERE d.status = ?", [status]
        elif not include_sent:
            where = "WHERE d.status != 'sent'"
        rows = self.db.execute(
            f"""SELECT d.id, d.outbound_id, d.recipient, d.status, d.attempts, d.next_attempt_at,
                       d.last_code, d.last_error, d.created_at, d.updated_at, d.sent_at,
                       o.message_id, o.kind, o.sender, o.subject
                FROM deliveries d JOIN outbound o ON o.id = d.outbound_id {where}
                ORDER BY d.id""",
            params,
        ).fetchall()
        result = []
        for row in rows:
            sender = row["sender"] if row["sender"] is not None else self.config.bounce_address
            result.append({
                "id": row["id"],
                "outbound_id": row["outbound_id"],
                "message_id": row["message_id"],
                "kind": row["kind"],
                "from": sender,
                "to": row["recipient"],
                "subject": row["subject"],
                "status": row["status"],
                "attempts": row["attempts"],
                "last_code": row["last_code"],
                "last_error": row["last_error"],
                "time": iso(row["created_at"]),
                "next_attempt": iso(row["next_attempt_at"]) if row["status"] in ("pending", "deferred") else None,
                "sent_at": iso(row["sent_at"]),
            })
        return result

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, count(*) AS n FROM deliveries GROUP BY status").fetchall()
        return {row["status"]: row["n"] for row in rows}

    def retry(self, delivery_id: int | None = None) -> int:
        """Make deliveries due now: one (also a failed or expired one), or every waiting one."""
        now = time.time()
        with self.lock, db_module.transaction(self.db):
            if delivery_id is None:
                cursor = self.db.execute(
                    "UPDATE deliveries SET next_attempt_at = ?, updated_at = ? WHERE status IN ('pending', 'deferred')",
                    (now, now),
                )
                count = cursor.rowcount
            else:
                row = self.db.execute("SELECT status FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
                if row is None:
                    raise DeliveryError(f"no delivery with id {delivery_id}; see 'akn-mail queue list'.")
                if row["status"] == "sent":
                    raise DeliveryError(f"delivery {delivery_id} was already sent; nothing to retry.")
                # A failed or expired row gets a fresh retry period from now.
                self.db.execute(
                    "UPDATE deliveries SET status = CASE status WHEN 'pending' THEN 'pending' ELSE 'deferred' END, "
                    "next_attempt_at = ?, updated_at = ?, created_at = CASE WHEN status IN ('failed', 'expired') "
                    "THEN ? ELSE created_at END WHERE id = ?",
                    (now, now, now, delivery_id),
                )
                count = 1
        if self.wakeup is not None:
            self.wakeup.set()
        return count

    def next_due_in(self) -> float | None:
        """Seconds until the next waiting delivery is due (0 if one is due), None if none waits."""
        row = self.db.execute(
            "SELECT min(next_attempt_at) AS t FROM deliveries WHERE status IN ('pending', 'deferred')"
        ).fetchone()
        if row is None or row["t"] is None:
            return None
        return max(0.0, row["t"] - time.time())

    def due(self, now: float | None = None, limit: int = 50000) -> list[sqlite3.Row]:
        now = time.time() if now is None else now
        return self.db.execute(
            """SELECT d.id, d.outbound_id, d.recipient, d.attempts, d.created_at
               FROM deliveries d WHERE d.status IN ('pending', 'deferred') AND d.next_attempt_at <= ?
               ORDER BY d.outbound_id, d.id LIMIT ?""",
            (now, limit),
        ).fetchall()

    def outbound(self, outbound_id: int) -> sqlite3.Row:
        return self.db.execute("SELECT * FROM outbound WHERE id = ?", (outbound_id,)).fetchone()

    # --- recording -----------------------------------------------------------------
    def record(self, results: list["Result"]) -> None:
        """Write the outcome of one SMTP transaction (all its recipients) in one commit."""
        if not results:
            return
        now = time.time()
        settings = self.config.delivery
        expiry = settings.retry_for_hours * 3600
        sent = [result for result in results if result.code is not None and 200 <= result.code < 300]
        with self.lock, db_module.transaction(self.db):
            self.db.executemany(
                "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, last_code = ?, last_error = '', "
                "sent_at = ?, updated_at = ? WHERE id = ? AND status IN ('pending', 'deferred')",
                [(result.code, now, now, result.delivery_id) for result in sent],
            )
            for result in results:
                if result.code is not None and 200 <= result.code < 300:
                    continue
                elif result.code is not None and 500 <= result.code < 600:
                    changed = self.db.execute(
                        "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_code = ?, last_error = ?, "
                        "updated_at = ? WHERE id = ? AND status IN ('pending', 'deferred')",
                        (result.code, result.text, now, result.delivery_id),
                    ).rowcount
                    if changed:
                        self._failure(result, "hard")
                else:
                    row = self.db.execute(
                        "SELECT attempts, created_at FROM deliveries WHERE id = ?", (result.delivery_id,)
                    ).fetchone()
                    attempts = row["attempts"] + 1
                    if now - row["created_at"] >= expiry:
                        changed = self.db.execute(
                            "UPDATE deliveries SET status = 'expired', attempts = ?, last_code = ?, last_error = ?, "
                            "updated_at = ? WHERE id = ? AND status IN ('pending', 'deferred')",
                            (attempts, result.code, result.text, now, result.delivery_id),
                        ).rowcount
                        if changed:
                            self._failure(result, "expired")
                    else:
                        wait = min(settings.first_retry_seconds * 2 ** (attempts - 1), settings.max_retry_seconds)
                        self.db.execute(
                            "UPDATE deliveries SET status = 'deferred', attempts = ?, last_code = ?, last_error = ?, "
                            "next_attempt_at = ?, updated_at = ? WHERE id = ? AND status IN ('pending', 'deferred')",
                            (attempts, result.code, result.text, now + wait, now, result.delivery_id),
                        )

    def _failure(self, result: "Result", kind: str) -> None:
        self.db.execute(
            "INSERT INTO delivery_failures (delivery_id, recipient, message_id, kind, code, error) "
            "SELECT d.id, d.recipient, o.message_id, ?, ?, ? FROM deliveries d JOIN outbound o ON o.id = d.outbound_id "
            "WHERE d.id = ?",
            (kind, result.code, result.text, result.delivery_id),
        )


@dataclass
class Result:
    """What the relay said about one recipient of one transaction (code None: no answer)."""

    delivery_id: int
    recipient: str
    code: int | None
    text: str


@dataclass
class Job:
    """One batch of recipients of one outbound message."""

    outbound_id: int
    message_id: str
    sender: str | None            # None: the bounce address with VERP
    body: bytes
    recipients: list[tuple[int, str]] = field(default_factory=list)  # (delivery id, address)
