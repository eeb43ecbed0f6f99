"""Filing a message: original bytes to the Maildir, metadata to SQLite, text to the index.

``Archive.file`` is what the pipeline's archive step and ``archive import`` call. Order
matters: the Maildir write (fsynced) comes first because it is the source of truth; the
metadata and the minutes link follow in one transaction; the index comes last and may lag
(a busy index leaves the row marked unindexed, and the next write or ``reindex`` catches
up), so a search problem can never lose a message. Filing the same Message-ID twice
returns the first filing.
"""

from __future__ import annotations

import datetime
import logging
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from akn_mail.db import transaction
from akn_mail.message import Parsed, fallback_message_id
from akn_mail.subject import is_minutes as is_minutes_subject
from akn_mail.archive import meetings as meeting_rules
from akn_mail.archive.extract import MESSAGE_BUDGET_FACTOR, Extraction, Limits, extract
from akn_mail.archive.index import EXCERPT_CHARS, ArchiveIndex, IndexBusy, naive_utc
from akn_mail.archive.mime import ParsedMail, read
from akn_mail.archive.rebuild import rebuild
from akn_mail.archive.store import Maildir, MetadataStore, StoredMessage
from akn_mail.results.service import Results
from akn_mail.results.store import ResultStore

log = logging.getLogger("akn_mail.archive")

# How long the filing of one post waits for the index lock before leaving the post for
# the next writer (the post itself is safe in the Maildir and SQLite by then).
FILING_LOCK_TIMEOUT = 5.0
# Field weights of the text field (see ``Archive.document``).
SUBJECT_WEIGHT = 2
HEADING_COPIES = 2


@dataclass
class Filed:
    """The outcome of filing one message."""

    message: StoredMessage
    duplicate: bool = False
    indexed: bool = False
    extractions: list[Extraction] = field(default_factory=list)


