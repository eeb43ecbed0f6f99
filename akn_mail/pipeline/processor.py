"""Processing: take spooled messages, route them, run the pipeline, record the outcome.

One thread works through spool segments in order (so two copies of a Message-ID never
race). For each entry, by the route the ingress recorded:

- ``post`` (the list address): the pipeline (``akn_mail.pipeline.chain.run``); a hold
  stores the message in ``HeldStore`` and tells the moderators. A post a moderator approved
  comes back through the spool marked with its held id and resumes after the sender check.
- ``bounces``: ``akn_mail.delivery.bounces.handle_bounce``.
- ``request`` / ``owner``: ``akn_mail.notices.requests.handle_request``.

Nothing accepted with 250 stays in the spool for ever. Any error while parsing or
processing one entry is one of two kinds:

- *transient* (disk full, database locked, out of memory): the segment stays in the spool
  and is tried again after 30 s, then 60 s, … up to 15 minutes (``processing_deferred …
  transient=yes``);
- anything else is the mail's fault (a parser driven into recursion, a header nothing can
  decode, a bug it triggers): the entry is held with the German reason "konnte nicht
  verarbeitet werden: <error>", the moderators and admins are told once, and the log gets
  one line with the error type (``processing_failed … error=RecursionError``), never a
  traceback that repeats.

The outcome is committed to the ``received`` table before the spool entry is removed;
running an entry twice (after a crash) finds its row and only removes the file. Enqueueing
and holding are idempotent on the spool entry id, so a crash between them and the
``received`` row never queues or holds a message twice.
"""

from __future__ import annotations

import errno
import logging
import queue as queue_module
import sqlite3
import threading
from datetime import datetime, timezone
from email.utils import parseaddr
from types import SimpleNamespace

from akn_mail import db as db_module
from akn_mail import logs
from akn_mail import message as message_module
from akn_mail.automatic import automatic_reason
from akn_mail.delivery.bounces import handle_bounce
from akn_mail.edge.spool import Entry, Spool, SpoolError
from akn_mail.notices.answers import Incoming
from akn_mail.notices.requests import handle_request
from akn_mail.pipeline import chain as pipeline
from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services

log = logging.getLogger("akn_mail.processor")

RETRY_SECONDS = 30.0
MAX_RETRY_SECONDS = 900.0
# OS errors that say "the machine", not "the mail": retry instead of holding.
TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.ENOMEM, errno.EMFILE, errno.ENFILE,
                    errno.EROFS, errno.EBUSY}
FAILED_REASON = "konnte nicht verarbeitet werden"


def is_transient(error: BaseException) -> bool:
    """Disk full, database locked or busy, out of memory: worth trying again later."""
    if isinstance(error, MemoryError):
        return True
    if isinstance(error, sqlite3.OperationalError):
        text = str(error).lower()
        return any(word in text for word in ("locked", "busy", "disk", "full", "i/o", "unable to open"))
    if isinstance(error, OSError):
        return error.errno in TRANSIENT_ERRNOS
    return False


def failure_reason(error: BaseException) -> str:
    """The German reason a held mail shows when processing it failed (one line, short)."""
    detail = " ".join(str(error).split())[:200]
    return f"{FAILED_REASON}: {type(error).__name__}" + (f" ({detail})" if detail else "")


HANDLERS = {"bounces": handle_bounce, "request": handle_request, "owner": handle_request}


