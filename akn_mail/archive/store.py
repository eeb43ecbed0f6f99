"""The archive's storage: the original messages in a Maildir, their metadata in SQLite.

The Maildir (<data_dir>/maildir) is the source of truth: every archived message is kept
there byte for byte, written to tmp/, fsynced and renamed into cur/ (``akn_mail.files``),
so a crash leaves either the whole message or nothing. The SQLite tables of migration 0003 (messages,
attachments, minutes per meeting) and the search index can be rebuilt from it.
(``mailbox`` is imported where it is used; ``akn-mail search`` never needs it.)
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from akn_mail.errors import AknError
from akn_mail.files import DurableMaildir
from akn_mail.message import normalise_message_id


class ArchiveError(AknError):
    """An archive operation that cannot be done as asked."""


class UnknownMessage(ArchiveError):
    """No archived message has that ID."""


class Maildir(DurableMaildir):
    """Write-once storage of the original bytes; keys are Maildir file names."""

    def add(self, raw: bytes) -> str:
        """Store RAW (filed as read, in cur/) and return its key."""
        return super().add(raw, seen=True)

    def get(self, key: str) -> bytes:
        for sub in ("cur", "new"):
            folder = self.path / sub
            for candidate in (folder / f"{key}:2,S", folder / key):
                if candidate.exists():
                    return candidate.read_bytes()
        # Messages put in by other Maildir writers carry other flags.
        import mailbox

        box = mailbox.Maildir(self.path, factory=None, create=False)
        try:
            return box.get_bytes(key)
        except KeyError:
            raise ArchiveError(f"message {key} is missing from the Maildir {self.path}; restore it from a backup.") from None

    def keys(self) -> list[str]:
        """All keys, oldest first (Maildir names start with the delivery time)."""
        import mailbox

        box = mailbox.Maildir(self.path, factory=None, create=False)
        return sorted(box.keys(), key=lambda key: (key.split(".", 1)[0].zfill(12), key))

    def __len__(self) -> int:
        import mailbox

        return len(mailbox.Maildir(self.path, factory=None, create=False))


@dataclass
class StoredMessage:
    """One row of archived_messages, with the meeting's name and host."""

    id: int
    message_id: str
    maildir_key: str
    date: str
    from_address: str
    from_name: str
    member_name: str
    subject: str
    in_reply_to: str
    references_ids: str
    thread_id: str
    is_minutes: bool
    meeting_id: int | None
    meeting: str | None
    host: str | None
    minutes_version: int | None
    current: bool
    flags: list[str]
    size: int
    source: str
    auth: str = "none"  # sender verdict when it was archived: pass, fail or none

    @property
    def sender(self) -> str:
        if self.from_name:
            return f"{self.from_name} <{self.from_address}>"
        return self.from_address


MESSAGE_SELECT = """
SELECT am.*, mt.kind AS meeting_kind, mt.quarter AS meeting_quarter, mt.date AS meeting_date,
       mm.archived_id AS current_minutes_id
FROM archived_messages am
LEFT JOIN meetings mt ON mt.id = am.meeting_id
LEFT JOIN meeting_minutes mm ON mm.meeting_id = am.meeting_id
"""


def meeting_label(kind: str | None, quarter: str | None, date: str | None) -> str | None:
    """How a meeting is named everywhere: '2027-Q1' for a regular one, 'extra 2027-02-10'."""
    if kind is None:
        return None
    if kind == "regular":
        return quarter
    return f"extra {date}" if date else "extra"


