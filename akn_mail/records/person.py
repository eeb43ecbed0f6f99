"""The rights of a person over their data (DSGVO Art. 15 and 17): export and erasure.

Everything akn-mail stores about an address is found through one table, ``PERSON_DATA``:
each entry names a table, the rows that concern the address (``select``), and how erasure
treats them (``erase``). ``export`` prints every entry's rows; ``erase`` runs every entry's
statements in one transaction, removes the files the rows point to (held mail), and writes
one line to the erasure log. A feature that stores personal data adds its entry here (see
the README, "Personal data (DSGVO)"); an entry whose table does not exist yet is skipped.

The archive is the record of a public body: ``erase`` keeps it by default and lists the
archive IDs of the person's posts in the export. ``redact`` (``--archive redact``) replaces
the person's name and address in the headers of the posts they wrote, in the Maildir, the
database and the search index; those copies are then no longer the bytes received, and
each carries an ``X-AKN-Redacted`` header saying so.

The erasure log (``<data_dir>/erasure.log``, one JSON object per line) records the date,
who ran the command, what was removed, and a salted SHA-256 of the address, never the
address itself: with the salt (kept in the database), an admin can answer "was my address
erased?" for a given address, but the log does not name anyone.
"""

from __future__ import annotations

import datetime
import email.utils
import getpass
import hashlib
import json
import logging
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from akn_mail import db as db_module
from akn_mail import logs
from akn_mail.config import Config
from akn_mail.errors import AknError
from akn_mail.files import fsync_directory

log = logging.getLogger("akn_mail.records")

SALT_SETTING = "erasure_log_salt"
ERASURE_LOG = "erasure.log"
REDACTED_NAME = "Gelöschte Person"
REDACTED_HEADER = "X-AKN-Redacted"
ADDRESS_HEADERS = ("From", "Sender", "Reply-To", "To", "Cc", "Return-Path", "Resent-From", "Disposition-Notification-To")


class PersonError(AknError):
    """An export or erasure that cannot be done as asked."""


@dataclass(frozen=True)
class PersonData:
    """Where a table keeps data about a person, and what erasure does with it.

    ``select`` and every statement in ``erase`` take the lower-cased address as ``:address``.
    ``files``: rows of ``select`` name a file (column ``path``) in this data subdirectory,
    removed together with the row.
    """

    key: str                 # name in the export's JSON
    table: str               # the table that must exist for this entry to apply
    description: str         # for people: what it is, in the export and the erasure summary
    select: str
    erase: tuple[str, ...] = ()
    files: str | None = None