class Processor:
    """Works through spool entries in one thread; see the module docstring."""

    def __init__(self, services: Services, spool: Spool):
        self.services = services
        self.config = services.config
        self.db = services.db
        self.held = services.held
        self.spool = spool
        self.pending: set[str] = set()   # segment names handed over and not yet finished
        self.pending_lock = threading.Lock()
        self.attempts: dict[str, int] = {}  # segment -> failed rounds, for the back-off
        self.retry_seconds = RETRY_SECONDS
        self.inbox: queue_module.Queue = queue_module.Queue()
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.processed = 0

    # --- feeding -------------------------------------------------------------------
    def submit(self, name: str) -> bool:
        """Hand over the segment NAME once (thread-safe); False when it is in hand or gone already."""
        with self.pending_lock:
            if name in self.pending:
                return False
            self.pending.add(name)
        try:
            entries = self.spool.read(name)
        except FileNotFoundError:  # finished meanwhile
            self._finished(name)
            return False
        except SpoolError as error:
            log.error("%s", error)
            self._finished(name)
            return False
        except OSError as error:
            # Unreadable (written by another user, say): said once, and left in the spool
            # for an admin; it stays marked as in hand, so it is not tried every second.
            logs.event(log, "spool_unreadable", level=logging.ERROR, segment=name, error=type(error).__name__,
                       detail=str(error))
            return False
        self.inbox.put(entries)
        return True

    def _finished(self, name: str) -> None:
        with self.pending_lock:
            self.pending.discard(name)

    def recover(self) -> int:
        """Queue every segment in the spool nobody handed over (left by a crash, or written by
        another process such as ``akn-mail held approve``); return how many."""
        found = 0
        for name in self.spool.segments():
            if self.submit(name):
                log.info("taking over spool segment=%s", name)
                found += 1
        return found

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="akn-process", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the entry in hand; what is still queued stays in the spool for the next start."""
        self.stopping.set()
        self.inbox.put(None)
        if self.thread is not None:
            self.thread.join(timeout)

    def drain(self) -> None:
        """Process everything queued now, in this thread (tests and one-shot runs)."""
        while True:
            try:
                item = self.inbox.get_nowait()
            except queue_module.Empty:
                return
            if item is not None:
                self.process_segment(item)

    def _run(self) -> None:
        while not self.stopping.is_set():
            item = self.inbox.get()
            if item is None:
                return
            self.process_segment(item)

    # --- processing ----------------------------------------------------------------
    def process_segment(self, entries: list[Entry]) -> None:
        if not entries:
            return
        segment = entries[0].segment
        failures = []
        for entry in entries:
            if self.stopping.is_set():
                return  # the segment stays in the spool; the next start finishes it
            try:
                self.process(entry)
            except Exception as error:
                # Transient trouble, or even holding failed: keep the segment, try again later.
                failures.append((entry, error))
        if not failures:
            self.spool.remove(segment)
            self._finished(segment)
            self.attempts.pop(segment, None)
            return
        attempt = self.attempts[segment] = self.attempts.get(segment, 0) + 1
        delay = min(self.retry_seconds * 2 ** (attempt - 1), MAX_RETRY_SECONDS)
        for entry, error in failures:
            logs.event(log, "processing_deferred", level=logging.WARNING, spool_id=entry.id,
                       transient="yes" if is_transient(error) else "no", error=type(error).__name__,
                       detail=" ".join(str(error).split())[:200], attempt=attempt, retry_in=f"{delay:g}s")
        timer = threading.Timer(delay, self.inbox.put, (entries,))
        timer.daemon = True
        timer.start()

    def done(self, spool_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM received WHERE spool_id = ?", (spool_id,)).fetchone() is not None

    def process(self, entry: Entry) -> Decision:
        """Route and process one entry, record the outcome; idempotent on ``entry.id``."""
        if self.done(entry.id):
            return Decision.accept("already processed")
        post: Post | None = None
        failed: BaseException | None = None
        try:
            post = Post.read(
                entry.data, domain=self.config.list_domain, envelope_sender=entry.mail_from,
                recipients=entry.rcpt_tos, spool_id=entry.id, approved=entry.held_id is not None,
                # The time of the 250, not of processing: after an outage the archive date, the
                # membership check and the duplicate window still refer to when the mail arrived.
                now=datetime.fromtimestamp(entry.received_at, timezone.utc),
            )
            decision = self._dispatch(entry, post)
        except Exception as error:  # RecursionError included: hostile nesting the edge did not refuse
            if is_transient(error):
                raise  # the machine's trouble, not the mail's: process_segment retries with back-off
            failed = error
            decision = Decision.hold(failure_reason(error))
        facts = self._facts(entry, post)
        if failed is not None:
            logs.event(log, "processing_failed", level=logging.ERROR, message_id=facts["message_id"],
                       spool_id=entry.id, route=entry.route, transient="no", error=type(failed).__name__,
                       action="held")
        if decision.action == Decision.HOLD:
            # A second copy (an MTA retrying) or a re-run after a crash joins the waiting one,
            # and the moderators are not told twice.
            repeat = self.held.existing(key=entry.id, message_id=facts["message_id"], route=entry.route)
            held_id = self.held.hold(
                entry.data, reason=decision.reason, message_id=facts["message_id"], envelope_sender=entry.mail_from,
                from_address=facts["from_address"], subject=facts["subject"], route=entry.route, key=entry.id,
            )
            if repeat is None:
                self._tell_moderators(held_id, admins_too=failed is not None)
                if entry.route == "post" and failed is None and post is not None:
                    self._tell_author(held_id, entry, post, decision)
        if entry.held_id is not None:
            self.held.record_outcome(entry.held_id, str(decision))
        self._record(entry, facts, decision)
        self.processed += 1
        return decision

    def _dispatch(self, entry: Entry, post: Post) -> Decision:
        if entry.route == "post":
            # An approved post resumes at authenticate: its verdict is read and stored and foreign
            # Authentication-Results removed, but nothing holds it again (the moderator vouched for it).
            steps = pipeline.steps_from("authenticate") if post.approved else pipeline.STEPS
            return pipeline.run(post, self.services, steps)
        what = "bounce handling" if entry.route == "bounces" else f"mail to the -{entry.route} address"
        result = HANDLERS[entry.route](post, self.services)
        decision = result if isinstance(result, Decision) else Decision.accept(f"{what} handled")
        logs.event(log, "decision", message_id=post.message_id, step=entry.route, action=decision.action,
                   reason=decision.reason)
        return decision

    def _facts(self, entry: Entry, post: Post | None) -> dict[str, str]:
        """Message-ID, From and Subject for the records; read from the raw header when parsing failed."""
        if post is not None:
            return {"message_id": post.message_id, "from_address": post.from_address, "subject": post.subject}
        message_id = message_module.normalise_message_id(message_module.raw_header(entry.data, "Message-ID"))
        try:
            from_address = parseaddr(message_module.raw_header(entry.data, "From"))[1].lower()
        except Exception:  # parseaddr recurses into nested comments too
            from_address = ""
        return {
            "message_id": message_id or message_module.fallback_message_id(entry.data, self.config.list_domain),
            "from_address": from_address if "@" in from_address else "",
            "subject": message_module.raw_header(entry.data, "Subject")[:300],
        }

    def _tell_author(self, held_id: int, entry: Entry, post: Post, decision: Decision) -> None:
        """One notice to the author that the post waits for a moderator (template post_held).

        Only when the envelope sender equals From (a forged From gets nothing, even one of
        a contact's addresses), never for mail that is itself automatic (RFC 3834, bounces,
        other lists), and as an automatic answer through the AnswerGate (notices/answers.py):
        never to the list's own or a machine's address, at most three per address and hour.
        """
        if not post.from_address or (entry.mail_from or "").lower() != post.from_address.lower():
            return  # a forged From (also a contact's) must not make the list write to that address
        if automatic_reason(post.message, entry.mail_from, post.from_address, self.config.list_id):
            return
        held = SimpleNamespace(id=held_id, subject=post.subject, reason=decision.reason)
        try:
            self.services.notices.answer(
                "post_held", post.from_address, Incoming(envelope_sender=entry.mail_from or "",
                                                         from_address=post.from_address or ""),
                sender_alias="owner", in_reply_to=f"<{post.message_id}>" if post.message_id else None,
                key=f"post-held:{held_id}", held=held,
            )
        except Exception as error:  # noqa: BLE001 - the mail is safely held; a failed notice must not undo that
            logs.event(log, "author_notice_failed", level=logging.ERROR, held_id=held_id, error=type(error).__name__)

    def _tell_moderators(self, held_id: int, admins_too: bool = False) -> None:
        try:
            self.services.moderation.notify(held_id, admins_too=admins_too)
        except Exception as error:
            # The mail is safely held; a failed notice must not undo that.
            logs.event(log, "moderation_notice_failed", level=logging.ERROR, held_id=held_id,
                       error=type(error).__name__)

    def _record(self, entry: Entry, facts: dict[str, str], decision: Decision) -> None:
        received = datetime.fromtimestamp(entry.received_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with db_module.transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO received (spool_id, route, message_id, envelope_sender, recipients, from_address, "
                "subject, size, action, reason, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.id, entry.route, facts["message_id"], entry.mail_from, ",".join(entry.rcpt_tos),
                 facts["from_address"], facts["subject"], len(entry.data), decision.action, decision.reason, received),
            )
