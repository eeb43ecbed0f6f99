"""The search index (Whoosh): derived from the Maildir, rebuilt by ``archive reindex``.

One document per archived message: subject, headings, body + attachment text, sender,
host, meeting, date, minutes flag. Text fields use the German analyzer of ``analysis``
(``words`` holds, folded, the long words whose stem hides their ending, for words inside
compounds, ``infix``; an index built before that has a ``tails`` field instead, which is no
longer read, and gets the ``words`` field with its next post: reindex it). Whoosh allows one writer at a time (a lock file under the
index directory, held with flock so it dies with a crashed process): writers wait for the
lock up to ``LOCK_TIMEOUT`` seconds; readers never need it. Setting: [archive] index_dir.
"""

from __future__ import annotations

import datetime
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path


from whoosh import formats
from whoosh import index as whoosh_index
from whoosh.fields import BOOLEAN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.index import LockError
from whoosh.writing import NO_MERGE

from akn_mail.archive.analysis import german_analyzer, host_analyzer, words_analyzer
from akn_mail.archive.store import ArchiveError

LOCK_TIMEOUT = 30.0
LOCK_DELAY = 0.05
INDEX_NAME = "archive"
# Stored text used for snippets (the full text is searched, not stored).
EXCERPT_CHARS = 8_000
# Segments a single-post commit may leave before it merges the small ones.
MAX_SEGMENTS = 12


def load_numeric(reader, doccount: int):
    """A numeric column (document lengths, dates) as one array in memory, read at once:
    Whoosh reads it one document at a time from the file, a seek and a read per hit scored."""
    from array import array

    try:
        raw = reader._dbfile.get(reader._basepos, reader._count * reader._fixedlen)
        values = array(reader._typecode, raw)
        if sys.byteorder == "little" and values.itemsize > 1:
            values.byteswap()  # stored big-endian
        if len(values) < doccount:
            values.extend([reader._default] * (doccount - len(values)))
        return values
    except (AttributeError, TypeError, ValueError, OverflowError):  # another kind of column
        return list(reader)


def _keep_columns_in_memory() -> None:
    """Two fixes to Whoosh's per-document reader, whose answers never change for a segment:
    a field without a lengths file (``words``, ``id``, ``date``…) was looked for once per
    posting (a ``stat`` each, a sixth of a bulk index's time), and the lengths BM25 needs
    were read from the file one document at a time (a third of a search's time). Now the
    answer, or the whole lengths column, is kept for the reader's life."""
    from whoosh.codec.whoosh3 import W3PerDocReader

    if getattr(W3PerDocReader, "_akn_columns_kept", False):
        return
    found = W3PerDocReader._cached_reader

    def cached_reader(self, fieldname, column):
        readers = self._readers
        if fieldname in readers:
            return readers[fieldname]
        reader = found(self, fieldname, column)
        if reader is not None and fieldname.startswith("_") and fieldname.endswith("_len"):
            reader = load_numeric(reader, self._doccount)
        readers[fieldname] = reader
        return reader

    W3PerDocReader._cached_reader = cached_reader
    W3PerDocReader._akn_columns_kept = True


_keep_columns_in_memory()


WORDS_FIELD = "words"


def _start_subwriters(writer) -> None:
    """Start the sub-writer processes of Whoosh's multiprocessing writer now, before the
    caller starts threads of its own (Whoosh forks them; forking a threaded process can
    deadlock), instead of at its first batch."""
    while len(getattr(writer, "tasks", ())) < getattr(writer, "procs", 0):
        writer._new_task()


def _stop_subwriters(writer, timeout: float = 10.0) -> None:
    """End the sub-writer processes of a cancelled multiprocessing writer: Whoosh's cancel
    only marks them in this process, and they would wait for work for ever (and keep the
    command from exiting)."""
    tasks = getattr(writer, "tasks", [])
    for _ in tasks:
        try:
            writer.jobqueue.put(None, timeout=1)
        except Exception:  # noqa: BLE001 - a full queue: terminate below
            break
    for task in tasks:
        task.join(timeout)
        if task.is_alive():
            task.terminate()
            task.join(timeout)


class IndexBusy(ArchiveError):
    """Another writer held the index lock longer than we waited."""


class IndexMissing(ArchiveError):
    """There is no index yet."""


class IndexDamaged(ArchiveError):
    """The index's files are missing or cut short; the Maildir has everything to rebuild it."""

    @classmethod
    def of(cls, path: Path, error: BaseException) -> "IndexDamaged":
        detail = " ".join(f"{type(error).__name__}: {error}".split())
        return cls(f"the search index in {path} cannot be read ({detail}); rebuild it with: akn-mail archive reindex")