# Every place personal data is kept. Add an entry when a table stores an address.
PERSON_DATA: tuple[PersonData, ...] = (
    PersonData(
        "contacts", "contacts", "roster entries (contact of a member) with the member's membership periods",
        """SELECT c.id, c.name, c.email, m.name AS member, c.delivery_enabled, c.disabled_reason, c.added_at,
                  (SELECT json_group_array(json_object('joined', p.joined, 'left', p.left))
                   FROM memberships p WHERE p.member_id = m.id) AS member_periods
           FROM contacts c JOIN members m ON m.id = c.member_id WHERE lower(c.email) = :address ORDER BY c.id""",
        ("DELETE FROM contacts WHERE lower(email) = :address",),
    ),
    PersonData(
        "deliveries", "deliveries", "deliveries of mail to the address (the delivery log and the queue)",
        """SELECT d.id, d.outbound_id, o.message_id, o.kind, o.subject, d.status, d.attempts, d.last_code,
                  d.last_error, datetime(d.created_at, 'unixepoch') AS created_at,
                  datetime(d.sent_at, 'unixepoch') AS sent_at
           FROM deliveries d JOIN outbound o ON o.id = d.outbound_id WHERE lower(d.recipient) = :address ORDER BY d.id""",
        (
            # Mail written to the address alone (notices, reminders) goes with its deliveries.
            """DELETE FROM outbound WHERE kind != 'post'
                 AND id IN (SELECT outbound_id FROM deliveries WHERE lower(recipient) = :address)
                 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbound_id = outbound.id
                                 AND lower(d.recipient) != :address)""",
            "DELETE FROM deliveries WHERE lower(recipient) = :address",
        ),
    ),
    PersonData(
        "sent_copies", "outbound", "copies of the address's posts as sent to the list (the archive keeps the original)",
        """SELECT o.id, o.message_id, o.subject, o.created_at, length(o.body) AS bytes FROM outbound o
           WHERE o.kind = 'post' AND length(o.body) > 0
             AND o.message_id IN (SELECT message_id FROM archived_messages WHERE lower(from_address) = :address)
           ORDER BY o.id""",
        # Emptied once nobody waits for them; a copy still being delivered goes out first and
        # is emptied by [retention] delivered_bodies_days.
        ("""UPDATE outbound SET body = X'' WHERE kind = 'post'
              AND message_id IN (SELECT message_id FROM archived_messages WHERE lower(from_address) = :address)
              AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbound_id = outbound.id
                              AND d.status IN ('pending', 'deferred'))""",),
    ),
    PersonData(
        "delivery_failures", "delivery_failures", "refusals of mail to the address by the relay",
        "SELECT * FROM delivery_failures WHERE lower(recipient) = :address ORDER BY id",
        ("DELETE FROM delivery_failures WHERE lower(recipient) = :address",),
    ),
    PersonData(
        "bounce_events", "bounce_events", "bounce events (reports that mail to the address failed)",
        "SELECT * FROM bounce_events WHERE lower(email) = :address ORDER BY id",
        ("DELETE FROM bounce_events WHERE lower(email) = :address",),
    ),
    PersonData(
        "received", "received", "mail received from the address (the record of processing: route, subject, decision)",
        """SELECT id, route, message_id, envelope_sender, from_address, subject, size, action, reason, received_at
           FROM received WHERE lower(from_address) = :address OR lower(envelope_sender) = :address ORDER BY id""",
        ("DELETE FROM received WHERE lower(from_address) = :address OR lower(envelope_sender) = :address",),
    ),
    PersonData(
        "held", "held", "held mail from the address (with the message file)",
        """SELECT id, message_id, envelope_sender, from_address, subject, reason, route, status, held_at, decided_at,
                  decision_note, path
           FROM held WHERE lower(from_address) = :address OR lower(envelope_sender) = :address ORDER BY id""",
        (
            "DELETE FROM moderation_tokens WHERE held_id IN (SELECT id FROM held WHERE lower(from_address) = :address "
            "OR lower(envelope_sender) = :address)",
            "DELETE FROM held WHERE lower(from_address) = :address OR lower(envelope_sender) = :address",
        ),
        files="held",
    ),
    PersonData(
        "moderation", "moderation_tokens", "moderation decisions made by the address",
        "SELECT held_id, created_at, used_at, action FROM moderation_tokens WHERE lower(used_by) = :address",
        ("UPDATE moderation_tokens SET used_by = NULL WHERE lower(used_by) = :address",),
    ),
    PersonData(
        "tasks", "admin_tasks", "admin tasks the address asked for (unsubscribe requests)",
        "SELECT * FROM admin_tasks WHERE lower(requester) = :address ORDER BY id",
        ("DELETE FROM admin_tasks WHERE lower(requester) = :address",),
    ),
    PersonData(
        "reminders", "sent_reminders", "reminders sent to the address",
        "SELECT kind, meeting, member_name, sent_at FROM sent_reminders WHERE lower(recipient) = :address",
        ("DELETE FROM sent_reminders WHERE lower(recipient) = :address",),
    ),
    PersonData(
        "recipients", "recipients", "entries as a recipient of minutes and results for a member (issue 17)",
        """SELECT r.id, r.name, r.email, m.name AS member, r.gets, r.added_at
           FROM recipients r JOIN members m ON m.id = r.member_id WHERE lower(r.email) = :address ORDER BY r.id""",
        ("DELETE FROM recipients WHERE lower(email) = :address",),
    ),
    PersonData(
        "results_reminders", "results_reminders", "reminders of due results sent to the address",
        "SELECT result_id, kind, sent_at FROM results_reminders WHERE lower(recipient) = :address",
        ("DELETE FROM results_reminders WHERE lower(recipient) = :address",),
    ),
    PersonData(
        "results_tokens", "results_tokens", "tokens with which the address may correct the results of minutes",
        "SELECT archived_id, meeting_id, created_at FROM results_tokens WHERE lower(recipient) = :address",
        ("DELETE FROM results_tokens WHERE lower(recipient) = :address",),
    ),
    PersonData(
        "archived_posts", "archived_messages", "posts the address wrote, in the archive (kept: the record of a public body)",
        """SELECT id, message_id, date, from_name, subject, is_minutes, flags
           FROM archived_messages WHERE lower(from_address) = :address ORDER BY date, id""",
        (),  # kept; --archive redact rewrites their headers (see redact_archive)
    ),
)


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _normalise(address: str) -> str:
    address = (address or "").strip()
    if "@" not in address or any(character.isspace() for character in address):
        raise PersonError(f"{address!r} is not an e-mail address; give it as name@domain.")
    return address.lower()