def row_to_message(row: sqlite3.Row, host: str | None) -> StoredMessage:
    """A row of MESSAGE_SELECT as a StoredMessage; host is its meeting's host (``MetadataStore.hosts``)."""
    is_minutes = bool(row["is_minutes"])
    return StoredMessage(
        id=row["id"], message_id=row["message_id"], maildir_key=row["maildir_key"], date=row["date"],
        from_address=row["from_address"], from_name=row["from_name"], member_name=row["member_name"],
        subject=row["subject"], in_reply_to=row["in_reply_to"], references_ids=row["references_ids"],
        thread_id=row["thread_id"], is_minutes=is_minutes, meeting_id=row["meeting_id"],
        meeting=meeting_label(row["meeting_kind"], row["meeting_quarter"], row["meeting_date"]),
        host=host, minutes_version=row["minutes_version"],
        current=(not is_minutes) or row["current_minutes_id"] in (None, row["id"]),
        flags=row["flags"].split(), size=row["size"], source=row["source"], auth=row["auth"],
    )


class MetadataStore:
    """Reads of the archive tables; writes happen in ``filing``."""

    def __init__(self, db: sqlite3.Connection, rotation=None):
        self.db = db
        self._rotation = rotation

    @property
    def rotation(self):
        if self._rotation is None:
            from akn_mail.roster.rotation import Rotation

            self._rotation = Rotation(self.db)
        return self._rotation

    def hosts(self, meeting_ids) -> dict[int, str | None]:
        """The host's name of each meeting, as the rotation knows it: a planned regular
        meeting has no host on its row, so reading the row alone would lose it."""
        ids = sorted({meeting_id for meeting_id in meeting_ids if meeting_id is not None})
        if not ids:
            return {}
        rows = self.db.execute(f"SELECT * FROM meetings WHERE id IN ({', '.join('?' * len(ids))})", ids).fetchall()
        return {meeting_id: (host.name if host else None) for meeting_id, host in self.rotation.meeting_hosts(rows).items()}

    def effective_host(self, message: StoredMessage) -> str | None:
        """The member a post belongs to for ``host:``/``--host``: the host of its meeting
        (minutes), else the host of the meeting its thread belongs to (replies to minutes),
        else its sender's member."""
        if message.host:
            return message.host
        row = self.db.execute(
            """SELECT meeting_id FROM archived_messages WHERE thread_id = ? AND meeting_id IS NOT NULL
               ORDER BY is_minutes DESC, id LIMIT 1""",
            (message.thread_id,),
        ).fetchone()
        if row is not None:
            host = self.hosts([row["meeting_id"]]).get(row["meeting_id"])
            if host:
                return host
        return message.member_name or None

    def _messages(self, rows: list[sqlite3.Row]) -> list[StoredMessage]:
        hosts = self.hosts(row["meeting_id"] for row in rows)
        return [row_to_message(row, hosts.get(row["meeting_id"])) for row in rows]

    def message(self, ident: str | int) -> StoredMessage:
        """By archive id (a number) or Message-ID (with or without <>)."""
        text = str(ident).strip()
        row = None
        if text.isdigit():
            row = self.db.execute(MESSAGE_SELECT + " WHERE am.id = ?", (int(text),)).fetchone()
        if row is None:
            row = self.db.execute(MESSAGE_SELECT + " WHERE am.message_id = ?", (normalise_message_id(text),)).fetchone()
        if row is None:
            raise UnknownMessage(
                f"no archived message with ID {text}; find IDs with: akn-mail search WORDS (or akn-mail archive list)"
            )
        return self._messages([row])[0]

    def messages(self, minutes_only: bool = False) -> list[StoredMessage]:
        where = " WHERE am.is_minutes = 1" if minutes_only else ""
        return self._messages(self.db.execute(MESSAGE_SELECT + where + " ORDER BY am.date, am.id").fetchall())

    def by_maildir_key(self, key: str) -> StoredMessage | None:
        row = self.db.execute(MESSAGE_SELECT + " WHERE am.maildir_key = ?", (key,)).fetchone()
        return self._messages([row])[0] if row else None

    def attachments(self, archived_id: int) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM archived_attachments WHERE archived_id = ? ORDER BY position", (archived_id,)
        ).fetchall()

    def has_message_id(self, message_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM archived_messages WHERE message_id = ?", (message_id,)).fetchone() is not None

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM archived_messages").fetchone()[0]
