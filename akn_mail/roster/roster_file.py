"""Roster files: import and export of members and contacts as CSV or JSON.

CSV, one row per contact (a member without contacts gets one row with empty contact cells):
``member,kind,hosts,contact_name,contact_email`` and optionally ``joined,left`` (ISO dates;
empty joined = member since before the records began; several periods of membership are
written as several dates separated by spaces, paired in order). A comma or semicolon as
separator, UTF-8 with or without BOM. JSON: ``{"members": [...]}`` as ``export`` writes it.

Import applies the file in one transaction: members are created or updated (kind, hosts,
and the periods when the file has the joined column), contacts are added, renamed or moved
to the member of the file; a broken file reports its line and imports nothing. Export
writes what import reads, so the two round-trip.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import unicodedata
from dataclasses import dataclass, field

from akn_mail.db import transaction
from akn_mail.errors import AknError
from akn_mail.roster.members import KINDS, Period, Roster
from akn_mail.text import unsafe_character

REQUIRED_COLUMNS = ("member", "kind", "hosts", "contact_name", "contact_email")
OPTIONAL_COLUMNS = ("joined", "left")
FORMATS = ("csv", "json")
_YES = {"yes", "y", "true", "1", "ja", "j"}
_NO = {"no", "n", "false", "0", "nein"}


class RosterFileError(AknError):
    """A roster file that cannot be imported; nothing of it was imported."""


@dataclass
class _MemberEntry:
    name: str
    kind: str
    hosts: bool
    periods: list[Period] | None  # None: the file says nothing about membership dates
    # (email, name, delivery enabled, disabled reason, where in the file)
    contacts: list[tuple[str, str, bool, str, str]] = field(default_factory=list)
    where: str = ""


@dataclass
class ImportResult:
    members_added: int = 0
    members_updated: int = 0
    contacts_added: int = 0
    contacts_updated: int = 0

    def __str__(self) -> str:
        return (
            f"{self.members_added} members added, {self.members_updated} updated; "
            f"{self.contacts_added} contacts added, {self.contacts_updated} updated"
        )


def _hosts(value: str, where: str) -> bool:
    text = value.strip().casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise RosterFileError(f"{where}: hosts must be yes or no, not \"{value}\"; nothing was imported.")


def _dates(value: str, column: str, where: str) -> list[datetime.date | None]:
    """Dates separated by spaces; "-" stands for an unknown first joining date."""
    dates: list[datetime.date | None] = []
    for part in value.split():
        if part == "-" and column == "joined" and not dates:
            dates.append(None)
            continue
        try:
            dates.append(datetime.date.fromisoformat(part))
        except ValueError:
            raise RosterFileError(f"{where}: {column} \"{part}\" is not a date YYYY-MM-DD; nothing was imported.") from None
    return dates


def _periods(starts: list[datetime.date | None], ends: list[datetime.date | None], where: str) -> list[Period]:
    starts = starts or [None]
    if len(ends) > len(starts) or len(ends) < len(starts) - 1:
        raise RosterFileError(
            f"{where}: {len(starts)} joined and {len(ends)} left dates do not pair up "
            "(every period but the last needs a left date); nothing was imported."
        )
    ends = ends + [None] * (len(starts) - len(ends))
    periods = [Period(start, end) for start, end in zip(starts, ends)]
    for number, period in enumerate(periods):
        if period.joined and period.left and period.left < period.joined:
            raise RosterFileError(f"{where}: left {period.left} is before joined {period.joined}; nothing was imported.")
        if number and (periods[number - 1].left is None or period.joined is None or period.joined <= periods[number - 1].left):
            raise RosterFileError(f"{where}: the periods of membership overlap or are out of order; nothing was imported.")
    return periods


def _format_dates(dates: list[datetime.date | None]) -> str:
    """The inverse of _dates: "-" for an unknown first joining date when more follow."""
    if len(dates) == 1 and dates[0] is None:
        return ""
    return " ".join(day.isoformat() if day else "-" for day in dates)


# -- reading -------------------------------------------------------------------------------


def parse_csv(text: str, source: str = "roster.csv") -> list[_MemberEntry]:
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip() for name in (reader.fieldnames or [])]
    if not header:
        raise RosterFileError(f"{source} is empty; it needs the header {','.join(REQUIRED_COLUMNS)}.")
    reader.fieldnames = header
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise RosterFileError(
            f"{source} line 1: missing column {', '.join(missing)}; the header must be "
            f"{','.join(REQUIRED_COLUMNS)} (optionally ,{','.join(OPTIONAL_COLUMNS)}). Nothing was imported."
        )
    unknown = [column for column in header if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise RosterFileError(
            f"{source} line 1: unknown column {', '.join(unknown)}; the columns are "
            f"{','.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}. Nothing was imported."
        )
    has_dates = "joined" in header or "left" in header
    entries: dict[str, _MemberEntry] = {}
    seen: dict[str, str] = {}  # address -> where it was first seen
    try:
        for row in reader:
            where = f"{source} line {reader.line_num}"
            if None in row:
                raise RosterFileError(f"{where}: more cells than columns; nothing was imported.")
            if all(not (value or "").strip() for value in row.values()):
                continue
            if any(value is None for value in row.values()):
                raise RosterFileError(f"{where}: fewer cells than columns; nothing was imported.")
            name = row["member"].strip()
            if unsafe_character(name) is None:
                name = " ".join(name.split())
            if not name:
                raise RosterFileError(f"{where}: the member cell is empty; nothing was imported.")
            kind = row["kind"].strip()
            if kind not in KINDS:
                raise RosterFileError(f"{where}: unknown kind \"{kind}\"; use one of: {', '.join(KINDS)}. Nothing was imported.")
            hosts = _hosts(row["hosts"], where)
            periods = None
            if has_dates:
                periods = _periods(
                    _dates(row.get("joined") or "", "joined", where), _dates(row.get("left") or "", "left", where), where
                )
            entry = entries.get(_folded(name))
            if entry is None:
                entry = entries[_folded(name)] = _MemberEntry(name, kind, hosts, periods, where=where)
            elif (entry.kind, entry.hosts, entry.periods) != (kind, hosts, periods):
                raise RosterFileError(
                    f"{where}: {name} has a different kind, hosts or joined/left than on {entry.where.split(' ', 1)[1]}; "
                    "give a member the same values on every row. Nothing was imported."
                )
            email = row["contact_email"].strip()
            if email:
                if email.casefold() in seen:
                    raise RosterFileError(
                        f"{where}: {email} is in the file twice (also on {seen[email.casefold()]}); nothing was imported."
                    )
                seen[email.casefold()] = f"line {reader.line_num}"
                entry.contacts.append((email, row["contact_name"], True, "", where))
            elif row["contact_name"].strip():
                raise RosterFileError(f"{where}: contact_name without contact_email; nothing was imported.")
    except csv.Error as error:
        raise RosterFileError(f"{source} line {reader.line_num}: {error}; nothing was imported.") from None
    return list(entries.values())


def parse_json(text: str, source: str = "roster.json") -> list[_MemberEntry]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RosterFileError(f"{source} line {error.lineno}: {error.msg}; nothing was imported.") from None
    members = data.get("members") if isinstance(data, dict) else data
    if not isinstance(members, list):
        raise RosterFileError(f"{source}: expected {{\"members\": [...]}} as written by 'akn-mail roster export --format json'.")
    entries = []
    for number, item in enumerate(members, start=1):
        where = f"{source} member {number}"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise RosterFileError(f"{where}: each member needs a \"name\"; nothing was imported.")
        where = f"{where} ({item['name']})"
        kind = item.get("kind", "municipality")
        if kind not in KINDS:
            raise RosterFileError(f"{where}: unknown kind \"{kind}\"; use one of: {', '.join(KINDS)}. Nothing was imported.")
        hosts = item.get("hosts", kind != "advisor")
        if not isinstance(hosts, bool):
            hosts = _hosts(str(hosts), where)
        periods = None
        if "periods" in item:
            raw = item["periods"] or [{}]
            if not all(isinstance(period, dict) for period in raw):
                raise RosterFileError(f"{where}: periods must be objects with joined and left; nothing was imported.")
            starts = [_dates(p.get("joined") or "", "joined", where)[:1] or [None] for p in raw]
            ends = [_dates(p.get("left") or "", "left", where)[:1] for p in raw]
            left = [end[0] for end in ends if end]
            if any(not end for end in ends[:-1]):
                raise RosterFileError(f"{where}: every period but the last needs a left date; nothing was imported.")
            periods = _periods([start[0] for start in starts], left, where)
        entry = _MemberEntry(item["name"], kind, hosts, periods, where=where)
        for contact in item.get("contacts") or []:
            if not isinstance(contact, dict) or not contact.get("email"):
                raise RosterFileError(f"{where}: each contact needs an \"email\"; nothing was imported.")
            entry.contacts.append(
                (contact["email"], contact.get("name") or "", bool(contact.get("delivery_enabled", True)),
                 contact.get("disabled_reason") or "", where)
            )
        entries.append(entry)
    return entries


def _folded(name: str) -> str:
    """A member name compared as the roster compares it (case and Unicode form do not matter)."""
    return unicodedata.normalize("NFC", name).casefold()


def detect_format(path: str, text: str) -> str:
    if path.lower().endswith(".json") or text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
        return "json"
    return "csv"


def import_roster(roster: Roster, text: str, source: str = "roster.csv", format: str | None = None) -> ImportResult:
    """Apply a roster file in one transaction; on any error nothing is changed."""
    format = format or detect_format(source, text)
    entries = parse_json(text, source) if format == "json" else parse_csv(text, source)
    result = ImportResult()
    db = roster.db
    with transaction(db):
        for entry in entries:
            try:
                existing = {_folded(member.name): member for member in roster.members()}.get(_folded(entry.name))
                if existing is None:
                    first = entry.periods[0].joined if entry.periods else None
                    member = roster.add_member(entry.name, entry.kind, entry.hosts, first)
                    result.members_added += 1
                else:
                    member = roster.update_member(existing.name, entry.kind, entry.hosts)
                    result.members_updated += 1
                if entry.periods is not None:
                    db.execute("DELETE FROM memberships WHERE member_id = ?", (member.id,))
                    for period in entry.periods:
                        db.execute(
                            "INSERT INTO memberships (member_id, joined, left) VALUES (?, ?, ?)",
                            (member.id, period.joined.isoformat() if period.joined else None,
                             period.left.isoformat() if period.left else None),
                        )
            except AknError as error:
                raise RosterFileError(f"{entry.where}: {error} Nothing was imported.") from None
            for email, name, enabled, reason, where in entry.contacts:
                try:
                    contact = roster.find_contact(email)
                    if contact is None:
                        roster.add_contact(member.name, email, name)
                        result.contacts_added += 1
                    else:
                        if contact.member_id != member.id:
                            roster.move_contact(email, member.name)
                        roster.update_contact(email, name)
                        result.contacts_updated += 1
                    if not enabled:
                        roster.set_delivery(email, False, reason)
                except AknError as error:
                    raise RosterFileError(f"{where}: {error} Nothing was imported.") from None
    return result


# -- writing -------------------------------------------------------------------------------


def _member_dates(member) -> tuple[str, str]:
    left = " ".join(period.left.isoformat() for period in member.periods if period.left)
    return _format_dates([period.joined for period in member.periods]), left


def export_csv(roster: Roster) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    contacts = roster.contacts()
    for member in roster.members():
        joined, left = _member_dates(member)
        own = [contact for contact in contacts if contact.member_id == member.id]
        hosts = "yes" if member.hosts else "no"
        if not own:
            writer.writerow([member.name, member.kind, hosts, "", "", joined, left])
        for contact in own:
            writer.writerow([member.name, member.kind, hosts, contact.name, contact.email, joined, left])
    return out.getvalue()


def roster_json(roster: Roster, on: datetime.date | None = None) -> dict:
    """The roster as the stable JSON structure of ``export --format json`` and ``member list --json``."""
    contacts = roster.contacts()
    members = []
    for member in roster.members():
        members.append({
            "name": member.name,
            "kind": member.kind,
            "hosts": member.hosts,
            "joined": member.joined.isoformat() if member.joined else None,
            "left": member.left.isoformat() if member.left else None,
            "current": member.is_member_on(on),
            "periods": [
                {"joined": p.joined.isoformat() if p.joined else None, "left": p.left.isoformat() if p.left else None}
                for p in member.periods
            ],
            "contacts": [contact_json(contact) for contact in contacts if contact.member_id == member.id],
        })
    return {"members": members}


def contact_json(contact) -> dict:
    return {
        "email": contact.email,
        "name": contact.name,
        "member": contact.member_name,
        "member_kind": contact.member_kind,
        "delivery_enabled": contact.delivery_enabled,
        "disabled_reason": contact.disabled_reason,
    }


def export_json(roster: Roster) -> str:
    return json.dumps(roster_json(roster), ensure_ascii=False, indent=2) + "\n"


def export_roster(roster: Roster, format: str = "csv") -> str:
    if format not in FORMATS:
        raise RosterFileError(f"unknown format \"{format}\"; use csv or json.")
    return export_json(roster) if format == "json" else export_csv(roster)
