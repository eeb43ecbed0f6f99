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
  recipient: ``akn-bounces+anna=dormagen.example@lists.example``. ``auto`` asks a relay that
  offers XVERP (Postfix does) to do this, so a transaction still carries many recipients;
  otherwise VERP costs one transaction (and one copy of the message) per recipient —
  fine for a list of dozens, slower for thousands. ``off`` sends batches with the plain
  bounce address; bounces must then be matched from the DSN's content.
- No relay (``[relay] host`` empty): every transaction is written as one file into the
  Maildir ``<data_dir>/outbox`` with ``Return-Path`` and ``X-Original-To`` (the recipients).
"""

from __future__ import annotations

import logging
import math
import os
import queue as queue_module
import re
import smtplib
import sqlite3
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import db as db_module
from . import logs
from .config import Config
from .errors import AknError
from .files import DurableMaildir

log = logging.getLogger("akn_mail.delivery")

STATUSES = ("pending", "deferred", "sent", "failed", "expired")


class DeliveryError(AknError):
    """A queue command cannot do what was asked."""


def normalize_line_endings(message: bytes) -> bytes:
    """CRLF everywhere, as SMTP carries it (bare LF from generated mail included)."""
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def verp_address(bounce_address: str, recipient: str) -> str:
    """``akn-bounces@lists.example`` + ``anna@dormagen.example`` -> ``akn-bounces+anna=dormagen.example@lists.example``."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{recipient.replace('@', '=')}@{domain}"


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
        with self.lock, db_module.transaction(self.db):
            if key is not None:
                row = self.db.execute("SELECT id FROM outbound WHERE source_key = ?", (key,)).fetchone()
                if row is not None:
                    return row["id"]
            cursor = self.db.execute(
                "INSERT INTO outbound (message_id, kind, sender, source_key, subject, body) VALUES (?, ?, ?, ?, ?, ?)",
                (message_id.strip("<>"), kind, sender, key, subject, body),
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


class TransportError(Exception):
    """The connection to the relay failed (a temporary condition)."""


class RelayTransport:
    """One SMTP connection to the smarthost, reused for several transactions."""

    def __init__(self, config: Config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None
        self.xverp = False
        self.pipelining = False

    def connect(self) -> None:
        relay = self.config.relay
        try:
            smtp = smtplib.SMTP(relay.host, relay.port, local_hostname=relay.helo_name, timeout=relay.timeout)
            smtp.ehlo()
            if relay.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if relay.username:
                password = os.environ.get(relay.password_env)
                if password is None:
                    smtp.close()
                    raise TransportError(
                        f"[relay] username is set but the environment variable {relay.password_env} is not; "
                        "put the relay password there"
                    )
                smtp.login(relay.username, password)
        except (OSError, smtplib.SMTPException) as error:
            raise TransportError(f"cannot connect to relay {relay.host}:{relay.port}: {error}") from None
        self.smtp = smtp
        self.xverp = smtp.has_extn("xverp")
        self.pipelining = smtp.has_extn("pipelining")

    @staticmethod
    def _pipelined(smtp: smtplib.SMTP, sender: str, recipients: list[str], body: bytes,
                   options: list[str]) -> list[tuple[int | None, str]]:
        """RFC 2920: MAIL, every RCPT and DATA in one write, then their replies in order.

        One round trip instead of one per recipient; what matters for a list of thousands.
        """
        option_text = "".join(f" {option}" for option in options)
        commands = [f"MAIL FROM:{smtplib.quoteaddr(sender)}{option_text}\r\n"]
        commands += [f"RCPT TO:{smtplib.quoteaddr(recipient)}\r\n" for recipient in recipients]
        commands.append("DATA\r\n")
        smtp.send("".join(commands).encode("utf-8"))
        mail_code, mail_text = smtp.getreply()
        replies = [smtp.getreply() for _ in recipients]
        data_code, data_text = smtp.getreply()
        if mail_code != 250:
            if data_code == 354:  # cannot happen with a sane server; end the empty transaction
                smtp.send(b".\r\n")
                smtp.getreply()
            smtp.rset()
            return [_sender_refused(mail_code, mail_text)] * len(recipients)
        accepted = [code in (250, 251) for code, _ in replies]
        if data_code != 354:
            return [(code, _text(text)) if not ok else (data_code, _text(data_text))
                    for (code, text), ok in zip(replies, accepted)]
        payload = re.sub(rb"(?m)^\.", b"..", body)
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        smtp.send(payload + b".\r\n")
        final_code, final_text = smtp.getreply()
        return [(final_code, _text(final_text)) if ok else (code, _text(text))
                for (code, text), ok in zip(replies, accepted)]

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def transaction(self, sender: str, recipients: list[str], body: bytes, options: list[str]) -> list[tuple[int | None, str]]:
        """One MAIL/RCPT.../DATA; the reply for each recipient, in order. Raises TransportError."""
        if self.smtp is None:
            self.connect()
        smtp = self.smtp
        try:
            if self.pipelining:
                return self._pipelined(smtp, sender, recipients, body, options)
            code, text = smtp.mail(sender, options)
            if code != 250:
                smtp.rset()
                return [_sender_refused(code, text)] * len(recipients)
            replies: list[tuple[int | None, str]] = []
            accepted = 0
            for recipient in recipients:
                code, text = smtp.rcpt(recipient)
                replies.append((code, _text(text)))
                accepted += code in (250, 251)
            if not accepted:
                smtp.rset()
                return replies
            try:
                code, text = smtp.data(body)
            except smtplib.SMTPDataError as error:
                code, text = error.smtp_code, error.smtp_error
                smtp.rset()
            return [(code, _text(text)) if reply[0] in (250, 251) else reply for reply in replies]
        except (OSError, smtplib.SMTPException) as error:
            self.smtp = None
            try:
                smtp.close()
            except OSError:
                pass
            raise TransportError(f"relay connection lost: {error}") from None


def _sender_refused(code: int, text: bytes | str) -> tuple[None, str]:
    """MAIL FROM refused: a problem of ours (or the relay's), never the recipients' fault.

    Recorded without a code, so the rows are retried and never counted as bounces.
    """
    return None, f"the relay refused the envelope sender: {code} {_text(text)}"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class OutboxTransport:
    """No relay: each transaction becomes one file in the outbox Maildir (durably written)."""

    xverp = False

    def __init__(self, config: Config):
        self.maildir = DurableMaildir(config.outbox_path)

    def connect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def transaction(self, sender: str, recipients: list[str], body: bytes, options: list[str]) -> list[tuple[int | None, str]]:
        header = f"Return-Path: <{sender}>\nX-Original-To: {', '.join(recipients)}\n".encode("utf-8")
        data = header + body.replace(b"\r\n", b"\n")
        try:
            # Durable before the 250 below is recorded as sent (also the rename: see files.py).
            name = self.maildir.add(data)
        except OSError as error:
            raise TransportError(f"cannot write to outbox {self.maildir.path}: {error}") from None
        return [(250, f"2.0.0 written to outbox as {name}")] * len(recipients)


class Deliverer:
    """Sends what is due: one round = all due rows, in batches over parallel connections."""

    def __init__(self, queue: DeliveryQueue, config: Config):
        self.queue = queue
        self.config = config
        self.outbox = not config.relay.host
        self.stopping = threading.Event()
        self._idle: queue_module.SimpleQueue = queue_module.SimpleQueue()
        self._relay_down: str | None = None

    @staticmethod
    def describe_config(config: Config) -> str:
        """Where outbound mail goes, for ``serve``'s start-up line and log."""
        if not config.relay.host:
            return f"no relay configured ([relay] host is empty); outbound mail is written to the Maildir {config.outbox_path}"
        relay = config.relay
        return f"outbound mail goes to the relay {relay.host}:{relay.port}" + (" with STARTTLS" if relay.starttls else "")

    def _transport(self):
        try:
            return self._idle.get_nowait()
        except queue_module.Empty:
            return OutboxTransport(self.config) if self.outbox else RelayTransport(self.config)

    def deliver_due(self) -> int:
        """Send everything due now; return the number of recipients attempted."""
        rows = self.queue.due()
        if not rows:
            return 0
        jobs = self._jobs(rows)
        self._relay_down = None
        workers = min(self.config.delivery.connections, len(jobs))
        try:
            if workers == 1:
                for job in jobs:
                    self._send(job)
            else:
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="akn-send") as pool:
                    for _ in pool.map(self._send, jobs):
                        pass
        finally:
            while True:
                try:
                    self._idle.get_nowait().close()
                except queue_module.Empty:
                    break
        return len(rows)

    def _jobs(self, rows: list[sqlite3.Row]) -> list[Job]:
        by_outbound: dict[int, list[tuple[int, str]]] = {}
        for row in rows:
            by_outbound.setdefault(row["outbound_id"], []).append((row["id"], row["recipient"]))
        jobs = []
        settings = self.config.delivery
        for outbound_id, recipients in by_outbound.items():
            outbound = self.queue.outbound(outbound_id)
            # Spread one message over the connections, at most batch_size per transaction.
            size = max(1, min(settings.batch_size, math.ceil(len(recipients) / settings.connections)))
            for start in range(0, len(recipients), size):
                jobs.append(Job(outbound_id, outbound["message_id"], outbound["sender"], bytes(outbound["body"]),
                                recipients[start:start + size]))
        return jobs

    def _send(self, job: Job) -> None:
        try:
            self._send_job(job)
        except Exception as error:  # a bug or an address smtplib cannot encode: retry later, go on
            log.exception("delivery job failed message_id=%s", logs.message_id_field(job.message_id))
            self._record(job, job.recipients, None, f"internal error: {type(error).__name__}: {error}")

    def _send_job(self, job: Job) -> None:
        if self.stopping.is_set():
            return  # not attempted: the rows stay due and go out on the next start
        if self._relay_down is not None:
            # One failed connect per round is enough: a relay that is down (or a black hole
            # that only times out) must not be asked once per batch.
            self._record(job, job.recipients, None, self._relay_down)
            return
        transport = self._transport()
        try:
            if not self.outbox and getattr(transport, "smtp", None) is None:
                transport.connect()
        except TransportError as error:
            self._relay_down = str(error)
            self._record(job, job.recipients, None, str(error))
            return
        try:
            for sender, recipients, options in self._transactions(job, transport):
                if self.stopping.is_set():
                    break
                addresses = [address for _, address in recipients]
                try:
                    replies = transport.transaction(sender, addresses, job.body, options)
                except TransportError as error:
                    self._record(job, recipients, None, str(error))
                    transport = None
                    # The rest of this job waits for the next round (backoff applies).
                    remaining = self._remaining(job, recipients)
                    if remaining:
                        self._record(job, remaining, None, str(error))
                    return
                results = [Result(delivery_id, address, code, text)
                           for (delivery_id, address), (code, text) in zip(recipients, replies)]
                # Record before the next transaction: a crash now resends nobody who got 250.
                self.queue.record(results)
                for result in results:
                    outcome = _outcome(result.code)
                    extra = {} if outcome == "sent" else {"reason": result.text}
                    logs.event(log, "delivery", message_id=job.message_id, queue_id=job.outbound_id,
                               recipient=result.recipient, sender=sender, status=outcome, code=result.code, **extra)
        finally:
            if transport is not None:
                self._idle.put(transport)

    def _remaining(self, job: Job, failed: list[tuple[int, str]]) -> list[tuple[int, str]]:
        # Rows of this job not yet recorded in this round are those after the failed batch.
        ids = [delivery_id for delivery_id, _ in job.recipients]
        last = ids.index(failed[-1][0])
        return job.recipients[last + 1:]

    def _record(self, job: Job, recipients: list[tuple[int, str]], code: int | None, text: str) -> None:
        self.queue.record([Result(delivery_id, address, code, text) for delivery_id, address in recipients])
        for _, address in recipients:
            logs.event(log, "delivery", message_id=job.message_id, queue_id=job.outbound_id, recipient=address,
                       status="deferred", reason=text)

    def _transactions(self, job: Job, transport):
        """The envelopes for a job: one batch, or one per recipient when we do VERP ourselves."""
        if job.sender is not None:
            yield job.sender, job.recipients, []
            return
        bounce = self.config.bounce_address
        mode = self.config.delivery.verp
        if mode == "off":
            yield bounce, job.recipients, []
        elif mode == "auto" and transport.xverp:
            yield bounce, job.recipients, ["XVERP"]
        else:
            for delivery_id, address in job.recipients:
                yield verp_address(bounce, address), [(delivery_id, address)], []


def _outcome(code: int | None) -> str:
    if code is not None and 200 <= code < 300:
        return "sent"
    if code is not None and 500 <= code < 600:
        return "failed"
    return "deferred"
