"""Export: one message as its original .eml plus attachments, or the archive as mboxrd.

Never overwrites: the target directory must be new or empty, the mbox file must not exist.
File names are the safe names recorded at filing (no path parts, no control characters),
and files are created exclusively, so a crafted name cannot write outside the directory.
"""

from __future__ import annotations

import datetime
import os
import re
import time
from pathlib import Path

from akn_mail.archive.mime import read, safe_filename
from akn_mail.archive.store import ArchiveError


def export_message(archive, ident: str, target: Path) -> list[Path]:
    message = archive.meta.message(ident)
    target = Path(target)
    if target.exists():
        if not target.is_dir():
            raise ArchiveError(f"{target} exists and is not a directory; give a new or empty directory with --to.")
        if any(target.iterdir()):
            raise ArchiveError(f"{target} is not empty; give a new or empty directory with --to (export never overwrites files).")
    target.mkdir(parents=True, exist_ok=True)
    raw = archive.maildir.get(message.maildir_key)
    parsed = read(raw)
    written = [_write_new(target, safe_filename(f"message-{message.id}.eml", 0), raw)]
    names = {row["position"]: row["filename"] for row in archive.meta.attachments(message.id)}
    for part in parsed.attachments:
        name = safe_filename(names.get(part.position, part.filename), part.position, part.content_type)
        if name.lower() == written[0].name.lower():
            name = f"attachment-{part.position}-{name}"
        written.append(_write_new(target, name, part.data))
    return written


def _write_new(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    if path.resolve().parent != directory.resolve():
        raise ArchiveError(f"refusing to write {name!r} outside {directory}.")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    return path


def export_mbox(archive, path: Path, minutes_only: bool = False) -> int:
    """Write the archive as one mboxrd file: each message's bytes as received.

    Every message starts with a dated separator, ``From <sender> <asctime in UTC>``, the
    form mutt, Thunderbird and ``formail`` require; inside a message every line that
    matches ``>*From `` gets one more ``>`` (mboxrd), so reading it back and removing one
    ``>`` gives the original bytes exactly. The file is created exclusively and fsynced.
    """
    path = Path(path)
    if path.exists():
        raise ArchiveError(f"{path} exists already; give a new file name with --mbox (export never overwrites files).")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o640)
    except OSError as error:
        raise ArchiveError(f"cannot create {path}: {error.strerror}; give a writable place with --mbox.") from None
    count = 0
    with os.fdopen(descriptor, "wb") as handle:
        for message in archive.meta.messages(minutes_only=minutes_only):
            raw = archive.maildir.get(message.maildir_key)
            if count:
                # The empty line before a separator belongs to the separator (mutt and
                # Python's mailbox drop it); none after the last message, so it, too,
                # reads back with exactly its own bytes.
                handle.write(b"\n")
            handle.write(mbox_separator(message.from_address, message.date))
            handle.write(mboxrd_quote(raw))
            if not raw.endswith(b"\n"):
                handle.write(b"\n")  # a separator must start a line
            count += 1
        handle.flush()
        os.fsync(handle.fileno())
    return count


_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)
_QUOTED_FROM_LINE = re.compile(rb"^>(>*From )", re.MULTILINE)


def mboxrd_quote(raw: bytes) -> bytes:
    """``From `` and ``>From `` lines get one more ``>`` (mboxrd)."""
    return _FROM_LINE.sub(rb">\1", raw)


def mboxrd_unquote(raw: bytes) -> bytes:
    """Remove one ``>`` from every ``>From ``, ``>>From `` ... line.

    Right for mboxrd; for the older mboxo it restores the ``From `` lines the writer quoted
    (mboxo cannot tell those from ``>From `` lines that were in the message: it is lossy).
    """
    return _QUOTED_FROM_LINE.sub(rb"\1", raw)


def mbox_separator(sender: str, date: str) -> bytes:
    """``From sender Wed Nov 25 09:00:00 2026`` (UTC), the dated mbox separator line."""
    sender = "".join(sender.split()) or "MAILER-DAEMON"
    try:
        moment = datetime.datetime.fromisoformat(date)
    except (TypeError, ValueError):
        moment = datetime.datetime.now(datetime.timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return f"From {sender} {time.asctime(moment.timetuple())}\n".encode("ascii", "replace")
