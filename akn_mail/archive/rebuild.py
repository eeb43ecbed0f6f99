"""Rebuilding the search index from the Maildir on every core (``archive reindex``).

Reading a stored message (MIME parse, attachment text) and turning its text into index
terms are both pure Python and take a few milliseconds each, so one process indexes about
200 posts a second. The rebuild spreads both over the machine's cores:

  readers   a pool of worker processes reads each message from the Maildir, parses its
            MIME structure and extracts its attachments' text (each in its own sandbox,
            as when filing); they send back the text, not the bytes
  this      process looks up each message's metadata in SQLite (the one connection),
            records the extraction outcomes and builds the index document
  writers   Whoosh's multiprocessing writer: sub-writers analyse the documents, each into
            a large segment of its own, committed together as one new index

Messages whose metadata is missing (a Maildir copied in by hand, a crash between the
Maildir write and the SQLite commit) are read and filed here, in order, as before.
Documents are added in Maildir order; the rebuild is all or nothing (the new index is
swapped in only when every message is in it).
"""

from __future__ import annotations

import email
import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from email import policy
from pathlib import Path
from typing import Callable

from akn_mail.archive.extract import MESSAGE_BUDGET_FACTOR, Extraction, Limits, extract
from akn_mail.archive.index import ArchiveIndex
from akn_mail.archive.mime import ParsedMail, read
from akn_mail.archive.store import ArchiveError, Maildir
from akn_mail.message import Parsed

# Messages handed to a reader at once, and how many such batches may wait for this
# process (bounds memory: the text of at most this many batches per reader is held).
BATCH = 32
IN_FLIGHT_PER_READER = 4
# Below this many messages the processes cost more than they save.
PARALLEL_FROM = 200
# Postings a writer keeps in memory before it sorts them into a run on disk (merged again at
# the end: at 100,000 posts that costs a fifth of the rebuild). Enough for its share of the
# messages (Whoosh's estimate per message; Python's real use is about twice that), within
# an eighth of the machine's memory for all writers together, and at least the minimum.
ESTIMATE_KB_PER_MESSAGE = 16
MEMORY_SHARE = 8
MIN_WRITER_MEMORY_MB = 128


def workers_for(count: int, workers: int | None = None) -> int:
    """How many reader and writer processes: one per core, none for a small archive."""
    if workers is not None:
        return max(0, workers)
    if count < PARALLEL_FROM:
        return 0
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def read_stored(raw: bytes) -> ParsedMail:
    """The body, headings and attachments of a message whose header facts are already in
    SQLite: the same ``mime.read`` as filing, without reading From/Subject/Message-ID again."""
    return read(raw, parsed=Parsed(email.message_from_bytes(raw, policy=policy.SMTP)))


def extract_attachments(parsed: ParsedMail, limits: Limits) -> list[Extraction]:
    """Each attachment's text, within one message's time budget (as ``Archive.extract_all``)."""
    deadline = time.monotonic() + limits.timeout * MESSAGE_BUDGET_FACTOR
    return [
        extract(part.data, part.content_type, part.original_name or part.filename, limits, part.charset, deadline)
        for part in parsed.attachments
    ]


def slim(parsed: ParsedMail) -> ParsedMail:
    """What the index document needs, without the bytes (sent back between processes)."""
    parsed.message = None
    for part in parsed.attachments:
        part.data = b""
    return parsed


def _read_batch(maildir_path: str, keys: list[str], limits: Limits) -> list[tuple[ParsedMail, list[Extraction]] | str]:
    """A reader's job: each message read and its attachments extracted; an error as text."""
    maildir = Maildir(Path(maildir_path))
    results = []
    for key in keys:
        try:
            parsed = read_stored(maildir.get(key))
            extractions = extract_attachments(parsed, limits)
            results.append((slim(parsed), extractions))
        except Exception as error:  # noqa: BLE001 - reported for this message, the rebuild stops
            results.append(f"{type(error).__name__}: {error}")
    return results


def _context():
    """Readers start from the forkserver (as the extraction sandbox does), not by forking
    this process: a forked reader would inherit this process's extraction worker and could
    not use it."""
    try:
        return multiprocessing.get_context("forkserver")
    except ValueError:  # platforms without forkserver
        return multiprocessing.get_context("spawn")