def export(db: sqlite3.Connection, address: str) -> dict[str, Any]:
    """Everything stored about ``address``: one list of rows per PERSON_DATA entry."""
    address = _normalise(address)
    present = _tables(db)
    found: dict[str, Any] = {"address": address, "exported_at": _now(), "data": {}}
    for entry in PERSON_DATA:
        if entry.table not in present:
            continue
        rows = [dict(row) for row in db.execute(entry.select, {"address": address})]
        for row in rows:
            for key, value in row.items():
                if isinstance(value, bytes):
                    row[key] = value.decode("utf-8", "replace")
                elif key == "member_periods" and isinstance(value, str):
                    row[key] = json.loads(value)
        found["data"][entry.key] = {"description": entry.description, "rows": rows}
    return found


def is_empty(exported: dict[str, Any]) -> bool:
    return not any(section["rows"] for section in exported["data"].values())


@dataclass
class Erasure:
    """What an erasure removed, per PERSON_DATA key, and what happened to the archive."""

    removed: dict[str, int]
    archive: str
    archived_posts: int
    redacted: int
    files_removed: int
    address_hash: str
    still_configured: list[str]

    def lines(self) -> list[str]:
        out = []
        for key, count in self.removed.items():
            if count:
                out.append(f"  removed {count} {key.replace('_', ' ')}")
        if self.archive == "redact":
            out.append(f"  redacted the headers of {self.redacted} archived post(s): these archive copies are no longer "
                       "the bytes received (each says so in its X-AKN-Redacted header)")
        elif self.archived_posts:
            out.append(f"  kept {self.archived_posts} archived post(s) unchanged (the record of a public body; "
                       "--archive redact replaces name and address in their headers)")
        for place in self.still_configured:
            out.append(f"  still named in the config file: {place}; remove it there")
        return out


