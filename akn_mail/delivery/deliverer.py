"""Deliverer: sends due queue rows through the relay (or into the outbox Maildir).

Takes the rows ``DeliveryQueue`` hands out, sends them in transactions of up to
``[delivery] batch_size`` recipients over ``[delivery] connections`` parallel connections,
and records the outcome of every transaction before the next one on that connection starts,
so a recipient the relay answered 250 is never sent the message again. With no relay
(``[relay] host`` empty) each transaction becomes one file in ``<data_dir>/outbox``.
Settings: [relay], [delivery].
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import queue as queue_module
import re
import sqlite3
import smtplib
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

from akn_mail import logs
from akn_mail.config import Config
from akn_mail.delivery import verp
from akn_mail.delivery.queue import DeliveryQueue, Job, Result
from akn_mail.files import DurableMaildir

log = logging.getLogger("akn_mail.delivery")


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
                refusal = relay.unencrypted_auth()
                if refusal is not None:  # serve refuses to start; this guards every other caller
                    smtp.close()
                    raise TransportError(refusal)
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
    """No relay: each delivery (one recipient) becomes one file in the outbox Maildir, durably.

    The file name comes from the delivery's id and a hash of what is written
    (``akn-<outbound>-<delivery>-<hash>``), and a name already in the Maildir is not written
    again: a kill -9 after the file is written and before the queue records "sent" makes
    the next start find the file instead of writing a second copy. So every recipient's
    file is there exactly once, whatever the batch size or the moment of the kill.
    """

    xverp = False

    def __init__(self, config: Config):
        self.maildir = DurableMaildir(config.outbox_path)

    def connect(self) -> None:
        pass

    def close(self) -> None:
        pass

    def transaction(self, sender: str, recipients: list[str], body: bytes, options: list[str],
                    delivery_ids: list[int] | None = None) -> list[tuple[int | None, str]]:
        replies = []
        body = body.replace(b"\r\n", b"\n")
        for position, recipient in enumerate(recipients):
            header = f"Return-Path: <{sender}>\nX-Original-To: {recipient}\n".encode("utf-8")
            data = header + body
            delivery = delivery_ids[position] if delivery_ids else 0
            name = f"akn-{delivery}-{hashlib.sha256(data).hexdigest()[:16]}"
            try:
                # Durable before the 250 below is recorded as sent (also the rename: see files.py).
                wrote = self.maildir.add_once(name, data)
            except OSError as error:
                raise TransportError(f"cannot write to outbox {self.maildir.path}: {error}") from None
            replies.append((250, f"2.0.0 {'written to' if wrote else 'already in'} outbox as {name}"))
        return replies


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
                    if self.outbox:  # the outbox names each file after its delivery (idempotent)
                        replies = transport.transaction(sender, addresses, job.body, options,
                                                        delivery_ids=[delivery_id for delivery_id, _ in recipients])
                    else:
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
            # The relay appends +rcpt=domain itself; our part carries the signed outbound id.
            yield verp.xverp_sender(self.verp_key, bounce, job.outbound_id), job.recipients, ["XVERP"]
        else:
            for delivery_id, address in job.recipients:
                yield verp.recipient_address(self.verp_key, bounce, address), [(delivery_id, address)], []

    @functools.cached_property
    def verp_key(self) -> bytes:
        return verp.load_key(self.config)


def _outcome(code: int | None) -> str:
    if code is not None and 200 <= code < 300:
        return "sent"
    if code is not None and 500 <= code < 600:
        return "failed"
    return "deferred"