class Readers:
    """Messages read in order, by a pool of processes (or here, with ``workers=0``)."""

    def __init__(self, maildir_path: Path, limits: Limits, workers: int):
        self.maildir_path = str(maildir_path)
        self.limits = limits
        self.workers = workers
        self.pool = ProcessPoolExecutor(workers, mp_context=_context()) if workers else None

    def read(self, keys: list[str]):
        """(key, (parsed, extractions) or an error text) for each key, in order."""
        if self.pool is None:
            for key in keys:
                yield key, _read_batch(self.maildir_path, [key], self.limits)[0]
            return
        batches = (keys[start:start + BATCH] for start in range(0, len(keys), BATCH))
        waiting: deque = deque()
        for batch in batches:
            waiting.append((batch, self.pool.submit(_read_batch, self.maildir_path, batch, self.limits)))
            if len(waiting) >= self.workers * IN_FLIGHT_PER_READER:
                yield from self._collect(waiting.popleft())
        while waiting:
            yield from self._collect(waiting.popleft())

    @staticmethod
    def _collect(item):
        batch, future = item
        yield from zip(batch, future.result())

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def rebuild(archive, fresh: ArchiveIndex, progress: Callable[[int], None] | None = None,
            workers: int | None = None) -> int:
    """Write every message of the Maildir into the empty index ``fresh``; the count written.

    ``archive`` is a ``filing.Archive`` (its SQLite connection, Maildir and limits); the
    caller swaps the fresh directory in. With workers, one writer still writes: Whoosh's
    multiprocessing writer, whose sub-writers each leave one large segment (no merge at
    the end: merging would cost as much again)."""
    keys = archive.maildir.keys()
    workers = workers_for(len(keys), workers)
    stored_by_key = {key: stored for key in keys if (stored := archive.meta.by_maildir_key(key)) is not None}
    count = 0
    readers = None
    try:
        # The writer's processes start first: Whoosh forks them, and the readers' pool
        # runs threads in this process.
        with fresh.writer(bulk=True, procs=workers, memory_mb=writer_memory(workers, len(keys))) as writer:
            readers = Readers(archive.maildir.path, archive.limits, workers)
            results = readers.read(list(stored_by_key))
            pending = next(results, None)
            for key in keys:
                if pending is not None and pending[0] == key:
                    _, outcome = pending
                    pending = next(results, None)
                    if isinstance(outcome, str):
                        raise RebuildError(f"message {key} in {archive.maildir.path} could not be read ({outcome}); "
                                           "the old index is kept; move the file out of the Maildir or restore it "
                                           "from a backup, then run: akn-mail archive reindex")
                    parsed, extractions = outcome
                    stored = stored_by_key[key]
                    archive.record_extractions(stored.id, extractions)
                else:
                    stored, parsed, extractions = archive.file_found(key)
                if stored is not None:
                    writer.add_document(**archive.document(stored, parsed, extractions))
                    count += 1
                if progress:
                    progress(1)
    except BrokenProcessPool as error:
        raise RebuildError(f"a process reading the Maildir stopped ({error}); the old index is kept; "
                           "run akn-mail archive reindex again (--workers 0 reads in this process)") from None
    finally:
        if readers is not None:
            readers.close()
    # Whoosh commits without the segment of a sub-writer that died (killed for memory, say):
    # a short index must not replace the old one.
    written = fresh.open(create=False).doc_count_all()
    if written != count:
        raise RebuildError(f"the rebuilt index holds {written} of {count} messages (a writing process stopped); "
                           "the old index is kept; run akn-mail archive reindex again (--workers 0 writes in this process)")
    return count


def writer_memory(workers: int, messages: int) -> int:
    """MB of postings each writer holds before sorting them to disk (see ESTIMATE_KB_PER_MESSAGE)."""
    writers = max(1, workers)
    needed = messages / writers * ESTIMATE_KB_PER_MESSAGE / 1024
    try:
        machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):  # no such figure here: the minimum
        machine = 0
    return int(max(MIN_WRITER_MEMORY_MB, min(needed, machine / MEMORY_SHARE / writers)))


class RebuildError(ArchiveError):
    """A stored message could not be read while rebuilding."""
