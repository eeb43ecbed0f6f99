"""The host rotation: who hosts the regular meeting of each quarter.

The Letter of Intent says the municipalities host "in alphabetical order, in turn". The
schedule is not stored; it is derived every time from the roster and the decisions kept in
the ``meetings``, ``rotation_skips`` and ``rotation_swaps`` tables and the ``settings``
keys ``rotation.start*``, so that joins, leaves, skips, swaps and meetings held out of turn
all give a schedule a person would agree with. The exact rule (README, "Host rotation"):

1. The cycle of a quarter Q is every member with hosts=yes that is not the advisor and is a
   member on every day of Q, in German alphabetical order (DIN 5007).
2. The walk starts at the anchor: the earliest quarter recorded as held, or the start set by
   ``rotation start`` (set to the current quarter automatically the first time a schedule
   is computed), whichever is earlier. Each quarter takes one turn: the first member of the
   cycle that comes strictly after the previous turn's member in alphabetical order,
   wrapping round; the first turn is the alphabetically first member (or the start host).
3. Members skipped for Q are left out of Q's choice only, so the next in order takes the turn.
4. A quarter recorded as held makes its recorded host the turn (the walk goes on after the
   host who really hosted), unless the quarter belongs to a swap and the recorded host is
   the swapped host.
5. Two swapped quarters trade hosts; the sequence of turns is not changed by the swap.
   A swapped quarter recorded with a third host dissolves the swap (rule 4 applies).
6. Extra meetings do not take a turn, unless they count as a turn: then the walk goes on
   after their host, at their date (before the quarter's regular meeting if earlier than
   its recorded or planned date, otherwise after it).
"""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
from dataclasses import dataclass, field

from akn_mail.db import dry_run_transaction, transaction
from akn_mail.errors import AknError
from akn_mail.roster.quarter import Quarter, parse_date
from akn_mail.roster.members import Member, Roster, RosterError, check_name

START_KEY = "rotation.start"
START_HOST_KEY = "rotation.start_host"
START_EXPLICIT_KEY = "rotation.start_explicit"


class RotationError(AknError):
    """A rotation change that cannot be done as asked."""


def parse_time(text: str, what: str = "time") -> str:
    """A time of day 'HH:MM' (also '14' or '14.30', as people write it), as 'HH:MM'."""
    value = text.strip().replace(".", ":")
    if value.isdigit():
        value += ":00"
    try:
        return datetime.time.fromisoformat(value).strftime("%H:%M")
    except ValueError:
        raise RotationError(f"invalid {what} \"{text}\"; write it as HH:MM, e.g. 14:00.") from None


def check_url(text: str) -> str:
    """An online meeting link: http(s), on one line."""
    value = text.strip()
    if not value.startswith(("https://", "http://")) or any(ch.isspace() for ch in value):
        raise RotationError(f"invalid --online link \"{text}\"; give the web address of the video meeting, starting with https://.")
    return value


@dataclass
class ScheduledMeeting:
    """One line of the schedule: a quarter's regular meeting, or an extra meeting."""

    quarter: str
    host: Member | None
    date: datetime.date | None = None
    place: str = ""
    status: str = "planned"  # planned | held | skipped | swapped | unassigned | cancelled
    kind: str = "regular"  # regular | extra
    meeting_id: int | None = None
    skipped: list[str] = field(default_factory=list)
    skip_reason: str = ""
    swapped_with: str | None = None
    counts_as_turn: bool = False
    note: str = ""
    start_time: str | None = None  # 'HH:MM' in Europe/Berlin; None = all day
    end_time: str | None = None
    online_url: str = ""
    sequence: int = 0  # iCalendar SEQUENCE, raised on every change
    dropped_date: datetime.date | None = None  # a planned date dropped with its host

    @property
    def status_text(self) -> str:
        """For people: 'planned', 'held', 'skipped Kaarst', 'swapped with 2027-Q3'."""
        if self.status == "skipped":
            return "skipped " + ", ".join(self.skipped)
        if self.status == "swapped":
            return f"swapped with {self.swapped_with}"
        if self.kind == "extra":
            return f"extra, {self.status}" + (", counts as turn" if self.counts_as_turn else "")
        return self.status

    def as_json(self) -> dict:
        """The stable --json form (documented in the README)."""
        return {
            "quarter": self.quarter,
            "kind": self.kind,
            "host": self.host.name if self.host else None,
            "date": self.date.isoformat() if self.date else None,
            "place": self.place,
            "status": self.status,
            "skipped": list(self.skipped),
            "skip_reason": self.skip_reason,
            "swapped_with": self.swapped_with,
            "counts_as_turn": self.counts_as_turn,
            "meeting_id": self.meeting_id,
            "note": self.note,
            "time": self.start_time,
            "end": self.end_time,
            "online": self.online_url,
        }


