"""Processing: take spooled messages, route them, run the pipeline, record the outcome.

One thread works through spool segments in order (so two copies of a Message-ID never
race). For each entry, by the route the ingress recorded:

- ``post`` (the list address): the pipeline (``akn_mail.pipeline.run``); a hold stores the
  message in ``HeldStore`` and tells the moderators.
- ``bounces``: ``akn_mail.bounces.handle_bounce``.
- ``request`` / ``owner``: ``akn_mail.requests.handle_request``.
A handler that fails never loses the mail: it is held for an admin.

The outcome is committed to the ``received`` table before the spool entry is removed;
running an entry twice (after a crash) finds its row and only removes the file. Enqueueing
and holding are idempotent on the spool entry id, so a crash between them and the
``received`` row never queues or holds a message twice.
"""

from __future__ import annotations

import logging
import queue as queue_module
import sqlite3
import threading
from datetime import datetime, timezone
from typing import Any

from akn_mail import db as db_module
from akn_mail import logs
from akn_mail import message as message_module
from akn_mail.pipeline import chain as pipeline
from akn_mail.config import Config
from akn_mail.pipeline.context import Context, Decision
from akn_mail.delivery.queue import DeliveryQueue
from akn_mail.notices.held import HeldStore
from akn_mail.roster.members import Roster
from akn_mail.edge.spool import Entry, Spool, SpoolError

log = logging.getLogger("akn_mail.processor")

RETRY_SECONDS = 30.0


def _route_handler(route: str):
    """The handler of mail to the -bounces address, or to -request / -owner."""
    if route == "bounces":
        from akn_mail.delivery.bounces import handle_bounce

        return handle_bounce
    from akn_mail.notices.requests import handle_request

    return handle_request


class Processor:
    """Works through spool entries in one thread; see the module docstring."""

    def __init__(self, config: Config, spool: Spool, *, db: sqlite3.Connection | None = None,
                 wakeup: threading.Event | None = None, resolver: Any = None):
        self.config = config
        self.spool = spool
        self.db = db if db is not None else db_module.connect(config.database_path)
        self.roster = Roster(self.db)
        self.queue = DeliveryQueue(self.db, config, wakeup)
        self.held = HeldStore(self.db, config)
        self.resolver = resolver
        self.inbox: queue_module.Queue = queue_module.Queue()
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.processed = 0

    # --- feeding -------------------------------------------------------------------
    def submit(self, entries: list[Entry]) -> None:
        """Hand over a whole segment (thread-safe; called when the spool has written it)."""
        self.inbox.put(entries)

    def recover(self) -> int:
        """Queue every segment left in the spool (after a crash or kill -9); return how many."""
        names = self.spool.segments()
        for name in names:
            try:
                entries = self.spool.read(name)
            except FileNotFoundError:  # finished meanwhile
                continue
            except SpoolError as error:
                log.error("%s", error)
                continue
            log.info("recovering spool segment=%s entries=%d", name, len(entries))
            self.inbox.put(entries)
        return len(names)

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
        parsed = message_module.parse(entry.data)
        ctx = Context(
            config=self.config, db=self.db, raw=entry.data, roster=self.roster, queue=self.queue,
            envelope_sender=entry.mail_from, recipients=entry.rcpt_tos, spool_id=entry.id,
            # A message without a Message-ID gets one derived from its bytes, the same in
            # the archive, in every distributed copy and in a re-run after a crash.
            message_id=parsed.message_id or message_module.fallback_message_id(entry.data, self.config.list_domain),
            subject=parsed.subject, from_address=parsed.from_address,
            from_name=parsed.from_name, defects=parsed.defects, resolver=self.resolver,
            # The time of the 250, not of processing: after an outage the archive date, the
            # membership check and the duplicate window still refer to when the mail arrived.
            now=datetime.fromtimestamp(entry.received_at, timezone.utc),
        )
        try:
            decision = self._dispatch(entry, parsed, ctx)
        except Exception as error:
            log.exception("pipeline failed spool_id=%s message_id=%s", entry.id, logs.message_id_field(ctx.message_id))
            decision = Decision.hold(f"internal error while processing ({type(error).__name__}: {error})")
        if decision.action == Decision.HOLD:
            # A second copy (an MTA retrying) or a re-run after a crash joins the waiting one,
            # and the moderators are not told twice.
            repeat = self.held.existing(key=entry.id, message_id=ctx.message_id, route=entry.route)
            held_id = self.held.hold(
                entry.data, reason=decision.reason, message_id=ctx.message_id, envelope_sender=entry.mail_from,
                from_address=ctx.from_address, subject=ctx.subject, route=entry.route, key=entry.id,
            )
            if repeat is None:
                self._tell_moderators(held_id, ctx, decision)
        self._record(entry, ctx, decision)
        self.processed += 1
        return decision

    def _dispatch(self, entry: Entry, parsed: message_module.Parsed, ctx: Context) -> Decision:
        if entry.route == "post":
            return pipeline.run(parsed.message, ctx)
        what = "bounce handling" if entry.route == "bounces" else f"mail to the -{entry.route} address"
        result = _route_handler(entry.route)(entry.data, ctx)
        decision = result if isinstance(result, Decision) else Decision.accept(f"{what} handled")
        logs.event(log, "decision", message_id=ctx.message_id, step=entry.route, action=decision.action,
                   reason=decision.reason)
        return decision

    def _tell_moderators(self, held_id: int, ctx: Context, decision: Decision) -> None:
        try:
            from akn_mail.notices.notices import notify_moderators

            notify_moderators(held_id, ctx, decision)
        except Exception:
            # The mail is safely held; a failed notice must not undo that.
            log.exception("telling the moderators failed held_id=%s", held_id)

    def _record(self, entry: Entry, ctx: Context, decision: Decision) -> None:
        received = datetime.fromtimestamp(entry.received_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with db_module.transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO received (spool_id, route, message_id, envelope_sender, recipients, from_address, "
                "subject, size, action, reason, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.id, entry.route, ctx.message_id, entry.mail_from, ",".join(entry.rcpt_tos), ctx.from_address,
                 ctx.subject, len(entry.data), decision.action, decision.reason, received),
            )


def approve_held(db: sqlite3.Connection, config: Config, row: sqlite3.Row, raw: bytes, *, roster: Any,
                 queue: DeliveryQueue, resolver: Any = None) -> str:
    """Run what follows the sender check for an approved held message; say what happened."""
    parsed = message_module.parse(raw)
    ctx = Context(
        config=config, db=db, raw=raw, roster=roster, queue=queue, envelope_sender=row["envelope_sender"],
        recipients=[config.list.address], spool_id=f"held:{row['id']}", message_id=parsed.message_id,
        subject=parsed.subject, from_address=parsed.from_address, from_name=parsed.from_name,
        defects=parsed.defects, resolver=resolver, approved=True,
    )
    if row["route"] != "post":
        result = _route_handler(row["route"])(raw, ctx)
        return str(result) if isinstance(result, Decision) else "handled"
    decision = pipeline.run(parsed.message, ctx, pipeline.steps_after("check_sender"))
    if decision.action == Decision.ACCEPT:
        count = db.execute("SELECT count(*) FROM deliveries WHERE outbound_id = ?", (ctx.outbound_id,)).fetchone()[0]
        return f"distributed to {count} recipients (queue id {ctx.outbound_id})"
    return str(decision)