class Archive:
    """The archive service: filing, reading, reindexing."""

    def __init__(self, config, db: sqlite3.Connection, roster=None):
        self.config = config
        self.db = db
        self._roster = roster
        self.results_read: list[int] = []  # minutes whose results were read by this Archive
        self.minutes_indexed: list[int] = []  # list minutes whose text this Archive read (their receipt is due)
        self.maildir = Maildir(config.maildir_path)
        self.index = ArchiveIndex(config.index_dir)
        self.meta = MetadataStore(db)
        self.limits = Limits.from_config(config)

    @property
    def roster(self):
        if self._roster is None:
            from akn_mail.roster.members import Roster

            self._roster = Roster(self.db)
        return self._roster

    # -- filing ----------------------------------------------------------------------------

    def file(
        self,
        raw: bytes,
        *,
        is_minutes: bool | None = None,
        member=None,
        source: str = "list",
        meeting: "meeting_rules.SubjectReference | None" = None,
        received: datetime.datetime | None = None,
        index: bool = True,
        parsed: Parsed | None = None,
        auth: str = "none",
    ) -> Filed:
        """Archive one message (see the module docstring for the order of writes).

        ``parsed``: the pipeline's one parse of the post, so the archive files the From,
        Subject and Message-ID every other step saw. ``auth``: the sender's verdict
        (pass, fail, none; ``akn_mail.pipeline.authentication``).
        """
        received = received or datetime.datetime.now(datetime.timezone.utc)
        parsed = read(raw, received, parsed)
        if not parsed.message_id:
            parsed.message_id = fallback_message_id(raw, self.config.list_domain)
        if self.meta.has_message_id(parsed.message_id):
            return Filed(self.meta.message(parsed.message_id), duplicate=True)
        # Inline filing reads the attachments now; the server's archive step leaves that to
        # the background indexer, so a slow or hostile document never delays distribution.
        extractions = self.extract_all(parsed) if index else [Extraction("pending") for _ in parsed.attachments]
        key = self.maildir.add(raw)
        stored = self._record(parsed, raw, key, extractions, is_minutes=is_minutes, member=member, source=source,
                              meeting=meeting, auth=auth)
        if index:
            self.read_results(stored, parsed, extractions)
        indexed = False
        if index:
            indexed = self.index_pending(timeout=FILING_LOCK_TIMEOUT, first=(stored, parsed, extractions))
        return Filed(self.meta.message(stored.id), indexed=indexed, extractions=extractions)

    def extract_all(self, parsed: ParsedMail) -> list[Extraction]:
        deadline = time.monotonic() + self.limits.timeout * MESSAGE_BUDGET_FACTOR
        return [
            extract(part.data, part.content_type, part.original_name or part.filename, self.limits, part.charset, deadline)
            for part in parsed.attachments
        ]

    def _member_for(self, address: str):
        try:
            contact = self.roster.find_contact(address) if address else None
        except Exception:  # roster not set up: the sender simply has no member
            contact = None
        if contact is None:
            return None
        try:
            return self.roster.member_by_id(contact.member_id)
        except Exception:
            return None

    def _record(self, parsed: ParsedMail, raw: bytes, key: str, extractions: list[Extraction], *,
                is_minutes: bool | None, member, source: str, meeting, auth: str = "none") -> StoredMessage:
        if is_minutes is None:
            is_minutes = is_minutes_subject(parsed.subject, self.config.list.minutes_tag,
                                            self.config.list.subject_prefix) or meeting is not None
        if member is None:
            member = self._member_for(parsed.from_address)
        member_id = getattr(member, "id", None)
        member_name = getattr(member, "name", "") or ""
        db = self.db
        with transaction(db):
            thread_id = self._thread_id(parsed)
            link = None
            if is_minutes:
                link = meeting_rules.link_minutes(
                    db, parsed.subject, parsed.date, member_id, parsed.message_id, override=meeting,
                    check_host=source == "list",
                )
            flags = list(link.flags) if link else []
            if source == "import":
                flags.append("imported")
            cursor = db.execute(
                """INSERT INTO archived_messages
                   (message_id, maildir_key, date, from_address, from_name, member_id, member_name, subject,
                    in_reply_to, references_ids, thread_id, is_minutes, meeting_id, minutes_version, flags, size, source,
                    auth)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    parsed.message_id, key, parsed.date.isoformat(), parsed.from_address, parsed.from_name, member_id,
                    member_name, parsed.subject, parsed.in_reply_to, " ".join(parsed.references), thread_id,
                    int(is_minutes), link.meeting_id if link else None, link.version if link else None,
                    " ".join(flags), len(raw), source, auth,
                ),
            )
            archived_id = cursor.lastrowid
            db.executemany(
                """INSERT INTO archived_attachments
                   (archived_id, position, filename, original_name, content_type, size, extraction, extraction_note, text_chars)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (archived_id, part.position, part.filename, part.original_name, part.content_type, len(part.data),
                     result.status, result.note, len(result.text))
                    for part, result in zip(parsed.attachments, extractions)
                ],
            )
            if link:
                meeting_rules.record_minutes(db, link, archived_id, parsed.date.isoformat())
        for part, result in zip(parsed.attachments, extractions):
            if result.status == "failed":
                log.warning("attachment not readable message_id=<%s> file=%r: %s", parsed.message_id, part.filename, result.note)
        return self.meta.message(archived_id)

    def _thread_id(self, parsed: ParsedMail) -> str:
        for parent in [parsed.in_reply_to, *reversed(parsed.references)]:
            if not parent:
                continue
            row = self.db.execute("SELECT thread_id FROM archived_messages WHERE message_id = ?", (parent,)).fetchone()
            if row is not None:
                return row["thread_id"]
        if parsed.references:
            return parsed.references[0]
        return parsed.in_reply_to or parsed.message_id

    # -- results (decisions and tasks) -------------------------------------------------------

    def read_results(self, stored: StoredMessage, parsed: ParsedMail, extractions: list[Extraction]) -> None:
        """Read the decisions and tasks of current minutes once their text is known (body and
        attachments). A failure is logged, never raised: results must not stop filing."""
        if not stored.is_minutes or not stored.current:
            return
        try:
            if ResultStore(self.db).was_read(stored.id):
                return
            text = "\n\n".join(filter(None, [parsed.body, *(result.text for result in extractions)]))
            if Results(self.db, roster=self._roster).read_minutes(stored.id, text) is not None:
                self.results_read.append(stored.id)
        except Exception:
            log.exception("results not read from minutes archived=%s", stored.id)

    def minutes_files(self, archived_id: int) -> tuple[list[tuple[str, bytes, str]], str]:
        """The attachments (file name, bytes, content type) and body text of an archived message,
        as the members' recipients get them."""
        stored = self.meta.message(archived_id)
        parsed = read(self.maildir.get(stored.maildir_key))
        return [(part.filename, part.data, part.content_type) for part in parsed.attachments], parsed.body

    # -- the index -------------------------------------------------------------------------

    def document(self, stored: StoredMessage, parsed: ParsedMail, extractions: list[Extraction]) -> dict:
        """The index document of one archived message."""
        attachment_text = "\n\n".join(result.text for result in extractions if result.text)
        names = " ".join(part.filename for part in parsed.attachments)
        headings = [*parsed.headings]
        for result in extractions:
            headings.extend(result.headings)
        heading_text = "\n".join(headings)
        sender_words = " ".join(filter(None, [stored.from_name, stored.from_address.replace("@", " ").replace(".", " "),
                                              stored.from_address, stored.member_name]))
        # BM25F field weights in one field: BM25F adds a field's term frequency times its weight
        # before saturating, which is what repeating the field's text does. The subject counts
        # SUBJECT_WEIGHT times, a heading HEADING_COPIES times more than its line in the text.
        text = "\n\n".join(filter(None, [*[stored.subject] * SUBJECT_WEIGHT, *[heading_text] * HEADING_COPIES, parsed.body,
                                           names, attachment_text, stored.host or "", stored.member_name]))
        return {
            "id": str(stored.id),
            "message_id": stored.message_id,
            "date": naive_utc(datetime.datetime.fromisoformat(stored.date)),
            "subject": stored.subject,
            "headings": heading_text[:2000],
            "body": text,
            "words": text,
            "host": self.meta.effective_host(stored) or "",
            "host_name": stored.host,
            "meeting": stored.meeting or "",
            "from": sender_words,
            "sender": stored.sender,
            "minutes": stored.is_minutes,
            "excerpt": (parsed.body.strip() + "\n\n" + attachment_text)[:EXCERPT_CHARS],
        }

    def index_pending(self, timeout: float = FILING_LOCK_TIMEOUT, first=None) -> bool:
        """Index the rows not yet in the index (and ``first``, already read); False if busy."""
        try:
            with self.index.writer(timeout=timeout) as writer:
                done = []
                if first is not None:
                    stored, parsed, extractions = first
                    writer.update_document(**self.document(stored, parsed, extractions))
                    done.append(stored.id)
                for row in self.db.execute("SELECT id FROM archived_messages WHERE indexed = 0").fetchall():
                    if row["id"] in done:
                        continue
                    stored = self.meta.message(row["id"])
                    parsed = read(self.maildir.get(stored.maildir_key))
                    extractions = self.extract_all(parsed)
                    self.record_extractions(stored.id, extractions)
                    self.read_results(stored, parsed, extractions)
                    writer.update_document(**self.document(stored, parsed, extractions))
                    done.append(stored.id)
        except IndexBusy as busy:
            log.warning("index busy, filed without indexing: %s", busy)
            return False
        self._mark_indexed(done)
        for archived_id in done:
            row = self.db.execute("SELECT is_minutes, source FROM archived_messages WHERE id = ?", (archived_id,)).fetchone()
            if row is not None and row["is_minutes"] and row["source"] == "list":
                self.minutes_indexed.append(archived_id)
        return True

    def file_found(self, key: str) -> tuple[StoredMessage | None, ParsedMail, list[Extraction]]:
        """A Maildir message without metadata (copied in by hand, or a crash between the
        Maildir write and SQLite), filed as an import; None for a second copy of a message
        filed already."""
        raw = self.maildir.get(key)
        parsed = read(raw)
        parsed.message_id = parsed.message_id or fallback_message_id(raw, self.config.list_domain)
        if self.meta.has_message_id(parsed.message_id):
            return None, parsed, []
        extractions = self.extract_all(parsed)
        stored = self._record(parsed, raw, key, extractions, is_minutes=None, member=None, source="import", meeting=None)
        return stored, parsed, extractions

    def record_extractions(self, archived_id: int, extractions: list[Extraction]) -> None:
        """The outcome of reading each attachment, on its row (after a deferred or new read)."""
        if not extractions:
            return
        for position, result in enumerate(extractions, 1):
            if result.status == "failed":
                log.warning("attachment not readable archived=%s position=%s: %s", archived_id, position, result.note)
        with transaction(self.db):
            self.db.executemany(
                """UPDATE archived_attachments SET extraction = ?, extraction_note = ?, text_chars = ?
                   WHERE archived_id = ? AND position = ?""",
                [(result.status, result.note, len(result.text), archived_id, position)
                 for position, result in enumerate(extractions, 1)],
            )

    def _mark_indexed(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        with transaction(self.db):
            self.db.executemany("UPDATE archived_messages SET indexed = 1 WHERE id = ?", [(i,) for i in ids])

    def reindex(self, progress: Callable[[int], None] | None = None, workers: int | None = None) -> int:
        """Rebuild the index from the Maildir; file metadata of messages that lack it.

        The new index is built beside the old one (on every core: ``rebuild``) and swapped
        in, so searches keep working meanwhile. Messages filed during the rebuild are
        indexed after the swap. ``workers``: reader and writer processes (default: one per
        core; 0 for none).
        """
        started_at_id = self.db.execute("SELECT coalesce(max(id), 0) FROM archived_messages").fetchone()[0]
        fresh = self.index.rebuild_dir()
        try:
            count = rebuild(self, ArchiveIndex(fresh), progress, workers)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        # Hold the old index's lock while swapping so the server's writes wait (or stay pending).
        old_writer = None
        if self.index.exists():
            try:
                old_writer = self.index.open().writer(timeout=FILING_LOCK_TIMEOUT, delay=0.05)
            except Exception:
                old_writer = None
        try:
            self.index.replace_with(fresh)
        finally:
            if old_writer is not None:
                try:
                    old_writer.cancel()
                except Exception:
                    pass
        with transaction(self.db):
            self.db.execute("UPDATE archived_messages SET indexed = 1 WHERE id <= ?", (started_at_id,))
            self.db.execute("UPDATE archived_messages SET indexed = 0 WHERE id > ?", (started_at_id,))
        self.index_pending(timeout=FILING_LOCK_TIMEOUT)
        return count