def make_schema() -> Schema:
    """The fields. ``body`` holds all text (subject and headings twice, body, attachments,
    host and sender's member), so a plain query is one field; the others serve field
    queries (``subject:``, ``host:``, ...) and ranking. ``host`` is the post's effective
    host (``MetadataStore.effective_host``), one folded term; ``host_name`` the meeting's."""
    german = german_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        message_id=ID(stored=True),
        date=DATETIME(stored=True, sortable=True),
        subject=TEXT(analyzer=german, stored=True),
        headings=TEXT(analyzer=german, stored=True),
        body=TEXT(analyzer=german),
        words=_words_field(),
        host=TEXT(analyzer=host_analyzer(), phrase=False),
        host_name=STORED(),
        meeting=KEYWORD(lowercase=True, stored=True),
        **{"from": TEXT(analyzer=german)},
        sender=STORED(),
        minutes=BOOLEAN(stored=True),
        excerpt=STORED(),
    )


def _words_field() -> KEYWORD:
    """Each word once, folded, for finding words inside compounds (``infix``): no positions,
    frequencies or lengths, as it is never scored."""
    field = KEYWORD(analyzer=words_analyzer(), scorable=False)
    field.format = formats.Existence()
    return field


def naive_utc(moment: datetime.datetime) -> datetime.datetime:
    """Whoosh compares naive datetimes; the archive stores UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


class ArchiveIndex:
    """Open, write and search the index directory."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def exists(self) -> bool:
        if not self.path.exists():
            return False
        try:
            return whoosh_index.exists_in(str(self.path), indexname=INDEX_NAME)
        except Exception:  # noqa: BLE001 - a table of contents cut short (EOFError, ...)
            return True  # there is an index, a damaged one: opening it says so

    def open(self, create: bool = True):
        if self.exists():
            try:
                return whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)
            except Exception as error:  # noqa: BLE001 - whoosh raises many kinds on a damaged index
                raise IndexDamaged.of(self.path, error) from error
        if not create:
            raise IndexMissing(f"there is no search index in {self.path} yet; build it with: akn-mail archive reindex")
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            return whoosh_index.create_in(str(self.path), make_schema(), indexname=INDEX_NAME)
        except LockError:
            # Another process created it at the same moment.
            return whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)

    @contextmanager
    def writer(self, timeout: float = LOCK_TIMEOUT, bulk: bool = False, procs: int = 0, memory_mb: int = 256):
        """A writer, committed at the end of the block (cancelled on error). ``bulk``: many
        documents (``memory_mb`` of postings held before sorting to disk); ``procs``: that
        many sub-writer processes, each leaving one segment (``rebuild``)."""
        # Separate files per segment: whoosh copies a compound file's parts into memory on
        # every open, which made opening a searcher cost milliseconds per 1,000 posts.
        options = {"limitmb": memory_mb, "compound": False} if bulk else {"compound": False}
        if bulk and procs > 1:
            options.update(procs=procs, multisegment=True, subargs={"limitmb": memory_mb, "compound": False})
        while True:
            ix = self.open()
            inode = os.stat(self.path).st_ino
            try:
                writer = ix.writer(timeout=timeout, delay=LOCK_DELAY, **options)
            except LockError:
                raise IndexBusy(
                    f"the search index {self.path} stayed locked by another writer for {timeout:g} seconds; "
                    "the message is archived and will be indexed by the next write (or run: akn-mail archive reindex)"
                ) from None
            try:
                same = os.stat(self.path).st_ino == inode
            except FileNotFoundError:
                same = False
            if same:
                break
            # A reindex swapped the directory while we waited: write to the new one.
            writer.cancel()
        if WORDS_FIELD not in writer.schema:
            # An index built before the words field existed takes new posts with it (their
            # words inside compounds are found at once; older posts after a reindex).
            writer.add_field(WORDS_FIELD, _words_field())
        if procs > 1 and bulk:
            _start_subwriters(writer)
        try:
            yield writer
        except BaseException:
            try:
                _stop_subwriters(writer)  # first: they finish their batches before the files go
                writer.cancel()
            except Exception:  # noqa: BLE001 - the error that stopped the writing is the one to report
                pass
            raise
        else:
            if bulk or len(writer.segments) >= MAX_SEGMENTS:
                writer.commit()
            else:
                # Merging costs hundreds of milliseconds; a post is filed in a few without it.
                writer.commit(mergetype=NO_MERGE)

    @contextmanager
    def searcher(self):
        """A searcher over the newest committed state (retried once if a merge races us)."""
        for attempt in range(3):
            try:
                ix = self.open(create=False)
                searcher = ix.searcher()
                break
            except (OSError, whoosh_index.EmptyIndexError):
                if attempt == 2:
                    raise
                time.sleep(0.05)
        try:
            yield searcher
        finally:
            searcher.close()

    def rebuild_dir(self) -> Path:
        """A fresh directory beside the index for a rebuild; swap it in with ``replace_with``."""
        fresh = self.path.with_name(self.path.name + ".rebuild")
        if fresh.exists():
            shutil.rmtree(fresh)
        fresh.mkdir(parents=True)
        return fresh

    def replace_with(self, fresh: Path) -> None:
        old = self.path.with_name(self.path.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        if self.path.exists():
            self.path.rename(old)
        fresh.rename(self.path)
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)
