"""The roster: members (organisations), their periods of membership, and their contacts.

Reads and writes the ``members``, ``memberships`` and ``contacts`` tables. The rules come
from the Letter of Intent: members are a county, its municipalities and an advisor; each
names one or two contacts; joining and leaving is possible at any time and the history of
who was a member when is kept (one ``memberships`` row per period; ``left`` is the last
day). Names are checked for control characters (they end up in mail headers), addresses
with the email-validator library. Mistakes are ``RosterError`` with a sentence for a person.
"""

from __future__ import annotations

import datetime
import email.utils
import sqlite3
import unicodedata
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from akn_mail.db import transaction
from akn_mail.errors import AknError
from akn_mail.text import fold, german_sort_key, unsafe_character

KINDS = ("municipality", "county", "advisor")
MAX_CONTACTS = 2
MAX_NAME_LENGTH = 200


class RosterError(AknError):
    """A roster change or lookup that cannot be done as asked."""


@dataclass(frozen=True)
class Period:
    """One period of membership; joined None means "since before the records began"."""

    joined: datetime.date | None
    left: datetime.date | None

    def covers(self, first: datetime.date, last: datetime.date | None = None) -> bool:
        last = last or first
        return (self.joined is None or self.joined <= first) and (self.left is None or self.left >= last)


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    kind: str  # 'municipality' | 'county' | 'advisor'
    hosts: bool
    joined: datetime.date | None  # of the latest period; None = founding member
    left: datetime.date | None  # of the latest period; None while a member
    periods: tuple[Period, ...] = field(default=(), compare=False)

    def is_member_on(self, day: datetime.date | None = None) -> bool:
        day = day or datetime.date.today()
        return any(period.covers(day) for period in self.periods)

    def is_member_throughout(self, first: datetime.date, last: datetime.date) -> bool:
        """Member on every day from first to last (in one period)."""
        return any(period.covers(first, last) for period in self.periods)

    @property
    def can_host(self) -> bool:
        """Hosting is possible at all: never for the advisor, else per the hosts flag."""
        return self.hosts and self.kind != "advisor"

    @property
    def sort_key(self) -> tuple[str, str]:
        return german_sort_key(self.name)


@dataclass(frozen=True)
class Contact:
    id: int
    email: str
    name: str
    member_id: int
    member_name: str
    member_kind: str
    delivery_enabled: bool
    disabled_reason: str


