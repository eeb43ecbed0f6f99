"""Durable files: what is written here survives a crash once the call returns.

The order is the one ``akn_mail.spool`` explains: write the data to a temporary name and
fsync it (the bytes are on disk), rename it to its final name (readers see it whole or not
at all), fsync the directory (the new name itself is on disk; without this a crash can
forget the rename, and with it the file). Used for held mail and the outbox Maildir.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_directory(directory: Path) -> None:
    """Make the names in DIRECTORY (a rename into it) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(data: bytes, temporary: Path, final: Path) -> None:
    """Write DATA to TEMPORARY, fsync, rename to FINAL, fsync FINAL's directory."""
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(temporary, final)
    fsync_directory(final.parent)
