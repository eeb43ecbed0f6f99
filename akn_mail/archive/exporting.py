"""Export: one message as its original .eml plus attachments, or the archive as mbox.

Never overwrites: the target directory must be new or empty, the mbox file must not exist.
File names are the safe names recorded at filing (no path parts, no control characters),
and files are created exclusively, so a crafted name cannot write outside the directory.
"""

from __future__ import annotations

import mailbox
import os
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
    path = Path(path)
    if path.exists():
        raise ArchiveError(f"{path} exists already; give a new file name with --mbox (export never overwrites files).")
    box = mailbox.mbox(str(path), create=True)
    count = 0
    try:
        box.lock()
        for message in archive.meta.messages(minutes_only=minutes_only):
            entry = mailbox.mboxMessage(archive.maildir.get(message.maildir_key))
            entry.set_from(message.from_address or "MAILER-DAEMON")
            box.add(entry)
            count += 1
        box.flush()
    finally:
        box.unlock()
        box.close()
    return count
