"""SQLite database: connection settings, schema version and migrations.

One file, ``<data_dir>/akn-mail.sqlite3``, in WAL mode so that the server writes while the
CLI reads. The schema is built by the numbered scripts in ``akn_mail/migrations``
(``0001_roster.sql``, ``0002_…``); ``PRAGMA user_version`` records the last one applied.
A database newer than this program is refused rather than guessed at.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

from akn_mail.errors import AknError
from akn_mail.files import make_directory

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(AknError):
    """The database cannot be opened or is of an unknown version."""


def migrations() -> list[tuple[int, str, str]]:
    """All migration scripts shipped with the package: (number, name, sql), in order."""
    found = []
    for entry in resources.files("akn_mail.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise DatabaseError(f"migrations are not numbered 1..n without gaps: {numbers}")
    return found


def latest_version() -> int:
    return len(migrations())


def connect(path: Path | str, migrate: bool = True) -> sqlite3.Connection:
    """Open the database, bring its schema up to date, and return the connection.

    Autocommit mode (``isolation_level=None``): callers group writes with ``transaction``.
    """
    path = Path(path)
    try:
        make_directory(path.parent)
        connection = sqlite3.connect(str(path), isolation_level=None, timeout=30, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("PRAGMA synchronous=NORMAL")
    except (OSError, sqlite3.Error) as error:
        raise DatabaseError(f"cannot open database {path}: {error}. Check that the data directory is writable.") from None
    if migrate:
        upgrade(connection, path)
    return connection


def schema_version(connection: sqlite3.Connection) -> int:
    return connection.execute("PRAGMA user_version").fetchone()[0]


def upgrade(connection: sqlite3.Connection, path: Path | str = "database") -> int:
    """Apply every migration newer than the database's version, each in its own transaction."""
    current = schema_version(connection)
    scripts = migrations()
    if current > len(scripts):
        raise DatabaseError(
            f"{path} has schema version {current}, but this akn-mail knows only up to {len(scripts)}; "
            "upgrade akn-mail or restore a matching backup."
        )
    for number, name, sql in scripts[current:]:
        try:
            # executescript commits any open transaction first; BEGIN/COMMIT keep the
            # script and the version bump atomic.
            connection.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise DatabaseError(f"migration {name} failed on {path}: {error}") from None
    return schema_version(connection)


class transaction:
    """``with transaction(db):`` runs the block in one IMMEDIATE transaction (nestable)."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        if not self.connection.in_transaction:
            self.connection.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self.connection

    def __exit__(self, kind, value, traceback) -> None:
        if not self.outer:
            return
        if kind is None:
            self.connection.execute("COMMIT")
        else:
            self.connection.execute("ROLLBACK")


class dry_run_transaction(transaction):
    """``with dry_run_transaction(db, dry_run):`` one transaction that is committed, or,
    with dry_run, always rolled back: the commands that take ``--dry-run`` run their real
    code and show what it did, and nothing of it stays."""

    def __init__(self, connection: sqlite3.Connection, dry_run: bool = False):
        super().__init__(connection)
        self.dry_run = dry_run  # inside another transaction, the outer one decides

    def __exit__(self, kind, value, traceback) -> None:
        if self.dry_run and self.outer:
            self.connection.execute("ROLLBACK")
            return
        super().__exit__(kind, value, traceback)