def _calendar_fields(entry: ScheduledMeeting, row: sqlite3.Row) -> None:
    entry.start_time = row["start_time"]
    entry.end_time = row["end_time"]
    entry.online_url = row["online_url"]
    entry.sequence = row["sequence"]
    entry.dropped_date = parse_date(row["dropped_date"]) if row["dropped_date"] else None


@dataclass
class _Walk:
    """What a walk of the rotation found, per quarter."""

    anchor: Quarter
    turns: dict[Quarter, Member | None]  # whose turn each quarter is
    hosts: dict[Quarter, Member | None]  # who hosts (turns after swaps; records as recorded)
    swaps: dict[Quarter, Quarter]  # active swaps, both directions
    passed: dict[Quarter, list[Member]]  # skipped members that were due and passed over


def _first_from(cycle: list[Member], key, inclusive: bool) -> Member | None:
    """The first member of the cycle after (or at) key in alphabetical order, wrapping round."""
    if not cycle:
        return None
    if key is None:
        return cycle[0]
    for member in cycle:
        if member.sort_key > key or (inclusive and member.sort_key == key):
            return member
    return cycle[0]


def _choose(cycle: list[Member], key, inclusive: bool, skipped: set[int]) -> tuple[Member | None, list[Member]]:
    """The member whose turn it is, and the skipped members passed over to get there."""
    passed: list[Member] = []
    member = _first_from(cycle, key, inclusive)
    while member is not None and member.id in skipped:
        passed.append(member)
        if len(passed) == len(cycle):
            return None, passed
        member = _first_from(cycle, member.sort_key, False)
    return member, passed


@dataclass
class HostChange:
    """A quarter whose regular meeting changes its host, and the plan dropped with it."""

    quarter: Quarter
    before: Member | None
    after: Member | None
    dropped: str = ""  # "date 2027-08-12, place Rathaus Jüchen" when a plan was dropped

    def __str__(self) -> str:
        before = self.before.name if self.before else "nobody"
        after = self.after.name if self.after else "nobody"
        text = f"{self.quarter}: {before} -> {after}"
        if self.dropped:
            text += f" (planned {self.dropped} dropped; plan it again with: akn-mail rotation plan {self.quarter})"
        return text


@dataclass
class RotationReport:
    """What a change of the roster or the rotation did to the hosts (``Rotation.tracking``)."""

    dry_run: bool = False
    changes: list[HostChange] = field(default_factory=list)
    fresh: bool = False  # nobody hosted any quarter before (the rotation was set up just now)

    def lines(self) -> list[str]:
        """For people: one line per quarter whose host changes, before -> after."""
        if not self.changes:
            lines = ["No quarter changes its host."]
        elif self.fresh:
            # The rotation was empty (a first import): one line, not a dozen "nobody -> ...".
            first = [f"{change.quarter} {change.after.name if change.after else 'nobody'}" for change in self.changes[:3]]
            lines = [f"Hosts from now on: {', '.join(first)}, ... (all with: akn-mail rotation show)"]
        else:
            lines = ["Hosts change:"] + [f"  {change}" for change in self.changes]
        if self.dry_run:
            lines.append("Dry run: nothing was changed.")
        return lines


HORIZON = 12  # quarters after today (or the changed quarter) compared by tracking


