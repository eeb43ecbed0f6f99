"""Indexing posts in the background of the server, right after they are filed.

Filing a post (Maildir + SQLite) takes milliseconds; adding it to the Whoosh index and
committing takes longer and, every dozen commits, a merge of small segments takes
hundreds of milliseconds. So the pipeline's archive step files the post, marks it
unindexed and wakes this thread, which indexes every unindexed post in one batch with its
own database connection. Searches see a post well within a second of its arrival. Minutes
are read for results (decisions, tasks) here, once their attachments' text is known, and
their receipt to the sender, which lists those results, is queued right after. A busy
index (a running ``archive reindex``) is retried; posts left unindexed at a shutdown are
indexed when the next server starts (or by ``archive reindex``).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

log = logging.getLogger("akn_mail.archive")

# Wait this long after a wake-up so that posts arriving together are indexed together.
BATCH_DELAY = 0.1
RETRY_SECONDS = 5.0

_indexers: dict[Path, "BackgroundIndexer"] = {}
_indexers_lock = threading.Lock()


class BackgroundIndexer:
    """One thread per process and index directory."""

    def __init__(self, config, wakeup: threading.Event | None = None):
        self.config = config
        self.wakeup = wakeup  # the delivery worker's wake-up event: a queued receipt goes out at once
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.thread = threading.Thread(target=self._run, name="akn-archive-indexer", daemon=True)
        self.wake.set()  # catch up with posts left unindexed by an earlier run
        self.thread.start()

    @classmethod
    def for_config(cls, config, wakeup: threading.Event | None = None) -> "BackgroundIndexer":
        key = Path(config.index_dir).resolve()
        with _indexers_lock:
            indexer = _indexers.get(key)
            if indexer is None or not indexer.thread.is_alive():
                indexer = _indexers[key] = cls(config, wakeup)
            elif wakeup is not None:
                indexer.wakeup = wakeup
            return indexer

    def notify(self) -> None:
        self.idle.clear()
        self.wake.set()

    def flush(self, timeout: float = 60.0) -> bool:
        """Wait until every post filed before this call is indexed (tests, shutdown)."""
        self.notify()
        return self.idle.wait(timeout)

    def _receipt(self, connection, archived_id: int, archive) -> None:
        """The minutes receipt to the sender, then the minutes to the members' read-only
        recipients (a failure is logged: it never stops indexing)."""
        from akn_mail.notices.informing import minutes_to_recipients
        from akn_mail.services import Services

        try:
            notices = Services(self.config, connection, wakeup=self.wakeup).notices
            notices.minutes_receipt(archived_id)
        except Exception:
            log.exception("minutes receipt failed archived=%s", archived_id)
            return
        try:
            files, body = archive.minutes_files(archived_id)
            minutes_to_recipients(notices, archived_id, files, body if not files else "")
        except Exception:
            log.exception("minutes not sent to recipients archived=%s", archived_id)

    def _run(self) -> None:
        from akn_mail import db as db_module
        from akn_mail.archive.filing import Archive

        while True:
            self.wake.wait()
            time.sleep(BATCH_DELAY)
            self.wake.clear()
            if not Path(self.config.database_path).exists():
                self.idle.set()
                continue  # nothing filed yet (or the data directory is gone)
            try:
                connection = db_module.connect(self.config.database_path)
                try:
                    archive = Archive(self.config, connection)
                    done = archive.index_pending(timeout=30.0)
                    # The minutes receipt waits for the text of the attachments: it lists the
                    # decisions and tasks read from them (queued once per minutes, by key).
                    for archived_id in archive.minutes_indexed:
                        self._receipt(connection, archived_id, archive)
                    pending = connection.execute("SELECT count(*) FROM archived_messages WHERE indexed = 0").fetchone()[0]
                finally:
                    connection.close()
            except Exception:
                log.exception("background indexing failed; retrying in %s s", RETRY_SECONDS)
                done, pending = False, 1
            if not done:
                time.sleep(RETRY_SECONDS)
                self.wake.set()
            elif pending:
                self.wake.set()
            elif not self.wake.is_set():
                self.idle.set()
