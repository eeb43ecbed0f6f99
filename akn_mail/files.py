"""Durable files: what is written here survives a crash once the call returns.

The order is the one ``akn_mail.spool`` explains: write the data to a temporary name and
fsync it (the bytes are on disk), rename it to its final name (readers see it whole or not
at all), fsync the directory (the new name itself is on disk; without this a crash can
forget the rename, and with it the file). Used for held mail and for every Maildir we write (archive, outbox, kept bounces).
"""

from __future__ import annotations

import glob
import itertools
import os
import socket
import threading
import time
from pathlib import Path


PRIVATE_DIRECTORY_MODE = 0o750  # the archive and the roster are not for every user (doctor checks it)


def make_directory(path: Path) -> Path:
    """Create path and any missing parents with mode 0750 (``Path.mkdir(parents=True)``
    gives the parents the default mode), so that a data directory made by any command is
    as private as the one ``akn-mail init`` makes."""
    path = Path(path)
    missing = []
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIRECTORY_MODE)
        except FileExistsError:
            pass  # made by another process at the same moment
    return path


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


class DurableMaildir:
    """A Maildir whose ``add`` returns only when the message is durably in ``new/`` (or ``cur/``).

    ``mailbox.Maildir.add`` renames without any fsync; here every message goes through
    ``write_durably``. Keys are unique by time, process, thread and a counter, so nothing is
    ever overwritten. Used for the archive, the outbox and kept bounce reports.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        for sub in ("tmp", "new", "cur"):
            make_directory(self.path / sub)

    def add(self, data: bytes, *, seen: bool = False) -> str:
        """Store DATA; ``seen`` files it in cur/ with the S flag (read), else in new/."""
        key = _unique_key()
        final = self.path / "cur" / f"{key}:2,S" if seen else self.path / "new" / key
        write_durably(data, self.path / "tmp" / key, final)
        return key


    def add_once(self, name: str, data: bytes) -> bool:
        """Store DATA under NAME in new/ unless a message of that name is here already (new/ or cur/).

        Idempotent: writing the same NAME again after a crash (the caller did not get to
        record that it had written it) finds the first copy and writes nothing. Returns
        whether it wrote. NAME must be unique for what it names (the outbox uses the
        delivery's id and a hash of the message).
        """
        if (self.path / "new" / name).exists() or (self.path / "cur" / name).exists() \
                or any((self.path / "cur").glob(glob.escape(name) + ":*")):
            return False
        write_durably(data, self.path / "tmp" / f"{name}.{_unique_key()}", self.path / "new" / name)
        return True


_counter = itertools.count(1)


def _unique_key() -> str:
    now = time.time()
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
    return f"{int(now)}.M{int(now * 1e6) % 1_000_000}P{os.getpid()}T{threading.get_ident()}Q{next(_counter)}.{host}"
