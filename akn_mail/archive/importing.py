"""Import: messages and minutes kept before akn-mail existed.

An mbox file (mboxrd or the older mboxo), a Maildir directory, a single .eml, or a document (PDF, DOCX, ODT) that
becomes the minutes of a meeting (``--meeting``, else the date in its file name, else the
filing rule). Imported messages are filed like list posts with the flag ``imported``;
Message-IDs already archived are skipped.
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import mailbox
import mimetypes
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from akn_mail.archive.exporting import mboxrd_unquote
from akn_mail.archive.store import ArchiveError

DOCUMENT_SUFFIXES = {".pdf", ".docx", ".odt", ".txt", ".html", ".htm"}


@dataclass
class Source:
    count: int
    messages: Callable[[], Iterable[bytes]]  # the raw messages, read one by one
    is_document: bool = False


@dataclass
class ImportResult:
    imported: int = 0
    minutes: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"Imported {self.imported} message{'s' if self.imported != 1 else ''} ({self.minutes} minutes)"
        if self.skipped:
            text += f"; skipped {self.skipped} already archived"
        lines = [text + "."]
        lines.extend(self.notes)
        return "\n".join(lines)


def open_source(path: Path, meeting=None, day: datetime.date | None = None, sender: str = "") -> Source:
    """The messages of path; a document is wrapped as minutes of meeting (a SubjectReference),
    dated day and sent by sender (see document_message)."""
    path = Path(path)
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new")):
            raise ArchiveError(f"{path} is a directory but not a Maildir (no cur/ and new/); give a Maildir, an mbox file or a document.")
        box = mailbox.Maildir(str(path), factory=None, create=False)
        keys = sorted(box.keys())
        return Source(len(keys), lambda: (box.get_bytes(key) for key in keys))
    suffix = path.suffix.lower()
    if suffix in DOCUMENT_SUFFIXES:
        return Source(1, lambda: iter([document_message(path, meeting, day, sender)]), is_document=True)
    with open(path, "rb") as handle:
        head = handle.read(5)
    if head == b"From " or suffix == ".mbox":
        # mboxrd and mboxo alike: one ">" less on quoted "From " lines gives the message.
        box = mailbox.mbox(str(path), factory=None, create=False)
        keys = list(box.keys())
        return Source(len(keys), lambda: (mboxrd_unquote(box.get_bytes(key)) for key in keys))
    if suffix == ".eml":
        return Source(1, lambda: iter([path.read_bytes()]))
    raise ArchiveError(
        f"cannot import {path}: give an mbox file, a Maildir directory, a .eml file, or a PDF/DOCX/ODT document."
    )


IMPORT_SENDER = "akn-mail import <import@localhost>"


def document_message(path: Path, meeting=None, day: datetime.date | None = None, sender: str = "") -> bytes:
    """A message that carries a document as minutes (subject: tag, meeting, file name).

    The meeting given with --meeting is written into the subject, so that the stored
    message itself says which meeting it records: an archive rebuilt from the Maildir or
    an mbox export imported elsewhere files it under the same meeting again. The message
    is dated day (the meeting's day: old minutes are found by --since/--until and date:
    as of their meeting, not of their import), else by the file's time, and sent by sender
    (the author, "Name <addr>"), else by the importer.
    """
    message = EmailMessage()
    if day is not None:
        # Noon, local time of the alliance: the day stays the same in every time zone nearby.
        dated = datetime.datetime.combine(day, datetime.time(12, 0), ZoneInfo("Europe/Berlin"))
    else:
        dated = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
    message["From"] = sender or IMPORT_SENDER
    if meeting is None:
        message["Subject"] = f"[Protokoll] {path.name}"
    else:
        named = meeting.date.isoformat() if meeting.date else str(meeting.quarter)
        message["Subject"] = f"[Protokoll] Sitzung {named}: {path.name}"
    message["Date"] = email.utils.format_datetime(dated)
    data = path.read_bytes()
    # The same document imported twice is the same message (skipped the second time).
    message["Message-ID"] = f"<document-{hashlib.sha256(data).hexdigest()[:24]}@import.akn-mail.localhost>"
    message.set_content(f"Importiertes Protokoll: {path.name}\n")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    maintype, _, subtype = content_type.partition("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)
    return message.as_bytes()


def import_one(archive, raw: bytes, reference, result: ImportResult, document: bool = False) -> None:
    filed = archive.file(raw, source="import", meeting=reference, is_minutes=True if (document or reference) else None)
    if filed.duplicate:
        result.skipped += 1
        return
    result.imported += 1
    if filed.message.is_minutes:
        result.minutes += 1
        result.notes.append(f"  #{filed.message.id} minutes of {filed.message.meeting} ({filed.message.subject})")
    for part, extraction in zip(archive.meta.attachments(filed.message.id), filed.extractions):
        if extraction.status == "failed":
            result.notes.append(f"  #{filed.message.id} {part['filename']}: text not extracted: {extraction.note}")
