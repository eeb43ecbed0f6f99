"""Roster files: import and export of members and contacts as CSV or JSON.

CSV, one row per contact (a member without contacts gets one row with empty contact cells):
``member,kind,hosts,contact_name,contact_email`` and optionally ``joined,left`` (dates
YYYY-MM-DD or DD.MM.YYYY; empty joined = member since before the records began; several
periods of membership are written as several dates separated by spaces, paired in order).
A comma, semicolon or tab as separator, UTF-8 with or without BOM; kinds in any case and in
German. JSON: ``{"members": [...]}`` as ``export`` writes it.

Import applies the file in one transaction: members are created or updated (kind, hosts,
and the periods when the file has the joined column), contacts are added, renamed or moved
to the member of the file; a broken file reports every problem with its line and imports
nothing. A name that is a typo of an existing member is refused (the roster's one matcher,
``match_member``), so a typo never creates a second member. Every change is listed in the
result, and a dry run shows them without keeping any. Export writes what import reads, so
the two round-trip.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from dataclasses import dataclass, field

from akn_mail.db import dry_run_transaction
from akn_mail.errors import AknError
from akn_mail.roster.members import Member, Period, Roster, match_member
from akn_mail.roster.quarter import parse_date
from akn_mail.roster.recipients import Recipients
from akn_mail.text import fold, unsafe_character

REQUIRED_COLUMNS = ("member", "kind", "hosts", "contact_name", "contact_email")
OPTIONAL_COLUMNS = ("joined", "left")
FORMATS = ("csv", "json")
_YES = {"yes", "y", "true", "1", "ja", "j"}
_NO = {"no", "n", "false", "0", "nein"}


class RosterFileError(AknError):
    """A roster file that cannot be imported; nothing of it was imported.

    Carries every problem found in the file (up to MAX_PROBLEMS), so that a person fixes
    them all in one go instead of one per attempt."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems  # (where in the file or "", what is wrong)
        super().__init__(self._text())

    def _text(self) -> str:
        if len(self.problems) == 1:
            where, text = self.problems[0]
            return f"{self.source}{' ' + where if where else ''}: {text}. Nothing was imported."
        shown = self.problems[:MAX_PROBLEMS]
        lines = [f"{self.source} has {len(self.problems)} problems; nothing was imported:"]
        lines += [f"  {where + ': ' if where else ''}{text}." for where, text in shown]
        if len(self.problems) > len(shown):
            lines.append(f"  ... and {len(self.problems) - len(shown)} more.")
        return "\n".join(lines)


MAX_PROBLEMS = 20


