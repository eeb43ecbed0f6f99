"""Processing: take spooled messages, route them, run the pipeline, record the outcome.

One thread works through spool segments in order (so two copies of a Message-ID never
race). For each entry, by the route the ingress recorded:

- ``post`` (the list address): the pipeline (``akn_mail.pipeline.chain.run``); a hold
  stores the message in ``HeldStore`` and tells the moderators. A post a moderator approved
  comes back through the spool marked with its held id and resumes after the sender check.
- ``bounces``: ``akn_mail.delivery.bounces.handle_bounce``.
- ``request`` / ``owner``: ``akn_mail.notices.requests.handle_request``.
A handler that fails never loses the mail: it is held for an admin.

The outcome is committed to the ``received`` table before the spool entry is removed;
running an entry twice (after a crash) finds its row and only removes the file. Enqueueing
and holding are idempotent on the spool entry id, so a crash between them and the
``received`` row never queues or holds a message twice.
"""

from __future__ import annotations

import logging
import queue as queue_module
import threading
from datetime import datetime, timezone

from akn_mail import db as db_module
from akn_mail import logs
from akn_mail.delivery.bounces import handle_bounce
from akn_mail.edge.spool import Entry, Spool, SpoolError
from akn_mail.notices.requests import handle_request
from akn_mail.pipeline import chain as pipeline
from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services

log = logging.getLogger("akn_mail.processor")

RETRY_SECONDS = 30.0


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
        complete = True
        for entry in entries:
            if self.stopping.is_set():
                return  # the segment stays in the spool; the next start finishes it
            try:
                self.process(entry)
            except Exception:
                # Even holding failed (database or disk trouble): keep the segment, try later.
                log.exception("processing failed spool_id=%s; retrying in %.0f s", entry.id, RETRY_SECONDS)
                complete = False
        if complete and entries:
            self.spool.remove(entries[0].segment)
            self._finished(entries[0].segment)
        elif entries:
            timer = threading.Timer(RETRY_SECONDS, self.inbox.put, (entries,))
            timer.daemon = True
            timer.start()

    def done(self, spool_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM received WHERE spool_id = ?", (spool_id,)).fetchone() is not None

    def process(self, entry: Entry) -> Decision:
        """Route and process one entry, record the outcome; idempotent on ``entry.id``."""
        if self.done(entry.id):
            return Decision.accept("already processed")
        post = Post.read(
            entry.data, domain=self.config.list_domain, envelope_sender=entry.mail_from, recipients=entry.rcpt_tos,
            spool_id=entry.id, approved=entry.held_id is not None,
            # The time of the 250, not of processing: after an outage the archive date, the
            # membership check and the duplicate window still refer to when the mail arrived.
            now=datetime.fromtimestamp(entry.received_at, timezone.utc),
        )
        try:
            decision = self._dispatch(entry, post)
        except Exception as error:
            log.exception("pipeline failed spool_id=%s message_id=%s", entry.id, logs.message_id_field(post.message_id))
            decision = Decision.hold(f"internal error while processing ({type(error).__name__}: {error})")
        if decision.action == Decision.HOLD:
            # A second copy (an MTA retrying) or a re-run after a crash joins the waiting one,
            # and the moderators are not told twice.
            repeat = self.held.existing(key=entry.id, message_id=post.message_id, route=entry.route)
            held_id = self.held.hold(
                entry.data, reason=decision.reason, message_id=post.message_id, envelope_sender=entry.mail_from,
                from_address=post.from_address, subject=post.subject, route=entry.route, key=entry.id,
            )
            if repeat is None:
                self._tell_moderators(held_id)
        if entry.held_id is not None:
            self.held.record_outcome(entry.held_id, str(decision))
        self._record(entry, post, decision)
        self.processed += 1
        return decision

    def _dispatch(self, entry: Entry, post: Post) -> Decision:
        if entry.route == "post":
            # An approved post resumes after the sender check (the moderator vouched for it).
            steps = pipeline.steps_after("check_sender") if post.approved else pipeline.STEPS
            return pipeline.run(post, self.services, steps)
        what = "bounce handling" if entry.route == "bounces" else f"mail to the -{entry.route} address"
        result = HANDLERS[entry.route](post, self.services)
        decision = result if isinstance(result, Decision) else Decision.accept(f"{what} handled")
        logs.event(log, "decision", message_id=post.message_id, step=entry.route, action=decision.action,
                   reason=decision.reason)
        return decision

    def _tell_moderators(self, held_id: int) -> None:
        try:
            self.services.moderation.notify(held_id)
        except Exception as error:
            # The mail is safely held; a failed notice must not undo that.
            logs.event(log, "moderation_notice_failed", level=logging.ERROR, held_id=held_id,
                       error=type(error).__name__)

    def _record(self, entry: Entry, post: Post, decision: Decision) -> None:
        received = datetime.fromtimestamp(entry.received_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with db_module.transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO received (spool_id, route, message_id, envelope_sender, recipients, from_address, "
                "subject, size, action, reason, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.id, entry.route, post.message_id, entry.mail_from, ",".join(entry.rcpt_tos), post.from_address,
                 post.subject, len(entry.data), decision.action, decision.reason, received),
            )