def edit_distance(first: str, second: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions to turn first into second."""
    previous = list(range(len(second) + 1))
    for row, left in enumerate(first, start=1):
        current = [row]
        for column, right in enumerate(second, start=1):
            current.append(min(previous[column] + 1, current[column - 1] + 1, previous[column - 1] + (left != right)))
        previous = current
    return previous[-1]


NEAR_EDITS = 2  # names this close to a member's are a typo of it, never a new member


def match_member(name: str, members: "list[Member]") -> "tuple[Member | None, Member | None]":
    """The one member-name matcher of akn-mail: (the member meant, else the one suggested).

    Every place a person names a member goes through here: CLI options (--member, --host),
    roster files and search's --host. A name matches when it folds to the same text (case,
    Unicode form, umlauts written ä or ae, ß or ss, runs of spaces): "juechen" is Jüchen.
    Otherwise the member whose folded name is within two edits ("Korschenbroch") or equal
    without umlauts ("Juchen") is the suggestion for "Did you mean"; a roster import refuses
    such a name instead of creating a second member.
    """
    wanted = fold(name)
    for member in members:
        if fold(member.name) == wanted:
            return member, None
    plain = german_sort_key(name)[0]
    best: tuple[int, Member] | None = None
    for member in members:
        distance = min(edit_distance(wanted, fold(member.name)), edit_distance(plain, german_sort_key(member.name)[0]))
        if distance <= NEAR_EDITS and (best is None or distance < best[0]):
            best = (distance, member)
    return None, (best[1] if best else None)


def check_name(value: str, what: str = "name") -> str:
    """A name without line breaks or control characters (it may end up in a mail header)."""
    bad = unsafe_character(value)
    if bad is not None:
        raise RosterError(
            f"the {what} {value!r} contains a line break or control character (U+{ord(bad):04X}); use plain text on one line."
        )
    # One Unicode form (NFC) for what is stored: "Jüchen" typed on a Mac arrives decomposed.
    value = unicodedata.normalize("NFC", " ".join(value.split()))
    if len(value) > MAX_NAME_LENGTH:
        raise RosterError(f"the {what} is longer than {MAX_NAME_LENGTH} characters; use a shorter one.")
    return value


def check_email(value: str) -> str:
    """The normalised form of an e-mail address, or a RosterError saying what is wrong."""
    bad = unsafe_character(value)
    if bad is not None:
        raise RosterError(f"the e-mail address {value!r} contains a line break or control character (U+{ord(bad):04X}).")
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise RosterError(f"\"{value.strip()}\" is not a valid e-mail address: {error}") from None


def split_address(value: str) -> tuple[str, str]:
    """("addr", "display name") of 'Name <addr>' as copied from a mail program; a bare
    address comes back unchanged with an empty name."""
    if "<" not in value or unsafe_character(value) is not None:
        return value, ""
    name, address = email.utils.parseaddr(value)
    if not address or "@" not in address:
        return value, ""
    return address, name.strip()


def _one_line(text: str, limit: int = 500) -> str:
    """Free text from a machine (a bounce's diagnostic) made safe to keep and show: control
    characters and line breaks become spaces, and it is cut at limit characters."""
    cleaned = "".join(" " if unsafe_character(ch) else ch for ch in text)
    return " ".join(cleaned.split())[:limit]


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


class Roster:
    """Members and contacts in the database. All changes are single transactions."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    # -- members ---------------------------------------------------------------------------

    def members(self, include_former: bool = True, on: datetime.date | None = None) -> list[Member]:
        """All members in German alphabetical order; only those who are members on `on`
        (default today) when include_former is False."""
        rows = self.db.execute("SELECT id, name, kind, hosts FROM members").fetchall()
        periods: dict[int, list[Period]] = {}
        for row in self.db.execute("SELECT member_id, joined, left FROM memberships ORDER BY coalesce(joined, ''), id"):
            periods.setdefault(row["member_id"], []).append(Period(_date(row["joined"]), _date(row["left"])))
        result = []
        for row in rows:
            own = tuple(periods.get(row["id"], ()))
            latest = own[-1] if own else Period(None, None)
            member = Member(row["id"], row["name"], row["kind"], bool(row["hosts"]), latest.joined, latest.left, own)
            if include_former or member.is_member_on(on):
                result.append(member)
        result.sort(key=lambda member: member.sort_key)
        return result

    def member(self, name: str) -> Member:
        """The member called name (see ``match_member``: "juechen" is Jüchen), else a
        RosterError that suggests the closest name ("Juchen" -> "Jüchen")."""
        found, suggestion = match_member(name, self.members())
        if found is not None:
            return found
        shown = name if unsafe_character(name) is None else repr(name)
        if suggestion:
            raise RosterError(f"no member named \"{shown}\". Did you mean \"{suggestion.name}\"?")
        raise RosterError(f"no member named \"{shown}\". See the members with: akn-mail member list")

    def member_by_id(self, member_id: int) -> Member:
        for member in self.members():
            if member.id == member_id:
                return member
        raise RosterError(f"no member with id {member_id}.")

    def add_member(
        self, name: str, kind: str = "municipality", hosts: bool | None = None, joined: datetime.date | None = None
    ) -> Member:
        """Add a member. hosts defaults to True except for the advisor (who never hosts)."""
        name = check_name(name, "member name")
        if not name:
            raise RosterError("the member name is empty; give the name of the organisation.")
        if kind not in KINDS:
            raise RosterError(f"unknown kind \"{kind}\"; use one of: {', '.join(KINDS)}.")
        if hosts is None:
            hosts = kind != "advisor"
        if hosts and kind == "advisor":
            raise RosterError(f"{name} is an advisor, and an advisor never hosts (hosts must be no).")
        with transaction(self.db):
            same, near = match_member(name, self.members())
            if same is not None:
                raise RosterError(f"{same.name} is already a member; use 'akn-mail member join' to re-join a former member.")
            if near is not None:
                raise RosterError(
                    f"\"{name}\" is too close to the member \"{near.name}\" (a typo?). Did you mean \"{near.name}\"?"
                )
            cursor = self.db.execute("INSERT INTO members (name, kind, hosts) VALUES (?, ?, ?)", (name, kind, int(hosts)))
            self.db.execute(
                "INSERT INTO memberships (member_id, joined) VALUES (?, ?)",
                (cursor.lastrowid, joined.isoformat() if joined else None),
            )
        return self.member(name)

    def update_member(self, name: str, kind: str | None = None, hosts: bool | None = None) -> Member:
        """Change the kind or the hosts flag of a member."""
        member = self.member(name)
        kind = kind or member.kind
        if kind not in KINDS:
            raise RosterError(f"unknown kind \"{kind}\"; use one of: {', '.join(KINDS)}.")
        if kind == "advisor":
            if hosts:
                raise RosterError(f"{member.name} is an advisor, and an advisor never hosts (hosts must be no).")
            hosts = False
        elif hosts is None:
            hosts = member.hosts
        with transaction(self.db):
            self.db.execute("UPDATE members SET kind = ?, hosts = ? WHERE id = ?", (kind, int(hosts), member.id))
        return self.member(member.name)

    def leave(self, name: str, on: datetime.date | None = None) -> Member:
        """End the membership; `on` is the last day of membership (default today)."""
        member = self.member(name)
        on = on or datetime.date.today()
        with transaction(self.db):
            row = self.db.execute(
                "SELECT id, joined FROM memberships WHERE member_id = ? AND left IS NULL", (member.id,)
            ).fetchone()
            if row is None:
                raise RosterError(f"{member.name} already left on {member.left}; use 'akn-mail member join' to re-join.")
            if row["joined"] and on < _date(row["joined"]):
                raise RosterError(f"{member.name} joined on {row['joined']}; the leaving date {on} must not be earlier.")
            self.db.execute("UPDATE memberships SET left = ? WHERE id = ?", (on.isoformat(), row["id"]))
        return self.member(member.name)

    def join(self, name: str, on: datetime.date | None = None) -> Member:
        """Start a new period of membership for a former member (default: today)."""
        member = self.member(name)
        on = on or datetime.date.today()
        with transaction(self.db):
            if self.db.execute("SELECT 1 FROM memberships WHERE member_id = ? AND left IS NULL", (member.id,)).fetchone():
                raise RosterError(f"{member.name} is a member already (no leaving date); nothing to join.")
            if member.left is not None and on <= member.left:
                raise RosterError(f"{member.name} was a member until {member.left}; re-join on a later day.")
            self.db.execute("INSERT INTO memberships (member_id, joined) VALUES (?, ?)", (member.id, on.isoformat()))
        return self.member(member.name)

    def remove_member(self, name: str) -> None:
        """Delete a member that was added by mistake. One with contacts or meetings is kept:
        for a member that stops, 'leave' keeps the history."""
        member = self.member(name)
        with transaction(self.db):
            if self.contacts(member.name):
                raise RosterError(f"{member.name} still has contacts; remove them first, or use 'akn-mail member leave' to keep the history.")
            used = self.db.execute(
                "SELECT 1 FROM meetings WHERE host_member_id = ? UNION SELECT 1 FROM rotation_skips WHERE member_id = ?",
                (member.id, member.id),
            ).fetchone()
            if used:
                raise RosterError(f"{member.name} appears in the meeting history; use 'akn-mail member leave' instead.")
            self.db.execute("DELETE FROM members WHERE id = ?", (member.id,))

    # -- contacts --------------------------------------------------------------------------

    _CONTACT_QUERY = """
        SELECT c.id, c.email, c.name, c.member_id, m.name AS member_name, m.kind AS member_kind,
               c.delivery_enabled, coalesce(c.disabled_reason, '') AS disabled_reason
        FROM contacts c JOIN members m ON m.id = c.member_id
    """

    @staticmethod
    def _contact(row: sqlite3.Row) -> Contact:
        return Contact(
            row["id"], row["email"], row["name"], row["member_id"], row["member_name"], row["member_kind"],
            bool(row["delivery_enabled"]), row["disabled_reason"],
        )

    def contacts(self, member_name: str | None = None) -> list[Contact]:
        """Contacts (of one member, or all), by member in German order, then address."""
        if member_name is None:
            rows = self.db.execute(self._CONTACT_QUERY).fetchall()
        else:
            member = self.member(member_name)
            rows = self.db.execute(self._CONTACT_QUERY + " WHERE c.member_id = ?", (member.id,)).fetchall()
        contacts = [self._contact(row) for row in rows]
        contacts.sort(key=lambda contact: (german_sort_key(contact.member_name), contact.id))
        return contacts

    def find_contact(self, email: str) -> Contact | None:
        """The contact with this address (case-insensitive), or None."""
        row = self.db.execute(self._CONTACT_QUERY + " WHERE lower(c.email) = lower(?)", (email.strip(),)).fetchone()
        return self._contact(row) if row else None

    def contact(self, email: str) -> Contact:
        found = self.find_contact(email)
        if found is None:
            shown = email if unsafe_character(email) is None else repr(email)
            raise RosterError(f"{shown} is not a contact on the roster. See the contacts with: akn-mail contact list")
        return found

    def add_contact(self, member_name: str, email: str, name: str = "") -> Contact:
        """Add a contact to a member: one or two per member, each address once on the roster.
        email may be written as in a mail program, "Markus Schäfer <m.schaefer@juechen.example>":
        the display name is the contact's name unless name is given."""
        email, display_name = split_address(email)
        name = name or display_name
        email = check_email(email)
        name = check_name(name, "contact name")
        with transaction(self.db):
            member = self.member(member_name)
            existing = self.find_contact(email)
            if existing is not None:
                raise RosterError(
                    f"{existing.email} is already a contact of {existing.member_name}. "
                    f"To move it, use: akn-mail contact move {existing.email} --to \"{member.name}\""
                )
            self._check_room(member)
            self.db.execute("INSERT INTO contacts (member_id, name, email) VALUES (?, ?, ?)", (member.id, name, email))
        return self.contact(email)

    def _check_room(self, member: Member) -> None:
        present = self.contacts(member.name)
        if len(present) >= MAX_CONTACTS:
            names = " and ".join(contact.email for contact in present)
            raise RosterError(
                f"{member.name} already has two contacts ({names}); a member names one or two. "
                "Remove or move one first."
            )

    def remove_contact(self, email: str) -> Contact:
        contact = self.contact(email)
        with transaction(self.db):
            self.db.execute("DELETE FROM contacts WHERE id = ?", (contact.id,))
        return contact

    def move_contact(self, email: str, member_name: str) -> Contact:
        """Move a contact to another member (a person changes administration)."""
        with transaction(self.db):
            contact = self.contact(email)
            member = self.member(member_name)
            if member.id == contact.member_id:
                raise RosterError(f"{contact.email} is a contact of {member.name} already.")
            self._check_room(member)
            self.db.execute("UPDATE contacts SET member_id = ? WHERE id = ?", (member.id, contact.id))
        return self.contact(contact.email)

    def update_contact(self, email: str, name: str) -> Contact:
        contact = self.contact(email)
        name = check_name(name, "contact name")
        with transaction(self.db):
            self.db.execute("UPDATE contacts SET name = ? WHERE id = ?", (name, contact.id))
        return self.contact(contact.email)

    def set_delivery(self, email: str, enabled: bool, reason: str = "") -> Contact:
        """Switch delivery of list mail to a contact on or off (bounces switch it off)."""
        contact = self.contact(email)
        reason = _one_line(reason)
        with transaction(self.db):
            self.db.execute(
                "UPDATE contacts SET delivery_enabled = ?, disabled_reason = ? WHERE id = ?",
                (int(enabled), None if enabled else reason, contact.id),
            )
        return self.contact(contact.email)

    def delivery_contacts(self, on: datetime.date | None = None) -> list[Contact]:
        """Contacts of members who are members on `on` (default today) whose delivery is on."""
        current = {member.id for member in self.members(include_former=False, on=on)}
        return [contact for contact in self.contacts() if contact.member_id in current and contact.delivery_enabled]
