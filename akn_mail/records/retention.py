"""Retention: how long the records of the list's work are kept, and removing what is older.

Five kinds of record have a lifetime in days (``[retention]``, 0 keeps them for ever):

- ``delivered_bodies_days``: the copy of a sent mail in the delivery queue (``outbound.body``),
  once no recipient waits for it. The copy is emptied; the row stays for the delivery log.
- ``delivery_log_days``: the deliveries that are done (sent, failed, expired; with their
  refusals), the queue rows left without deliveries, and the record of processed mail
  (``received``).
- ``held_decided_days``: held mail a moderator decided on: row, token and file.
- ``bounce_events_days``: bounce events (at least ``[bounces] decay_days``, which scoring reads).
- ``done_tasks_days``: admin tasks marked done.

The archive (Maildir, ``archived_messages``, index) is never touched here: minutes are the
records of a public body. ``enforce`` runs in the serve worker once at start and then daily
(``RetentionWorker``); each run logs one ``retention`` line per kind with what it removed.
``kept`` tells ``akn-mail doctor`` what is kept and how much space it takes.
"""

from __future__ import annotations

import datetime
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from akn_mail import db as db_module
from akn_mail import logs
from akn_mail.config import Config
from akn_mail.files import fsync_directory

log = logging.getLogger("akn_mail.records")

DAY = 86400.0
INTERVAL = DAY
# doctor warns only when records are this much older than their lifetime (the daily run may
# simply not have come round yet).
GRACE_DAYS = 2


def _stamp(moment: float) -> str:
    """The TEXT timestamps of the schema: '2026-11-30T12:00:00Z'."""
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Rule:
    """One kind of record: its setting, how to count, size and remove what is older than a cutoff.

    SQL takes ``:cutoff`` (TEXT timestamp) and ``:cutoff_epoch`` (Unix time).
    """

    setting: str
    description: str
    count: str        # SELECT count(*), total bytes of every kept record
    expired: str      # SELECT count(*) of the records older than the cutoff
    remove: tuple[str, ...]


FINAL = "('sent', 'failed', 'expired')"
RULES: tuple[Rule, ...] = (
    Rule(
        "delivered_bodies_days", "copies of sent mail",
        "SELECT count(*), coalesce(sum(length(body)), 0) FROM outbound WHERE length(body) > 0",
        f"""SELECT count(*) FROM outbound WHERE length(body) > 0 AND created_at < :cutoff
              AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbound_id = outbound.id AND d.status NOT IN {FINAL})""",
        (f"""UPDATE outbound SET body = X'' WHERE length(body) > 0 AND created_at < :cutoff
              AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbound_id = outbound.id AND d.status NOT IN {FINAL})""",),
    ),
    Rule(
        "delivery_log_days", "delivery log entries",
        """SELECT (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM received),
                  (SELECT coalesce(sum(length(recipient) + length(last_error) + 48), 0) FROM deliveries)
                  + (SELECT coalesce(sum(length(subject) + length(from_address) + length(recipients) + 64), 0) FROM received)""",
        f"""SELECT (SELECT count(*) FROM deliveries WHERE status IN {FINAL} AND updated_at < :cutoff_epoch)
                  + (SELECT count(*) FROM received WHERE processed_at < :cutoff)""",
        (
            f"DELETE FROM deliveries WHERE status IN {FINAL} AND updated_at < :cutoff_epoch",
            """DELETE FROM outbound WHERE created_at < :cutoff
                 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbound_id = outbound.id)""",
            "DELETE FROM received WHERE processed_at < :cutoff",
        ),
    ),
    Rule(
        "held_decided_days", "decided held mail",
        "SELECT count(*), 0 FROM held WHERE status != 'held'",
        "SELECT count(*) FROM held WHERE status != 'held' AND decided_at < :cutoff",
        (
            """DELETE FROM moderation_tokens WHERE held_id IN
                 (SELECT id FROM held WHERE status != 'held' AND decided_at < :cutoff)""",
            "DELETE FROM held WHERE status != 'held' AND decided_at < :cutoff",
        ),
    ),
    Rule(
        "bounce_events_days", "bounce events",
        "SELECT count(*), coalesce(sum(length(diagnostic) + length(coalesce(email, '')) + 64), 0) FROM bounce_events",
        "SELECT count(*) FROM bounce_events WHERE received_at < :cutoff",
        ("DELETE FROM bounce_events WHERE received_at < :cutoff",),
    ),
    Rule(
        "done_tasks_days", "done admin tasks",
        "SELECT count(*), coalesce(sum(length(requester) + length(subject) + 64), 0) FROM admin_tasks WHERE done_at IS NOT NULL",
        "SELECT count(*) FROM admin_tasks WHERE done_at IS NOT NULL AND done_at < :cutoff",
        ("DELETE FROM admin_tasks WHERE done_at IS NOT NULL AND done_at < :cutoff",),
    ),
)