class Rotation:
    """Derives the schedule of hosts and records the decisions that shape it."""

    def __init__(self, db: sqlite3.Connection, roster: Roster | None = None):
        self.db = db
        self.roster = roster or Roster(db)

    # -- settings --------------------------------------------------------------------------

    def _setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def start(self) -> tuple[Quarter | None, Member | None, bool]:
        """The stored start: (quarter, start host or None, set explicitly by an admin)."""
        quarter = self._setting(START_KEY)
        host_id = self._setting(START_HOST_KEY)
        host = None
        if host_id:
            try:
                host = self.roster.member_by_id(int(host_id))
            except RosterError:
                host = None
        return (Quarter.parse(quarter) if quarter else None), host, self._setting(START_EXPLICIT_KEY) == "1"

    def set_start(self, quarter: str | Quarter, host: str | None = None) -> tuple[Quarter, Member | None]:
        """Start (or restart) the rotation at quarter with host (default: the alphabetically
        first member of that quarter's cycle). The walk then restarts there."""
        quarter = Quarter.parse(quarter)
        member = None
        if host:
            member = self.roster.member(host)
            self._check_can_host(member, quarter)
        with transaction(self.db):
            for key, value in ((START_KEY, str(quarter)), (START_HOST_KEY, str(member.id) if member else ""), (START_EXPLICIT_KEY, "1")):
                self.db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))
        return quarter, self.host_for(quarter, today=quarter.first_day)

    def _check_can_host(self, member: Member, quarter: Quarter | None = None, day: datetime.date | None = None) -> None:
        if member.kind == "advisor":
            raise RotationError(f"{member.name} is the advisor, and the advisor never hosts; choose a hosting member.")
        if not member.hosts:
            raise RotationError(
                f"{member.name} does not host (hosts: no); choose another member, or change it with: "
                f"akn-mail member set \"{member.name}\" --host"
            )
        if day is not None and not member.is_member_on(day):
            raise RotationError(f"{member.name} is not a member on {day}; choose a member of that day.")
        if quarter is not None and day is None and not member.is_member_throughout(quarter.first_day, quarter.last_day):
            raise RotationError(f"{member.name} is not a member for the whole of {quarter}; choose another host.")

    def anchor(self, today: datetime.date | None = None, create: bool = True, virtual: bool = False) -> Quarter | None:
        """Where the walk starts (rule 2): the stored start, else the earliest quarter
        recorded as held. The first time, stores the quarter of `today` as the start; with
        create=False it returns None instead when nothing is stored (or, with virtual, the
        quarter of `today` without storing it: 'rotation show' never stores anything).

        Meetings recorded before a stored start are history: they never move the walk
        after the start (the walk only continues after the last of them, rule 2)."""
        start, _, _ = self.start()
        if start:
            return start
        row = self.db.execute("SELECT min(quarter) FROM meetings WHERE kind = 'regular' AND status = 'held'").fetchone()
        if row[0]:
            return Quarter.parse(row[0])
        if virtual:
            return Quarter.current(today)
        if not create:
            return None
        current = Quarter.current(today)
        # INSERT OR IGNORE: two processes computing the first schedule agree on one start.
        self.db.execute("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", (START_KEY, str(current)))
        return Quarter.parse(self._setting(START_KEY))

    # -- the walk --------------------------------------------------------------------------

    def cycle(self, quarter: str | Quarter, members: list[Member] | None = None) -> list[Member]:
        """The members that take turns in quarter, in German alphabetical order (rule 1)."""
        quarter = Quarter.parse(quarter)
        members = self.roster.members() if members is None else members
        return [m for m in members if m.can_host and m.is_member_throughout(quarter.first_day, quarter.last_day)]

    def _walk(self, until: Quarter, today: datetime.date | None = None, create: bool = True, virtual: bool = False) -> _Walk:
        anchor = self.anchor(today, create, virtual)
        if anchor is None:
            return _Walk(until + 1, {}, {}, {}, {})
        members = self.roster.members()
        by_id = {member.id: member for member in members}
        start, start_host, start_explicit = self.start()
        regular = {
            Quarter.parse(row["quarter"]): row
            for row in self.db.execute("SELECT * FROM meetings WHERE kind = 'regular'")
        }
        records = {quarter: row for quarter, row in regular.items() if row["status"] == "held"}
        skips: dict[Quarter, set[int]] = {}
        for row in self.db.execute("SELECT quarter, member_id FROM rotation_skips"):
            skips.setdefault(Quarter.parse(row["quarter"]), set()).add(row["member_id"])
        extras: dict[Quarter, list[sqlite3.Row]] = {}
        for row in self.db.execute(
            "SELECT * FROM meetings WHERE kind = 'extra' AND counts_as_turn = 1 AND status != 'cancelled' ORDER BY date, id"
        ):
            extras.setdefault(Quarter.parse(row["quarter"]), []).append(row)
        pairs = [
            (Quarter.parse(row["first_quarter"]), Quarter.parse(row["second_quarter"]))
            for row in self.db.execute("SELECT first_quarter, second_quarter FROM rotation_swaps")
        ]
        pairs = [(first, second) for first, second in pairs if first >= anchor]
        end = max([until] + [second for _, second in pairs])

        void: set[tuple[Quarter, Quarter]] = set()
        while True:
            swaps = {}
            for first, second in pairs:
                if (first, second) not in void:
                    swaps[first] = second
                    swaps[second] = first
            turns: dict[Quarter, Member | None] = {}
            passed: dict[Quarter, list[Member]] = {}
            previous = None  # sort key of the previous turn's member
            before = [quarter for quarter in records if quarter < anchor]
            if before and not start_explicit and records[max(before)]["host_member_id"] in by_id:
                # History recorded before an automatic start: the walk goes on after its last host.
                previous = by_id[records[max(before)]["host_member_id"]].sort_key
            quarter = anchor
            while quarter <= end:
                row = regular.get(quarter)
                regular_date = row["date"] if row is not None and row["date"] else quarter.last_day.isoformat() + "~"
                later_extras = []
                for extra in extras.get(quarter, []):
                    if extra["host_member_id"] not in by_id or not extra["date"]:
                        continue
                    if extra["date"] < regular_date:
                        previous = by_id[extra["host_member_id"]].sort_key
                    else:
                        later_extras.append(extra)
                cycle = self.cycle(quarter, members)
                excluded = skips.get(quarter, set())
                if start_explicit and quarter == start:
                    due, passed[quarter] = _choose(cycle, start_host.sort_key if start_host else None, True, excluded)
                else:
                    due, passed[quarter] = _choose(cycle, previous, False, excluded)
                turn = due
                record = records.get(quarter)
                if record is not None and quarter not in swaps:
                    turn = by_id.get(record["host_member_id"])
                turns[quarter] = turn
                if turn is not None:
                    previous = turn.sort_key
                for extra in later_extras:
                    previous = by_id[extra["host_member_id"]].sort_key
                quarter = quarter + 1
            hosts = dict(turns)
            for quarter, other in swaps.items():
                hosts[quarter] = turns.get(other)
            broken = None
            for quarter, record in records.items():
                if quarter in swaps:
                    planned = hosts[quarter]
                    if planned is None or planned.id != record["host_member_id"]:
                        broken = (min(quarter, swaps[quarter]), max(quarter, swaps[quarter]))
                        break
            if broken is None:
                break
            void.add(broken)
        for quarter, record in records.items():
            if record["host_member_id"] in by_id:
                hosts[quarter] = by_id[record["host_member_id"]]
        return _Walk(anchor, turns, hosts, swaps, passed)

    def host_for(self, quarter: str | Quarter, today: datetime.date | None = None) -> Member | None:
        """Who hosts (or hosted) the regular meeting of quarter; None before the rotation
        started or when nobody can host. Never stores a start (archive filing calls this
        with the dates of old mail)."""
        quarter = Quarter.parse(quarter)
        walk = self._walk(quarter, today, create=False)
        return walk.hosts.get(quarter)

    def schedule(
        self, quarters: int = 8, start: str | Quarter | None = None, today: datetime.date | None = None,
        store_start: bool = True,
    ) -> list[ScheduledMeeting]:
        """The regular meetings of `quarters` quarters from `start` (default: the current
        quarter), with the extra meetings dated in them, in order. With store_start=False
        (what 'rotation show' and 'rotation ics' use) a rotation without a start is shown
        from the current quarter and nothing is stored."""
        today = today or datetime.date.today()
        first = Quarter.parse(start) if start else Quarter.current(today)
        if quarters < 1:
            raise RotationError("--quarters must be at least 1.")
        last = first + (quarters - 1)
        walk = self._walk(last, today, create=store_start, virtual=not store_start)
        members = {member.id: member for member in self.roster.members()}
        regular = {row["quarter"]: row for row in self.db.execute("SELECT * FROM meetings WHERE kind = 'regular'")}
        skips: dict[str, list[sqlite3.Row]] = {}
        for row in self.db.execute("SELECT quarter, member_id, reason FROM rotation_skips ORDER BY id"):
            skips.setdefault(row["quarter"], []).append(row)
        result: list[ScheduledMeeting] = []
        quarter = first
        while quarter <= last:
            name = str(quarter)
            row = regular.get(name)
            entry = ScheduledMeeting(quarter=name, host=walk.hosts.get(quarter))
            if row is not None:
                entry.meeting_id = row["id"]
                entry.date = parse_date(row["date"]) if row["date"] else None
                entry.place = row["place"]
                entry.note = row["note"]
                _calendar_fields(entry, row)
            quarter_skips = skips.get(name, [])
            passed_ids = {member.id for member in walk.passed.get(quarter, [])}
            entry.skipped = [member.name for member in walk.passed.get(quarter, [])]
            entry.skip_reason = "; ".join(s["reason"] for s in quarter_skips if s["reason"] and s["member_id"] in passed_ids)
            if quarter in walk.swaps:
                entry.swapped_with = str(walk.swaps[quarter])
            if row is not None and row["status"] == "held":
                entry.status = "held"
            elif row is not None and row["status"] == "cancelled":
                entry.status = "cancelled"
            elif quarter < walk.anchor:
                entry.status = "unassigned"
            elif entry.swapped_with:
                entry.status = "swapped"
            elif entry.skipped:
                entry.status = "skipped"
            elif entry.host is None:
                entry.status = "unassigned"
            result.append(entry)
            quarter = quarter + 1
        for row in self.db.execute(
            "SELECT * FROM meetings WHERE kind = 'extra' AND quarter >= ? AND quarter <= ? ORDER BY date, id",
            (str(first), str(last)),
        ):
            day = parse_date(row["date"]) if row["date"] else None
            if row["status"] in ("cancelled", "held"):
                status = row["status"]
            else:
                status = "held" if day is not None and day < today else "planned"
            entry = ScheduledMeeting(
                quarter=row["quarter"], host=members.get(row["host_member_id"]), date=day, place=row["place"],
                status=status, kind="extra", meeting_id=row["id"], counts_as_turn=bool(row["counts_as_turn"]),
                note=row["note"],
            )
            _calendar_fields(entry, row)
            result.append(entry)
        # Within a quarter: by date, undated regular meetings last.
        result.sort(key=lambda entry: (entry.quarter, entry.date.isoformat() if entry.date else "9999", entry.kind))
        return result

    # -- showing changes -------------------------------------------------------------------

    @contextlib.contextmanager
    def tracking(self, dry_run: bool = False, quarters=(), today: datetime.date | None = None):
        """``with rotation.tracking(dry_run) as report:`` around any change of the roster or
        the rotation. Afterwards report.changes lists every quarter whose host changed.
        A quarter's planned date, time and place belong to its host: when the host changes
        they are dropped (the calendar then carries the old date as cancelled). With
        dry_run everything is rolled back, so the report says what would happen."""
        today = today or datetime.date.today()
        report = RotationReport(dry_run)
        with dry_run_transaction(self.db, dry_run):
            self.anchor(today)  # a decision is being made: a rotation without a start gets one
            touched = [Quarter.parse(quarter) for quarter in quarters]
            current = Quarter.current(today)
            first = min([current] + touched)
            planned = self.db.execute("SELECT max(quarter) FROM meetings WHERE kind = 'regular'").fetchone()[0]
            last = max([current] + touched + ([Quarter.parse(planned)] if planned else [])) + HORIZON
            before = self._walk(last, today, create=False).hosts
            yield report
            after = self._walk(last, today, create=False).hosts
            report.fresh = not any(before.values())
            quarter = first
            while quarter <= last:
                old, new = before.get(quarter), after.get(quarter)
                if (old.id if old else None) != (new.id if new else None):
                    report.changes.append(HostChange(quarter, old, new, self._drop_plan(quarter)))
                quarter = quarter + 1

    def _drop_plan(self, quarter: Quarter) -> str:
        """Drop the planned date, time and place of quarter's meeting (its host changed).
        Returns what was dropped, for people; the SEQUENCE is raised for calendars."""
        row = self._regular_row(quarter)
        if row is None or row["status"] == "held":
            return ""
        parts = []
        if row["date"]:
            parts.append(f"date {row['date']}" + (f" {row['start_time']}" if row["start_time"] else ""))
        if row["place"]:
            parts.append(f"place {row['place']}")
        if row["online_url"]:
            parts.append(f"online link {row['online_url']}")
        self.db.execute(
            """UPDATE meetings SET dropped_date = coalesce(date, dropped_date), date = NULL, place = '',
               start_time = NULL, end_time = NULL, online_url = '', sequence = sequence + 1 WHERE id = ?""",
            (row["id"],),
        )
        return ", ".join(parts)

    def next_turn(self, member: Member, after: str | Quarter) -> Quarter | None:
        """The first quarter after `after` whose regular meeting member hosts, if within
        two rounds of the rotation."""
        after = Quarter.parse(after)
        until = after + 2 * (len(self.cycle(after)) + 1)
        hosts = self._walk(until, create=False).hosts
        quarter = after + 1
        while quarter <= until:
            host = hosts.get(quarter)
            if host is not None and host.id == member.id:
                return quarter
            quarter = quarter + 1
        return None

    # -- decisions -------------------------------------------------------------------------

    def meeting_date(self, quarter: str | Quarter) -> datetime.date | None:
        """The recorded or planned date of quarter's regular meeting, if one is known."""
        row = self._regular_row(Quarter.parse(quarter))
        return parse_date(row["date"]) if row is not None and row["date"] else None

    def _regular_row(self, quarter: Quarter) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM meetings WHERE kind = 'regular' AND quarter = ?", (str(quarter),)).fetchone()

    def _check_date_in(self, quarter: Quarter, day: datetime.date) -> None:
        if not quarter.contains(day):
            raise RotationError(
                f"{day} is not in {quarter} ({quarter.first_day} to {quarter.last_day}); "
                f"give a date in the quarter, or use quarter {Quarter.of(day)}."
            )

    def record(
        self, quarter: str | Quarter, host: str, date: str | datetime.date, place: str = "", note: str = "",
        today: datetime.date | None = None,
    ) -> ScheduledMeeting:
        """Record the regular meeting of quarter as held by host on date (again to correct)."""
        quarter = Quarter.parse(quarter)
        day = parse_date(date)
        self._check_date_in(quarter, day)
        member = self.roster.member(host)
        self._check_can_host(member, day=day)
        if day > (today or datetime.date.today()):
            raise RotationError(
                f"{day} is in the future, so the meeting cannot have been held; plan it with: "
                f"akn-mail rotation plan {quarter} --date {day}"
            )
        place = check_name(place, "place")
        note = check_name(note, "note")
        with transaction(self.db):
            self.db.execute(
                """INSERT INTO meetings (kind, quarter, date, host_member_id, place, status, note)
                   VALUES ('regular', ?, ?, ?, ?, 'held', ?)
                   ON CONFLICT (quarter) WHERE kind = 'regular' DO UPDATE SET
                   date = excluded.date, host_member_id = excluded.host_member_id,
                   place = excluded.place, status = 'held', note = excluded.note,
                   dropped_date = NULL, sequence = sequence + 1""",
                (str(quarter), day.isoformat(), member.id, place, note),
            )
        return self._entry(quarter)

    def plan(
        self, quarter: str | Quarter, date: str | datetime.date | None = None, place: str | None = None,
        time: str | None = None, end: str | None = None, online: str | None = None,
    ) -> ScheduledMeeting:
        """Set the date, time (Europe/Berlin), place and/or online link of an upcoming
        regular meeting (the host stays derived). Every change raises the meeting's
        calendar SEQUENCE, so calendars that imported it update it."""
        quarter = Quarter.parse(quarter)
        day = parse_date(date) if date else None
        if day:
            self._check_date_in(quarter, day)
        place = check_name(place, "place") if place is not None else None
        start_time = parse_time(time, "--time") if time is not None else None
        end_time = parse_time(end, "--end") if end is not None else None
        online = check_url(online) if online is not None else None
        with transaction(self.db):
            row = self._regular_row(quarter)
            if row is not None and row["status"] == "held":
                raise RotationError(f"{quarter} is recorded as held already; correct it with: akn-mail rotation record {quarter} ...")
            if row is None:
                self.db.execute("INSERT INTO meetings (kind, quarter) VALUES ('regular', ?)", (str(quarter),))
                row = self._regular_row(quarter)
            if (start_time or end_time) and not (day or row["date"]):
                raise RotationError(f"{quarter} has no date yet; give --date with --time.")
            start_after = start_time or row["start_time"]
            end_after = end_time or row["end_time"]
            if end_after and not start_after:
                raise RotationError("--end needs a start time; give --time too.")
            if start_after and end_after and end_after <= start_after:
                raise RotationError(f"the end {end_after} is not after the start {start_after}; give a later --end.")
            self.db.execute(
                """UPDATE meetings SET date = coalesce(?, date), place = coalesce(?, place),
                   start_time = coalesce(?, start_time), end_time = coalesce(?, end_time),
                   online_url = coalesce(?, online_url), dropped_date = NULL, sequence = sequence + 1 WHERE id = ?""",
                (day.isoformat() if day else None, place, start_time, end_time, online, row["id"]),
            )
        return self._entry(quarter)

    def _entry(self, quarter: Quarter) -> ScheduledMeeting:
        self.anchor()  # a start, if one must be stored, is the real current quarter
        return next(entry for entry in self.schedule(1, quarter, today=quarter.first_day) if entry.kind == "regular")

    def _check_open(self, quarter: Quarter, verb: str) -> None:
        """Refuse to change a quarter that was held, or one before the rotation starts."""
        row = self._regular_row(quarter)
        if row is not None and row["status"] == "held":
            raise RotationError(f"{quarter} is recorded as held; a held meeting cannot be {verb}.")
        anchor = self.anchor()
        if quarter < anchor:
            raise RotationError(
                f"{quarter} is before the start of the rotation ({anchor}); change the start with: akn-mail rotation start QUARTER"
            )

    def skip(self, quarter: str | Quarter, reason: str = "") -> tuple[Member, Member | None]:
        """Pass over the member due in quarter; the next in order hosts instead, and the
        skipped member comes again in the next round. Returns (skipped, new host)."""
        quarter = Quarter.parse(quarter)
        reason = check_name(reason, "reason")
        with transaction(self.db):
            self._check_open(quarter, "skipped")
            walk = self._walk(quarter)
            if quarter in walk.swaps:
                raise RotationError(
                    f"{quarter} is swapped with {walk.swaps[quarter]}; undo the swap first: akn-mail rotation clear {quarter}"
                )
            due = walk.turns.get(quarter)
            if due is None:
                raise RotationError(f"nobody is due to host in {quarter}; there is nobody to skip.")
            others = [member for member in self.cycle(quarter) if member.id != due.id]
            skipped_ids = {row[0] for row in self.db.execute("SELECT member_id FROM rotation_skips WHERE quarter = ?", (str(quarter),))}
            if not [member for member in others if member.id not in skipped_ids]:
                raise RotationError(f"{due.name} is the only member left who can host in {quarter}; it cannot be skipped.")
            self.db.execute(
                "INSERT INTO rotation_skips (quarter, member_id, reason) VALUES (?, ?, ?)", (str(quarter), due.id, reason)
            )
        return due, self.host_for(quarter)

    def swap(self, first: str | Quarter, second: str | Quarter) -> tuple[Member | None, Member | None]:
        """Let two unrecorded quarters trade hosts. Returns the new hosts (first, second)."""
        first, second = sorted((Quarter.parse(first), Quarter.parse(second)))
        if first == second:
            raise RotationError(f"cannot swap {first} with itself; give two different quarters.")
        with transaction(self.db):
            for quarter in (first, second):
                self._check_open(quarter, "swapped")
                row = self.db.execute(
                    "SELECT first_quarter, second_quarter FROM rotation_swaps WHERE first_quarter = ? OR second_quarter = ?",
                    (str(quarter), str(quarter)),
                ).fetchone()
                if row is not None:
                    raise RotationError(
                        f"{quarter} is already swapped ({row[0]} with {row[1]}); undo that first: akn-mail rotation clear {quarter}"
                    )
            walk = self._walk(second)
            if walk.turns.get(first) is None or walk.turns.get(second) is None:
                raise RotationError(f"nobody is due to host in {first if walk.turns.get(first) is None else second}; nothing to swap.")
            self.db.execute(
                "INSERT INTO rotation_swaps (first_quarter, second_quarter) VALUES (?, ?)", (str(first), str(second))
            )
        return self.host_for(first), self.host_for(second)

    def clear(self, quarter: str | Quarter) -> list[str]:
        """Undo the skips and the swap of quarter (not a recorded meeting). Returns what was undone."""
        quarter = Quarter.parse(quarter)
        undone = []
        with transaction(self.db):
            for row in self.db.execute(
                "SELECT s.id, m.name FROM rotation_skips s JOIN members m ON m.id = s.member_id WHERE quarter = ?", (str(quarter),)
            ).fetchall():
                undone.append(f"skip of {row['name']}")
                self.db.execute("DELETE FROM rotation_skips WHERE id = ?", (row["id"],))
            for row in self.db.execute(
                "SELECT id, first_quarter, second_quarter FROM rotation_swaps WHERE first_quarter = ? OR second_quarter = ?",
                (str(quarter), str(quarter)),
            ).fetchall():
                undone.append(f"swap of {row['first_quarter']} and {row['second_quarter']}")
                self.db.execute("DELETE FROM rotation_swaps WHERE id = ?", (row["id"],))
        if not undone:
            raise RotationError(f"{quarter} has no skip or swap to undo.")
        return undone

    def extra(
        self, date: str | datetime.date, host: str, place: str = "", counts_as_turn: bool = False, note: str = "",
        time: str | None = None, end: str | None = None, online: str | None = None,
    ) -> ScheduledMeeting:
        """Add an extra meeting ("nach Bedarf"). It does not move the rotation unless
        counts_as_turn: then the turns go on after its host."""
        day = parse_date(date)
        start_time = parse_time(time, "--time") if time else None
        end_time = parse_time(end, "--end") if end else None
        if end_time and not start_time:
            raise RotationError("--end needs a start time; give --time too.")
        if start_time and end_time and end_time <= start_time:
            raise RotationError(f"the end {end_time} is not after the start {start_time}; give a later --end.")
        online = check_url(online) if online else ""
        member = self.roster.member(host)
        if not member.is_member_on(day):
            raise RotationError(f"{member.name} is not a member on {day}; choose a member of that day.")
        if counts_as_turn:
            self._check_can_host(member, day=day)
        place = check_name(place, "place")
        note = check_name(note, "note")
        with transaction(self.db):
            cursor = self.db.execute(
                """INSERT INTO meetings (kind, quarter, date, host_member_id, place, counts_as_turn, note,
                   start_time, end_time, online_url) VALUES ('extra', ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (str(Quarter.of(day)), day.isoformat(), member.id, place, int(counts_as_turn), note,
                 start_time, end_time, online),
            )
        meeting_id = cursor.lastrowid
        self.anchor()  # a start, if one must be stored, is the real current quarter
        return next(entry for entry in self.schedule(1, Quarter.of(day), today=day) if entry.meeting_id == meeting_id and entry.kind == "extra")

    def cancel_extra(self, meeting_id: int) -> None:
        """Cancel an extra meeting (it stays in the history as cancelled)."""
        row = self.db.execute("SELECT id FROM meetings WHERE id = ? AND kind = 'extra'", (meeting_id,)).fetchone()
        if row is None:
            raise RotationError(f"no extra meeting with id {meeting_id}; see the ids with: akn-mail rotation meetings")
        with transaction(self.db):
            self.db.execute("UPDATE meetings SET status = 'cancelled', sequence = sequence + 1 WHERE id = ?", (meeting_id,))

    # -- meetings table --------------------------------------------------------------------

    def meetings(self) -> list[sqlite3.Row]:
        """Every row of the meetings table (regular and extra), by quarter and date, with
        the host's name as host_name."""
        return self.db.execute(
            """SELECT mt.*, m.name AS host_name FROM meetings mt LEFT JOIN members m ON m.id = mt.host_member_id
               ORDER BY mt.quarter, coalesce(mt.date, '9999'), mt.id"""
        ).fetchall()

    def ensure_meeting(self, quarter: str | Quarter) -> int:
        """The id of quarter's regular meeting row, created with the derived host if missing
        (so that minutes can be linked to the meeting)."""
        quarter = Quarter.parse(quarter)
        row = self._regular_row(quarter)
        if row is not None:
            return row["id"]
        host = self.host_for(quarter)
        with transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO meetings (kind, quarter, host_member_id) VALUES ('regular', ?, ?)",
                (str(quarter), host.id if host else None),
            )
        return self._regular_row(quarter)["id"]

    def meeting_hosts(self, rows: list[sqlite3.Row] | None = None) -> dict[int, Member | None]:
        """The host of each meetings row (default: every row), by id, with one walk.

        A held or extra meeting has the host recorded on its row. A regular meeting not
        yet held has the host the rotation derives for its quarter, as ``schedule`` shows
        it: a row made by ``rotation plan`` records no host, and one made by
        ``ensure_meeting`` records the host of that moment, which a later skip or swap
        changes. The recorded host is the answer only where the walk knows none.
        """
        rows = self.db.execute("SELECT * FROM meetings").fetchall() if rows is None else rows
        open_quarters = [
            Quarter.parse(row["quarter"]) for row in rows
            if row["kind"] == "regular" and row["status"] != "held" and row["quarter"]
        ]
        derived = self._walk(max(open_quarters), create=False).hosts if open_quarters else {}
        members = {member.id: member for member in self.roster.members()}
        hosts: dict[int, Member | None] = {}
        for row in rows:
            host = None
            if row["kind"] == "regular" and row["status"] != "held" and row["quarter"]:
                host = derived.get(Quarter.parse(row["quarter"]))
            hosts[row["id"]] = host or members.get(row["host_member_id"])
        return hosts

    def meeting_host(self, meeting: int | sqlite3.Row) -> Member | None:
        """The host of one meeting (a meetings row or its id); see ``meeting_hosts``."""
        row = meeting
        if isinstance(meeting, int):
            row = self.db.execute("SELECT * FROM meetings WHERE id = ?", (meeting,)).fetchone()
            if row is None:
                return None
        return self.meeting_hosts([row])[row["id"]]