def salt(db: sqlite3.Connection) -> str:
    """The installation's salt for the erasure log (made on first use, kept in settings)."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", (SALT_SETTING,)).fetchone()
    if row is not None:
        return row[0]
    value = secrets.token_hex(16)
    db.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", (SALT_SETTING, value))
    return db.execute("SELECT value FROM settings WHERE key = ?", (SALT_SETTING,)).fetchone()[0]


def address_hash(db: sqlite3.Connection, address: str) -> str:
    """``sha256:<hex>`` of salt + lower-cased address: how the erasure log names a person."""
    return "sha256:" + hashlib.sha256((salt(db) + _normalise(address)).encode("utf-8")).hexdigest()


def erase(config: Config, db: sqlite3.Connection, address: str, archive_mode: str = "keep", archive=None) -> Erasure:
    """Remove ``address`` from every PERSON_DATA table; keep or redact the archive; log it."""
    if archive_mode not in ("keep", "redact"):
        raise PersonError(f"--archive must be keep or redact, not {archive_mode!r}.")
    address = _normalise(address)
    present = _tables(db)
    removed: dict[str, int] = {}
    files: list[Path] = []
    with db_module.transaction(db):
        hashed = address_hash(db, address)
        for entry in PERSON_DATA:
            if entry.table not in present or not entry.erase:
                continue
            if entry.files:
                files += [Path(config.data_dir) / entry.files / row["path"]
                          for row in db.execute(entry.select, {"address": address})]
            removed[entry.key] = len(db.execute(entry.select, {"address": address}).fetchall())
            for statement in entry.erase:
                db.execute(statement, {"address": address})
        archived = db.execute("SELECT count(*) FROM archived_messages WHERE lower(from_address) = ?", (address,)).fetchone()[0]
    files_removed = 0
    for path in files:
        if path.resolve().parent == (Path(config.data_dir) / "held").resolve():
            try:
                path.unlink()
                files_removed += 1
            except FileNotFoundError:
                pass
    if files:
        fsync_directory(Path(config.data_dir) / "held")
    redacted = 0
    if archive_mode == "redact" and archived:
        redacted = redact_archive(config, db, address, hashed, archive=archive)
    result = Erasure(removed=removed, archive=archive_mode, archived_posts=archived, redacted=redacted,
                     files_removed=files_removed, address_hash=hashed,
                     still_configured=_configured(config, address))
    _log_erasure(config, result)
    return result


def _configured(config: Config, address: str) -> list[str]:
    places = []
    for name, values in (("[list] admins", config.list.admins), ("[list] moderators", config.list.moderators)):
        if address in (value.lower() for value in values):
            places.append(name)
    return places


def _log_erasure(config: Config, result: Erasure) -> None:
    """One JSON line in <data_dir>/erasure.log (appended, fsynced) and one log line."""
    operator = _operator()
    record = {
        "date": _now(), "operator": operator, "address_sha256": result.address_hash,
        "removed": {key: count for key, count in result.removed.items() if count},
        "held_files_removed": result.files_removed,
        "archive": result.archive, "archived_posts": result.archived_posts, "archive_redacted": result.redacted,
    }
    path = Path(config.data_dir) / ERASURE_LOG
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    logs.event(log, "erased", person=result.address_hash, operator=operator, archive=result.archive,
               removed=sum(result.removed.values()), redacted=result.redacted)


def _operator() -> str:
    """Who ran the erasure: the user, and the person behind sudo when there is one
    (``sudo -u akn-mail akn-mail person erase …`` is how operators run it)."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        user = str(os.getuid())
    behind = os.environ.get("SUDO_USER")
    return f"{user} (sudo by {behind})" if behind and behind != user else user


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- --archive redact -----------------------------------------------------------------------

def redacted_address(hashed: str) -> str:
    """The stand-in address: stable per person, so threads by one author stay together."""
    return f"geloescht-{hashed.split(':')[-1][:12]}@redacted.invalid"