class _Problem(Exception):
    """One problem of one row; collected, never shown alone."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text.rstrip(".")


@dataclass
class _MemberEntry:
    name: str
    kind: str
    hosts: bool
    periods: list[Period] | None  # None: the file says nothing about membership dates
    # (email, name, delivery enabled, disabled reason, where in the file)
    contacts: list[tuple[str, str, bool, str, str]] = field(default_factory=list)
    where: str = ""


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


@dataclass
class ImportResult:
    """What an import did (or, as a dry run, would do): counts and one line per change."""

    members_added: int = 0
    members_changed: int = 0
    members_unchanged: int = 0
    contacts_added: int = 0
    contacts_changed: int = 0
    contacts_unchanged: int = 0
    changes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{_count(self.members_added, 'member')} added, {self.members_changed} changed, "
            f"{self.members_unchanged} unchanged; {_count(self.contacts_added, 'contact')} added, "
            f"{self.contacts_changed} changed, {self.contacts_unchanged} unchanged"
        )


# Kinds as a German administration writes them, in any case.
KIND_NAMES = {
    "municipality": "municipality", "kommune": "municipality", "gemeinde": "municipality", "stadt": "municipality",
    "county": "county", "kreis": "county",
    "advisor": "advisor", "beratung": "advisor", "berater": "advisor", "beraterin": "advisor",
}
KINDS_HELP = "municipality (Kommune), county (Kreis), advisor (Beratung)"


def _kind(value: str) -> str:
    kind = KIND_NAMES.get(" ".join(value.split()).casefold())
    if kind is None:
        raise _Problem(f"unknown kind \"{value.strip()}\"; use one of: {KINDS_HELP}")
    return kind


def _hosts(value: str) -> bool:
    text = value.strip().casefold()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise _Problem(f"hosts must be yes or no (ja or nein), not \"{value}\"")


def _dates(value: str, column: str) -> list[datetime.date | None]:
    """Dates separated by spaces (YYYY-MM-DD or DD.MM.YYYY); "-" stands for an unknown
    first joining date."""
    dates: list[datetime.date | None] = []
    for part in value.split():
        if part == "-" and column == "joined" and not dates:
            dates.append(None)
            continue
        try:
            dates.append(parse_date(part, column))
        except AknError:
            raise _Problem(f"{column} \"{part}\" is not a date YYYY-MM-DD or DD.MM.YYYY") from None
    return dates


def _periods(starts: list[datetime.date | None], ends: list[datetime.date | None]) -> list[Period]:
    starts = starts or [None]
    if len(ends) > len(starts) or len(ends) < len(starts) - 1:
        raise _Problem(
            f"{len(starts)} joined and {len(ends)} left dates do not pair up (every period but the last needs a left date)"
        )
    ends = ends + [None] * (len(starts) - len(ends))
    periods = [Period(start, end) for start, end in zip(starts, ends)]
    for number, period in enumerate(periods):
        if period.joined and period.left and period.left < period.joined:
            raise _Problem(f"left {period.left} is before joined {period.joined}")
        if number and (periods[number - 1].left is None or period.joined is None or period.joined <= periods[number - 1].left):
            raise _Problem("the periods of membership overlap or are out of order")
    return periods


def _format_dates(dates: list[datetime.date | None]) -> str:
    """The inverse of _dates: "-" for an unknown first joining date when more follow."""
    if len(dates) == 1 and dates[0] is None:
        return ""
    return " ".join(day.isoformat() if day else "-" for day in dates)


# -- reading -------------------------------------------------------------------------------


def _delimiter(first_line: str) -> str:
    """Tab, semicolon or comma: whichever the header line uses most (German Excel writes ';')."""
    counts = {delimiter: first_line.count(delimiter) for delimiter in ("\t", ";", ",")}
    return max(counts, key=lambda delimiter: counts[delimiter])


def _header_name(cell: str) -> str:
    """A header cell as the column it names: any case, spaces or dashes for underscores."""
    return "_".join(cell.strip().casefold().replace("-", " ").split())


class _Entries:
    """Members read from a file, one entry per member however its name is spelt."""

    def __init__(self):
        self.by_key: dict[str, _MemberEntry] = {}

    def add(self, name: str, kind: str, hosts: bool, periods, where: str) -> _MemberEntry:
        entry = self.by_key.get(fold(name))
        if entry is None:
            others = [Member(0, other.name, other.kind, other.hosts, None, None) for other in self.by_key.values()]
            _, near = match_member(name, others)
            if near is not None:
                raise _Problem(
                    f"\"{name}\" is too close to \"{near.name}\" ({self.by_key[fold(near.name)].where}) to be another member; "
                    f"write the same name on every row of a member"
                )
            entry = self.by_key[fold(name)] = _MemberEntry(name, kind, hosts, periods, where=where)
        elif (entry.kind, entry.hosts, entry.periods) != (kind, hosts, periods):
            raise _Problem(
                f"{name} has a different kind, hosts or joined/left than on {entry.where}; "
                "give a member the same values on every row"
            )
        return entry


def parse_csv(text: str, source: str = "roster.csv") -> list[_MemberEntry]:
    entries, problems = _read_csv(text, source)
    if problems:
        raise RosterFileError(source, problems)
    return entries


def _read_csv(text: str, source: str) -> tuple[list[_MemberEntry], list[tuple[str, str]]]:
    """The entries of the rows that are fine, and the problems of the others."""
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = _delimiter(first_line)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [_header_name(name) for name in (reader.fieldnames or [])]
    if not header:
        raise RosterFileError(source, [("", f"the file is empty; it needs the header {','.join(REQUIRED_COLUMNS)}")])
    reader.fieldnames = header
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise RosterFileError(source, [(
            "line 1",
            f"missing column {', '.join(missing)}; the header must be {','.join(REQUIRED_COLUMNS)} "
            f"(optionally ,{','.join(OPTIONAL_COLUMNS)}), separated by commas, semicolons or tabs",
        )])
    unknown = [column for column in header if column not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise RosterFileError(source, [(
            "line 1", f"unknown column {', '.join(unknown)}; the columns are {','.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
        )])
    has_dates = "joined" in header or "left" in header
    entries = _Entries()
    seen: dict[str, str] = {}  # address -> where it was first seen
    problems: list[tuple[str, str]] = []
    try:
        for row in reader:
            where = f"line {reader.line_num}"
            try:
                _csv_row(row, where, has_dates, entries, seen)
            except _Problem as problem:
                problems.append((where, problem.text))
    except csv.Error as error:
        problems.append((f"line {reader.line_num}", str(error)))
    return list(entries.by_key.values()), problems


def _csv_row(row: dict, where: str, has_dates: bool, entries: _Entries, seen: dict[str, str]) -> None:
    if None in row:
        raise _Problem("more cells than columns")
    if all(not (value or "").strip() for value in row.values()):
        return
    if any(value is None for value in row.values()):
        raise _Problem("fewer cells than columns")
    name = row["member"].strip()
    if unsafe_character(name) is None:
        name = " ".join(name.split())
    if not name:
        raise _Problem("the member cell is empty")
    kind = _kind(row["kind"])
    hosts = _hosts(row["hosts"])
    periods = None
    if has_dates:
        periods = _periods(_dates(row.get("joined") or "", "joined"), _dates(row.get("left") or "", "left"))
    entry = entries.add(name, kind, hosts, periods, where)
    email = row["contact_email"].strip()
    if email:
        if email.casefold() in seen:
            raise _Problem(f"{email} is in the file twice (also on {seen[email.casefold()]})")
        seen[email.casefold()] = where
        entry.contacts.append((email, row["contact_name"], True, "", where))
    elif row["contact_name"].strip():
        raise _Problem("contact_name without contact_email")


def parse_json(text: str, source: str = "roster.json") -> list[_MemberEntry]:
    entries, problems = _read_json(text, source)
    if problems:
        raise RosterFileError(source, problems)
    return entries


def _read_json(text: str, source: str) -> tuple[list[_MemberEntry], list[tuple[str, str]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RosterFileError(source, [(f"line {error.lineno}", error.msg)]) from None
    members = data.get("members") if isinstance(data, dict) else data
    if not isinstance(members, list):
        raise RosterFileError(source, [("", "expected {\"members\": [...]} as written by 'akn-mail roster export --format json'")])
    entries = _Entries()
    problems: list[tuple[str, str]] = []
    for number, item in enumerate(members, start=1):
        where = f"member {number}"
        try:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise _Problem("each member needs a \"name\"")
            where = f"{where} ({item['name']})"
            _json_member(item, where, entries)
        except _Problem as problem:
            problems.append((where, problem.text))
    return list(entries.by_key.values()), problems


def _json_member(item: dict, where: str, entries: _Entries) -> None:
    kind = _kind(str(item.get("kind", "municipality")))
    hosts = item.get("hosts", kind != "advisor")
    if not isinstance(hosts, bool):
        hosts = _hosts(str(hosts))
    periods = None
    if "periods" in item:
        raw = item["periods"] or [{}]
        if not all(isinstance(period, dict) for period in raw):
            raise _Problem("periods must be objects with joined and left")
        starts = [_dates(p.get("joined") or "", "joined")[:1] or [None] for p in raw]
        ends = [_dates(p.get("left") or "", "left")[:1] for p in raw]
        left = [end[0] for end in ends if end]
        if any(not end for end in ends[:-1]):
            raise _Problem("every period but the last needs a left date")
        periods = _periods([start[0] for start in starts], left)
    entry = entries.add(item["name"], kind, hosts, periods, where)
    for contact in item.get("contacts") or []:
        if not isinstance(contact, dict) or not contact.get("email"):
            raise _Problem("each contact needs an \"email\"")
        entry.contacts.append(
            (contact["email"], contact.get("name") or "", bool(contact.get("delivery_enabled", True)),
             contact.get("disabled_reason") or "", where)
        )


def detect_format(path: str, text: str) -> str:
    if path.lower().endswith(".json") or text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
        return "json"
    return "csv"


def _describe_periods(periods) -> str:
    return ", ".join(
        f"{period.joined or 'founding'} to {period.left or 'today'}" for period in periods
    ) or "founding member"


def import_roster(
    roster: Roster, text: str, source: str = "roster.csv", format: str | None = None, dry_run: bool = False
) -> ImportResult:
    """Apply a roster file in one transaction; on any problem nothing is changed, and with
    dry_run nothing is changed either: the result lists what would change."""
    format = format or detect_format(source, text)
    entries, problems = _read_json(text, source) if format == "json" else _read_csv(text, source)
    result = ImportResult()
    db = roster.db
    # With problems in the file already, the rest is still tried (and rolled back) so
    # that the person sees every problem at once.
    with dry_run_transaction(db, dry_run or bool(problems)):
        for entry in entries:
            try:
                member = _apply_member(roster, entry, result)
            except (AknError, _Problem) as error:
                problems.append((entry.where, str(error).rstrip(".")))
                continue
            for email, name, enabled, reason, where in entry.contacts:
                try:
                    _apply_contact(roster, member, email, name, enabled, reason, result)
                except AknError as error:
                    problems.append((where, str(error).rstrip(".")))
        if problems:
            problems.sort(key=lambda problem: _line_number(problem[0]))
            raise RosterFileError(source, problems)
    return result


def _line_number(where: str) -> int:
    digits = "".join(ch if ch.isdigit() else " " for ch in where).split()
    return int(digits[0]) if digits else 0


def _apply_member(roster: Roster, entry: _MemberEntry, result: ImportResult) -> Member:
    existing, near = match_member(entry.name, roster.members())
    if existing is None and near is not None:
        raise _Problem(
            f"no member named \"{entry.name}\", and it is too close to \"{near.name}\" to be a new one. "
            f"Did you mean \"{near.name}\"? Correct the name in the file"
        )
    db = roster.db
    if existing is None:
        first = entry.periods[0].joined if entry.periods else None
        member = roster.add_member(entry.name, entry.kind, entry.hosts, first)
        result.members_added += 1
        result.changes.append(f"new member {member.name} ({member.kind}, hosts: {'yes' if member.hosts else 'no'})")
    else:
        differences = []
        if existing.kind != entry.kind:
            differences.append(f"kind {existing.kind} -> {entry.kind}")
        if existing.hosts != entry.hosts:
            differences.append(f"hosts {'yes' if existing.hosts else 'no'} -> {'yes' if entry.hosts else 'no'}")
        if entry.periods is not None and list(existing.periods) != list(entry.periods):
            differences.append(f"membership {_describe_periods(existing.periods)} -> {_describe_periods(entry.periods)}")
        member = roster.update_member(existing.name, entry.kind, entry.hosts)
        if differences:
            result.members_changed += 1
            result.changes.append(f"member {member.name}: {'; '.join(differences)}")
        else:
            result.members_unchanged += 1
    if entry.periods is not None:
        db.execute("DELETE FROM memberships WHERE member_id = ?", (member.id,))
        for period in entry.periods:
            db.execute(
                "INSERT INTO memberships (member_id, joined, left) VALUES (?, ?, ?)",
                (member.id, period.joined.isoformat() if period.joined else None,
                 period.left.isoformat() if period.left else None),
            )
    return member


def _apply_contact(roster: Roster, member: Member, email: str, name: str, enabled: bool, reason: str, result: ImportResult) -> None:
    contact = roster.find_contact(email)
    if contact is None:
        added = roster.add_contact(member.name, email, name)
        result.contacts_added += 1
        result.changes.append(f"new contact {added.email} ({added.name or 'no name'}) of {member.name}")
    else:
        differences = []
        if contact.member_id != member.id:
            roster.move_contact(email, member.name)
            differences.append(f"moved from {contact.member_name} to {member.name}")
        updated = roster.update_contact(email, name)
        if updated.name != contact.name:
            differences.append(f"name \"{contact.name}\" -> \"{updated.name}\"")
        if differences:
            result.contacts_changed += 1
            result.changes.append(f"contact {contact.email}: {'; '.join(differences)}")
        else:
            result.contacts_unchanged += 1
    if not enabled:
        roster.set_delivery(email, False, reason)


# -- writing -------------------------------------------------------------------------------


def _member_dates(member) -> tuple[str, str]:
    left = " ".join(period.left.isoformat() for period in member.periods if period.left)
    return _format_dates([period.joined for period in member.periods]), left


def export_csv(roster: Roster, excel: bool = False) -> str:
    """CSV as import reads it; excel=True writes what German Excel opens in columns
    (a byte order mark, semicolons, CRLF)."""
    out = io.StringIO(newline="")
    if excel:
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=";" if excel else ",", lineterminator="\r\n" if excel else "\n")
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
    recipients = Recipients(roster.db, roster).list()
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
            "recipients": [recipient.as_json() for recipient in recipients if recipient.member_id == member.id],
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


def export_roster(roster: Roster, format: str = "csv", excel: bool = False) -> str:
    if format not in FORMATS:
        raise RosterFileError(format, [("", "unknown format; use csv or json")])
    return export_json(roster) if format == "json" else export_csv(roster, excel)
