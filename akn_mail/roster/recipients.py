"""Read-only recipients of a member: the town hall's own distribution (Informationsweitergabe).

Besides its one or two contacts, a member may name recipients such as the
Bürgermeisterbüro or a Fachbereich. They are not contacts: they do not count against the
one or two, get no list mail, and cannot post (the sender check does not know them, so
their mail is held like a stranger's). What they get (``gets``):

* ``minutes`` — the minutes when they are filed, with a German cover note and the results;
* ``results`` — once a month a summary of the alliance's open and done results;
* ``all`` — both.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from akn_mail.db import transaction
from akn_mail.roster.members import Roster, RosterError, check_email, check_name
from akn_mail.text import german_sort_key

GETS = ("minutes", "results", "all")


@dataclass(frozen=True)
class Recipient:
    id: int
    email: str
    name: str
    member_id: int
    member_name: str
    gets: str

    def gets_minutes(self) -> bool:
        return self.gets in ("minutes", "all")

    def gets_results(self) -> bool:
        return self.gets in ("results", "all")

    def as_json(self) -> dict:
        return {"email": self.email, "name": self.name, "member": self.member_name, "gets": self.gets}


class Recipients:
    def __init__(self, db: sqlite3.Connection, roster: Roster | None = None):
        self.db = db
        self.roster = roster or Roster(db)

    _QUERY = """SELECT r.id, r.email, r.name, r.member_id, m.name AS member_name, r.gets
                FROM recipients r JOIN members m ON m.id = r.member_id"""

    def list(self, member_name: str | None = None) -> list[Recipient]:
        """All recipients (or one member's), by member in German order, then address."""
        if member_name is None:
            rows = self.db.execute(self._QUERY).fetchall()
        else:
            member = self.roster.member(member_name)
            rows = self.db.execute(self._QUERY + " WHERE r.member_id = ?", (member.id,)).fetchall()
        found = [Recipient(*row) for row in rows]
        found.sort(key=lambda r: (german_sort_key(r.member_name), r.email.lower()))
        return found

    def find(self, email: str) -> Recipient | None:
        row = self.db.execute(self._QUERY + " WHERE lower(r.email) = lower(?)", (email.strip(),)).fetchone()
        return Recipient(*row) if row else None

    def add(self, email: str, member_name: str, name: str = "", gets: str = "all") -> Recipient:
        email = check_email(email)
        name = check_name(name, "recipient name")
        if gets not in GETS:
            raise RosterError(f"unknown --gets \"{gets}\"; use one of: {', '.join(GETS)}.")
        with transaction(self.db):
            member = self.roster.member(member_name)
            contact = self.roster.find_contact(email)
            if contact is not None:
                raise RosterError(f"{contact.email} is a contact of {contact.member_name}; a contact gets all list mail "
                                  "already. Remove the contact first to make it a recipient.")
            existing = self.find(email)
            if existing is not None:
                raise RosterError(f"{existing.email} is already a recipient of {existing.member_name} "
                                  f"(gets {existing.gets}); remove it first to change it: akn-mail recipient remove {existing.email}")
            self.db.execute("INSERT INTO recipients (member_id, email, name, gets) VALUES (?, ?, ?, ?)",
                            (member.id, email, name, gets))
        return self.find(email)

    def remove(self, email: str) -> Recipient:
        found = self.find(email)
        if found is None:
            raise RosterError(f"{email.strip()} is not a recipient. See the recipients with: akn-mail recipient list")
        with transaction(self.db):
            self.db.execute("DELETE FROM recipients WHERE id = ?", (found.id,))
        return found

    def for_minutes(self) -> list[Recipient]:
        """Recipients of members who are members today and want the minutes."""
        current = {member.id for member in self.roster.members(include_former=False)}
        return [r for r in self.list() if r.gets_minutes() and r.member_id in current]

    def for_results(self) -> list[Recipient]:
        current = {member.id for member in self.roster.members(include_former=False)}
        return [r for r in self.list() if r.gets_results() and r.member_id in current]