def redact_headers(raw: bytes, address: str, hashed: str, when: str | None = None) -> bytes:
    """``raw`` with every header naming ``address`` rewritten; the body is untouched.

    In address headers (From, To, Cc, ...) the person's entry becomes
    ``Gelöschte Person <geloescht-…@redacted.invalid>``, others stay; an
    ``X-AKN-Redacted`` header says the copy is no longer the bytes received.
    """
    from email.header import decode_header, make_header
    from email.utils import formataddr, getaddresses

    head, separator, body = _split(raw)
    newline = b"\r\n" if b"\r\n" in head or b"\r\n" in separator else b"\n"
    stand_in = redacted_address(hashed)
    fields = _unfold(head)
    out = []
    changed = False
    for name, value in fields:
        if name.decode("ascii", "replace").strip().lower() in {h.lower() for h in ADDRESS_HEADERS}:
            text = value.decode("utf-8", "replace")
            try:
                decoded = str(make_header(decode_header(text)))
            except Exception:  # noqa: BLE001 - a broken encoded word: judge the raw text
                decoded = text
            if address in decoded.lower():
                pairs = getaddresses([decoded])
                rewritten = []
                for display, mail_address in pairs:
                    if mail_address.lower() == address:
                        rewritten.append(formataddr((REDACTED_NAME, stand_in), charset="utf-8"))
                    elif mail_address:
                        rewritten.append(formataddr((display, mail_address), charset="utf-8"))
                value = (" " + ", ".join(rewritten)).encode("utf-8")
                changed = True
        out.append(name + b":" + value)
    if not changed:
        return raw
    note = (f"{REDACTED_HEADER}: {when or _now()}; name and address of an erased person replaced "
            "(DSGVO Art. 17); this copy is no longer the message as received").encode("ascii")
    return newline.join([note] + out) + separator + body


def _split(raw: bytes) -> tuple[bytes, bytes, bytes]:
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = raw.find(separator)
        if index != -1:
            return raw[:index], separator, raw[index + len(separator):]
    return raw, b"", b""


def _unfold(head: bytes) -> list[tuple[bytes, bytes]]:
    """Header fields as (name, value) with folded lines joined (each keeps its line breaks)."""
    fields: list[list[bytes]] = []
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += line
        else:
            name, _, value = line.partition(b":")
            fields.append([name, value])
    return [(name, value.rstrip(b"\r\n")) for name, value in fields]


def redact_archive(config: Config, db: sqlite3.Connection, address: str, hashed: str, archive=None) -> int:
    """Rewrite the headers of the address's archived posts: Maildir file, database row, index."""
    if archive is None:
        from akn_mail.archive.filing import Archive

        archive = Archive(config, db)
    rows = db.execute("SELECT id, maildir_key FROM archived_messages WHERE lower(from_address) = ?", (address,)).fetchall()
    when = _now()
    count = 0
    for row in rows:
        raw = archive.maildir.get(row["maildir_key"])
        changed = redact_headers(raw, address, hashed, when)
        if changed == raw:
            continue
        _replace_maildir_file(archive.maildir.path, row["maildir_key"], changed)
        with db_module.transaction(db):
            flags = db.execute("SELECT flags FROM archived_messages WHERE id = ?", (row["id"],)).fetchone()[0].split()
            if "redacted" not in flags:
                flags.append("redacted")
            db.execute(
                "UPDATE archived_messages SET from_address = ?, from_name = ?, size = ?, flags = ?, indexed = 0 WHERE id = ?",
                (redacted_address(hashed), REDACTED_NAME, len(changed), " ".join(flags), row["id"]),
            )
        count += 1
    if count:
        archive.index_pending()  # re-indexes the rows marked indexed = 0 (update_document)
    return count


def _replace_maildir_file(maildir: Path, key: str, data: bytes) -> None:
    """Replace one message's file atomically: write beside it, fsync, rename over it."""
    from akn_mail.files import write_durably

    for sub in ("cur", "new"):
        for candidate in (maildir / sub / f"{key}:2,S", maildir / sub / key):
            if candidate.exists():
                write_durably(data, maildir / "tmp" / f"{key}.redact", candidate)
                return
    raise PersonError(f"archived message {key} is missing from the Maildir {maildir}; restore it from a backup.")


def parse_address(text: str) -> str:
    """An address as a person may type it ('Anna <anna@x>' or 'anna@x')."""
    return email.utils.parseaddr(text)[1] or text