def _cutoff(days: int, now: float) -> dict[str, object]:
    moment = now - days * DAY
    return {"cutoff": _stamp(moment), "cutoff_epoch": moment}


def _held_files(db: sqlite3.Connection, cutoff: dict) -> list[str]:
    return [row[0] for row in db.execute(
        "SELECT path FROM held WHERE status != 'held' AND decided_at < :cutoff", cutoff)]


def enforce(config: Config, db: sqlite3.Connection, now: float | None = None) -> dict[str, int]:
    """Remove what is older than its lifetime; return how many records per setting."""
    now = time.time() if now is None else now
    removed: dict[str, int] = {}
    held_dir = Path(config.data_dir) / "held"
    for rule in RULES:
        days = getattr(config.retention, rule.setting)
        if days <= 0:
            continue
        cutoff = _cutoff(days, now)
        with db_module.transaction(db):
            count = db.execute(rule.expired, cutoff).fetchone()[0]
            files = _held_files(db, cutoff) if rule.setting == "held_decided_days" else []
            for statement in rule.remove:
                db.execute(statement, cutoff)
        for name in files:  # after the rows are gone: a crash leaves a file, never a row without one
            path = held_dir / name
            if path.resolve().parent == held_dir.resolve():
                path.unlink(missing_ok=True)
        if files:
            fsync_directory(held_dir)
        removed[rule.setting] = count
        if count:
            logs.event(log, "retention", kind=rule.setting.removesuffix("_days"), removed=count, lifetime_days=days,
                       older_than=cutoff["cutoff"])
    return removed


@dataclass
class Kept:
    """One line of ``doctor``: what is kept of a kind, its size, and how much is overdue."""

    setting: str
    description: str
    lifetime_days: int
    count: int
    size: int
    overdue: int


def kept(config: Config, db: sqlite3.Connection, now: float | None = None) -> list[Kept]:
    now = time.time() if now is None else now
    out = []
    held_dir = Path(config.data_dir) / "held"
    for rule in RULES:
        days = getattr(config.retention, rule.setting)
        count, size = db.execute(rule.count).fetchone()
        if rule.setting == "held_decided_days":
            size = sum(_size(held_dir / row[0]) for row in db.execute("SELECT path FROM held WHERE status != 'held'"))
        overdue = db.execute(rule.expired, _cutoff(days + GRACE_DAYS, now)).fetchone()[0] if days > 0 else 0
        out.append(Kept(rule.setting, rule.description, days, count, size, overdue))
    return out


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def human_size(size: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size} bytes"  # pragma: no cover


class RetentionWorker:
    """A thread of the serve worker: ``enforce`` at start, then every day."""

    def __init__(self, config: Config, interval: float = INTERVAL):
        self.config = config
        self.interval = interval
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="akn-retention", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        connection = db_module.connect(self.config.database_path)
        try:
            while not self.stopping.is_set():
                try:
                    enforce(self.config, connection)
                except Exception:
                    log.exception("retention run failed; trying again in %.0f s", self.interval)
                self.stopping.wait(self.interval)
        finally:
            connection.close()
