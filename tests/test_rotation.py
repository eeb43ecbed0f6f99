"""The host rotation, case by case: each case shapes a roster and the decisions, and states
the hosts of the following quarters a person would expect (the rule is in the README)."""

from __future__ import annotations

import datetime

import pytest

from akn_mail.roster.quarter import Quarter, QuarterError
from akn_mail.roster.members import Roster
from akn_mail.roster.rotation import Rotation, RotationError

D = datetime.date
MUNICIPALITIES = ["Rommerskirchen", "Kaarst", "Dormagen", "Jüchen", "Neuss", "Grevenbroich", "Meerbusch", "Korschenbroich"]
START = "2026-Q4"
TODAY = D(2026, 10, 1)
LATER = D(2030, 1, 1)  # "today" for recording meetings of the cases' future quarters


def build(database, without=()) -> tuple[Roster, Rotation]:
    roster = Roster(database)
    for name in MUNICIPALITIES:
        if name not in without:
            roster.add_member(name, "municipality")
    roster.add_member("Rhein-Kreis Neuss", "county", hosts=False)
    roster.add_member("EnergieAgentur.NRW", "advisor")
    rotation = Rotation(database, roster)
    rotation.set_start(START)
    return roster, rotation


def hosts(rotation: Rotation, quarters: int, start: str = START) -> list[str]:
    return [
        entry.host.name if entry.host else "-"
        for entry in rotation.schedule(quarters, start, today=TODAY)
        if entry.kind == "regular"
    ]


def leave(name, on):
    return lambda roster, rotation: roster.leave(name, D.fromisoformat(on))


def join(name, on):
    return lambda roster, rotation: roster.join(name, D.fromisoformat(on))


def add(name, joined, kind="municipality", **options):
    return lambda roster, rotation: roster.add_member(name, kind, joined=D.fromisoformat(joined), **options)


def record(quarter, host, on):
    return lambda roster, rotation: rotation.record(quarter, host, on, today=LATER)


def skip(quarter):
    return lambda roster, rotation: rotation.skip(quarter, "cannot host")


def swap(first, second):
    return lambda roster, rotation: rotation.swap(first, second)


def extra(on, host, counts=False):
    return lambda roster, rotation: rotation.extra(on, host, counts_as_turn=counts)


def county_hosts(roster, rotation):
    roster.update_member("Rhein-Kreis Neuss", hosts=True)


# (case, members left out of the base roster, steps, hosts from 2026-Q4 on)
CASES = [
    ("plain cycle wraps Rommerskirchen -> Dormagen", (), [],
     "Dormagen Grevenbroich Jüchen Kaarst Korschenbroich Meerbusch Neuss Rommerskirchen Dormagen Grevenbroich"),
    ("leave of the next host: the one after it hosts", (),
     [record("2026-Q4", "Dormagen", "2026-11-12"), leave("Grevenbroich", "2026-12-31")],
     "Dormagen Jüchen Kaarst Korschenbroich Meerbusch Neuss Rommerskirchen Dormagen Jüchen Kaarst"),
    ("leave on a future day: hosts until then, passed by afterwards", (), [leave("Kaarst", "2027-09-30")],
     "Dormagen Grevenbroich Jüchen Kaarst Korschenbroich Meerbusch Neuss Rommerskirchen Dormagen Grevenbroich Jüchen Korschenbroich"),
    ("leave in the middle of its quarter: not a member for the whole quarter, so passed by", (),
     [leave("Kaarst", "2027-08-15")],
     "Dormagen Grevenbroich Jüchen Korschenbroich Meerbusch Neuss Rommerskirchen Dormagen"),
    ("rejoin on the first day of a quarter: back in its place at once", (),
     [leave("Kaarst", "2026-12-31"), join("Kaarst", "2027-07-01")],
     "Dormagen Grevenbroich Jüchen Kaarst Korschenbroich"),
    ("rejoin within a quarter: back from the next quarter, in the next round", (),
     [leave("Kaarst", "2026-12-31"), join("Kaarst", "2027-07-02")],
     "Dormagen Grevenbroich Jüchen Korschenbroich Meerbusch Neuss Rommerskirchen Dormagen Grevenbroich Jüchen Kaarst"),
    ("join of a member alphabetically before the current host: its turn when the cycle comes round", ("Jüchen",),
     [add("Jüchen", "2027-05-01")],
     "Dormagen Grevenbroich Kaarst Korschenbroich Meerbusch Neuss Rommerskirchen Dormagen Grevenbroich Jüchen Kaarst"),
    ("join of a member right after the current host: hosts next", ("Kaarst",),
     [record("2026-Q4", "Jüchen", "2026-12-01"), add("Kaarst", "2026-12-15")],
     "Jüchen Kaarst Korschenbroich"),
    ("skip: the next in order hosts, the skipped member comes again next round", (), [skip("2027-Q2")],
     "Dormagen Grevenbroich Kaarst Korschenbroich Meerbusch Neuss Rommerskirchen Dormagen Grevenbroich Jüchen Kaarst"),
    ("two skips in one quarter pass over two members", (), [skip("2027-Q2"), skip("2027-Q2")],
     "Dormagen Grevenbroich Korschenbroich Meerbusch"),
    ("swap within a year: the two trade, the rest is unchanged", (), [swap("2027-Q2", "2027-Q3")],
     "Dormagen Grevenbroich Kaarst Jüchen Korschenbroich Meerbusch"),
    ("swap across a year boundary", (), [swap("2027-Q4", "2028-Q1")],
     "Dormagen Grevenbroich Jüchen Kaarst Meerbusch Korschenbroich Neuss Rommerskirchen"),
    ("swap given later quarter first", (), [swap("2028-Q1", "2027-Q4")],
     "Dormagen Grevenbroich Jüchen Kaarst Meerbusch Korschenbroich Neuss Rommerskirchen"),
    ("recorded in turn: nothing changes", (), [record("2027-Q1", "Grevenbroich", "2027-03-11")],
     "Dormagen Grevenbroich Jüchen Kaarst"),
    ("recorded out of turn: the rotation continues after the member that hosted", (),
     [record("2027-Q1", "Neuss", "2027-03-11")],
     "Dormagen Neuss Rommerskirchen Dormagen Grevenbroich Jüchen"),
    ("swapped quarter recorded with its swapped host: the swap stands", (),
     [swap("2027-Q2", "2027-Q3"), record("2027-Q2", "Kaarst", "2027-05-05")],
     "Dormagen Grevenbroich Kaarst Jüchen Korschenbroich"),
    ("swapped quarter recorded with a third host: the swap ends, the rotation goes on after that host", (),
     [swap("2027-Q2", "2027-Q3"), record("2027-Q2", "Meerbusch", "2027-05-05")],
     "Dormagen Grevenbroich Meerbusch Neuss Rommerskirchen"),
    ("county with hosts=no never hosts", (), [],
     "Dormagen Grevenbroich Jüchen Kaarst Korschenbroich Meerbusch Neuss Rommerskirchen Dormagen"),
    ("county with hosts=yes takes its alphabetical place (after Neuss)", (), [county_hosts],
     "Dormagen Grevenbroich Jüchen Kaarst Korschenbroich Meerbusch Neuss Rhein-Kreis_Neuss Rommerskirchen Dormagen"),
    ("extra meeting does not move the rotation", (), [extra("2027-02-10", "Neuss")],
     "Dormagen Grevenbroich Jüchen Kaarst"),
    ("extra meeting counting as a turn, before the regular meeting: the quarter continues after its host", (),
     [extra("2027-01-20", "Jüchen", counts=True)],
     "Dormagen Kaarst Korschenbroich"),
    ("extra meeting counting as a turn, after the recorded regular meeting", (),
     [record("2027-Q1", "Grevenbroich", "2027-01-15"), extra("2027-02-20", "Meerbusch", counts=True)],
     "Dormagen Grevenbroich Neuss Rommerskirchen"),
    ("nobody left to host: the quarter is unassigned, the turns go on afterwards", (),
     [leave(name, "2027-03-31") for name in MUNICIPALITIES] + [join("Neuss", "2027-07-01")],
     "Dormagen Grevenbroich - Neuss Neuss"),
]


@pytest.mark.parametrize("case, without, steps, expected", CASES, ids=[case[0] for case in CASES])
def test_rotation_case(database, case, without, steps, expected):
    roster, rotation = build(database, without)
    for step in steps:
        step(roster, rotation)
    wanted = [name.replace("_", " ") for name in expected.split()]
    assert hosts(rotation, len(wanted)) == wanted


def test_advisor_never_hosts_and_is_refused_as_host(database):
    roster, rotation = build(database)
    for quarter in range(12):
        assert "EnergieAgentur.NRW" not in [m.name for m in rotation.cycle(Quarter.parse(START) + quarter)]
    with pytest.raises(RotationError, match="^EnergieAgentur.NRW is the advisor, and the advisor never hosts; choose a hosting member.$"):
        rotation.set_start("2027-Q1", host="EnergieAgentur.NRW")
    with pytest.raises(RotationError, match="advisor never hosts"):
        rotation.record("2027-Q1", "EnergieAgentur.NRW", "2027-02-01", today=LATER)
    with pytest.raises(RotationError, match="advisor never hosts"):
        rotation.extra("2027-02-01", "EnergieAgentur.NRW", counts_as_turn=True)
    # An extra meeting that does not count may be hosted by anyone, the advisor too.
    entry = rotation.extra("2027-02-01", "EnergieAgentur.NRW", place="Düsseldorf")
    assert entry.host.name == "EnergieAgentur.NRW" and entry.kind == "extra"


def test_county_without_hosting_is_refused_as_host(database):
    roster, rotation = build(database)
    with pytest.raises(RotationError, match=r"^Rhein-Kreis Neuss does not host \(hosts: no\)"):
        rotation.record("2027-Q1", "Rhein-Kreis Neuss", "2027-02-01", today=LATER)


def test_start_with_host_begins_there(database):
    roster, rotation = build(database)
    rotation.set_start("2026-Q4", host="Kaarst")
    assert hosts(rotation, 6) == ["Kaarst", "Korschenbroich", "Meerbusch", "Neuss", "Rommerskirchen", "Dormagen"]


def test_start_is_set_automatically_and_does_not_shift_with_time(database):
    roster = Roster(database)
    for name in MUNICIPALITIES:
        roster.add_member(name)
    rotation = Rotation(database, roster)
    first = rotation.schedule(2, today=D(2027, 2, 10))
    assert [(e.quarter, e.host.name) for e in first] == [("2027-Q1", "Dormagen"), ("2027-Q2", "Grevenbroich")]
    later = rotation.schedule(2, today=D(2027, 5, 1))
    assert [(e.quarter, e.host.name) for e in later] == [("2027-Q2", "Grevenbroich"), ("2027-Q3", "Jüchen")]


def test_recorded_history_before_the_start_anchors_the_rotation(database):
    roster = Roster(database)
    for name in MUNICIPALITIES:
        roster.add_member(name)
    rotation = Rotation(database, roster)
    rotation.schedule(1, today=D(2026, 11, 25))  # sets the start to 2026-Q4
    rotation.record("2026-Q3", "Neuss", "2026-09-10", today=LATER)
    assert hosts(rotation, 3, "2026-Q3") == ["Neuss", "Rommerskirchen", "Dormagen"]


def test_recorded_history_stays_when_the_host_leaves(database):
    roster, rotation = build(database)
    rotation.record("2026-Q4", "Dormagen", "2026-11-12", today=LATER)
    roster.leave("Dormagen", D(2026, 12, 31))
    entries = rotation.schedule(2, START, today=TODAY)
    assert [(e.host.name, e.status) for e in entries] == [("Dormagen", "held"), ("Grevenbroich", "planned")]


def test_status_shows_skip_swap_and_held(database):
    roster, rotation = build(database)
    rotation.record("2026-Q4", "Dormagen", "2026-11-12", today=LATER)
    skipped, host = rotation.skip("2027-Q1", "Rathaus wird saniert")
    assert (skipped.name, host.name) == ("Grevenbroich", "Jüchen")
    rotation.swap("2027-Q4", "2028-Q1")
    entries = {e.quarter: e for e in rotation.schedule(6, START, today=TODAY)}
    assert entries["2026-Q4"].status_text == "held"
    assert entries["2027-Q1"].status_text == "skipped Grevenbroich"
    assert entries["2027-Q1"].skip_reason == "Rathaus wird saniert"
    assert entries["2027-Q2"].status_text == "planned"
    assert entries["2027-Q4"].status_text == "swapped with 2028-Q1"
    assert entries["2028-Q1"].status_text == "swapped with 2027-Q4"


def test_json_fields_are_stable(database):
    roster, rotation = build(database)
    rotation.plan("2026-Q4", "2026-12-03", "Rathaus Dormagen")
    item = rotation.schedule(1, START, today=TODAY)[0].as_json()
    assert item == {
        "quarter": "2026-Q4", "kind": "regular", "host": "Dormagen", "date": "2026-12-03",
        "place": "Rathaus Dormagen", "status": "planned", "skipped": [], "skip_reason": "",
        "swapped_with": None, "counts_as_turn": False, "meeting_id": item["meeting_id"], "note": "",
        "time": None, "end": None, "online": "",
    }
    assert isinstance(item["meeting_id"], int)


@pytest.mark.parametrize(
    "action, message",
    [
        (lambda r: r.swap("2027-Q2", "2027-Q2"), "^cannot swap 2027-Q2 with itself; give two different quarters.$"),
        (lambda r: r.swap("2026-Q4", "2027-Q1"), "^2026-Q4 is recorded as held; a held meeting cannot be swapped.$"),
        (lambda r: r.skip("2026-Q4"), "^2026-Q4 is recorded as held; a held meeting cannot be skipped.$"),
        (lambda r: r.swap("2026-Q2", "2027-Q1"),
         r"^2026-Q2 is before the start of the rotation \(2026-Q3\); change the start with: akn-mail rotation start QUARTER$"),
        (lambda r: r.record("2027-Q1", "Neuss", "2027-05-20", today=LATER),
         r"^2027-05-20 is not in 2027-Q1 \(2027-01-01 to 2027-03-31\); give a date in the quarter, or use quarter 2027-Q2.$"),
        (lambda r: r.record("2027-Q9", "Neuss", "2027-05-20", today=LATER), r'^unknown quarter "2027-Q9"; write YYYY-Qn'),
        (lambda r: r.record("2027-Q1", "Neuss", "11/03/2027", today=LATER), r'^invalid date "11/03/2027"; write it as YYYY-MM-DD or DD.MM.YYYY'),
        (lambda r: r.clear("2027-Q3"), "^2027-Q3 has no skip or swap to undo.$"),
        (lambda r: r.cancel_extra(99), r"^no extra meeting with id 99; see the ids with: akn-mail rotation meetings$"),
    ],
)
def test_refused_decisions(database, action, message):
    roster, rotation = build(database)
    rotation.set_start("2026-Q3")
    rotation.record("2026-Q4", "Grevenbroich", "2026-11-12", today=LATER)
    with pytest.raises((RotationError, QuarterError), match=message):
        action(rotation)


def test_swap_of_an_already_swapped_quarter_is_refused_and_clear_undoes_it(database):
    roster, rotation = build(database)
    rotation.swap("2027-Q2", "2027-Q3")
    with pytest.raises(RotationError, match=r"^2027-Q3 is already swapped \(2027-Q2 with 2027-Q3\); undo that first"):
        rotation.swap("2027-Q3", "2027-Q4")
    with pytest.raises(RotationError, match="^2027-Q2 is swapped with 2027-Q3; undo the swap first"):
        rotation.skip("2027-Q2")
    assert rotation.clear("2027-Q3") == ["swap of 2027-Q2 and 2027-Q3"]
    assert hosts(rotation, 4) == ["Dormagen", "Grevenbroich", "Jüchen", "Kaarst"]


def test_ensure_meeting_creates_the_row_once_with_the_derived_host(database):
    roster, rotation = build(database)
    first = rotation.ensure_meeting("2027-Q1")
    assert rotation.ensure_meeting("2027-Q1") == first
    rows = [dict(row) for row in rotation.meetings()]
    assert [(row["id"], row["quarter"], row["host_name"], row["status"]) for row in rows] == [
        (first, "2027-Q1", "Grevenbroich", "planned")
    ]
    # The row holds no decision: the host stays derived.
    assert hosts(rotation, 3) == ["Dormagen", "Grevenbroich", "Jüchen"]


def test_cancelled_extra_meeting_stays_listed_as_cancelled(database):
    roster, rotation = build(database)
    entry = rotation.extra("2027-02-10", "Neuss", counts_as_turn=True)
    rotation.cancel_extra(entry.meeting_id)
    assert hosts(rotation, 3) == ["Dormagen", "Grevenbroich", "Jüchen"]
    extras = [e for e in rotation.schedule(2, START, today=TODAY) if e.kind == "extra"]
    assert [(e.host.name, e.status) for e in extras] == [("Neuss", "cancelled")]


@pytest.mark.parametrize(
    "text, year, number, first, last",
    [
        ("2027-Q1", 2027, 1, D(2027, 1, 1), D(2027, 3, 31)),
        ("2028q1", 2028, 1, D(2028, 1, 1), D(2028, 3, 31)),
        ("2027-Q4", 2027, 4, D(2027, 10, 1), D(2027, 12, 31)),
        (" 2024-Q1 ", 2024, 1, D(2024, 1, 1), D(2024, 3, 31)),
    ],
)
def test_quarter_parse_and_days(text, year, number, first, last):
    quarter = Quarter.parse(text)
    assert (quarter.year, quarter.number, quarter.first_day, quarter.last_day) == (year, number, first, last)
    assert Quarter.of(first) == quarter == Quarter.of(last)


def test_quarter_arithmetic_crosses_years():
    assert str(Quarter.parse("2027-Q4") + 1) == "2028-Q1"
    assert str(Quarter.parse("2028-Q1") - 1) == "2027-Q4"
    assert Quarter.parse("2028-Q2") - Quarter.parse("2027-Q4") == 2


def test_host_for_never_stores_a_start(database):
    roster = Roster(database)
    for name in MUNICIPALITIES:
        roster.add_member(name)
    rotation = Rotation(database, roster)
    assert rotation.host_for("2024-Q1", today=D(2024, 2, 1)) is None
    assert rotation.start() == (None, None, False)
    assert rotation.schedule(1, today=D(2026, 11, 25))[0].host.name == "Dormagen"
    assert rotation.start()[0] == Quarter.parse("2026-Q4")
    assert rotation.host_for("2027-Q1").name == "Grevenbroich"


def test_a_meeting_in_the_future_cannot_be_recorded_as_held(database):
    roster, rotation = build(database)
    with pytest.raises(RotationError) as error:
        rotation.record("2027-Q1", "Grevenbroich", "2027-03-11", today=D(2027, 3, 10))
    assert str(error.value) == (
        "2027-03-11 is in the future, so the meeting cannot have been held; plan it with: "
        "akn-mail rotation plan 2027-Q1 --date 2027-03-11"
    )
    rotation.record("2027-Q1", "Grevenbroich", "2027-03-11", today=D(2027, 3, 11))


def test_planning_ahead_does_not_move_the_start(database):
    roster = Roster(database)
    for name in MUNICIPALITIES:
        roster.add_member(name)
    rotation = Rotation(database, roster)
    rotation.plan("2030-Q2", "2030-05-05")
    rotation.extra("2031-01-10", "Neuss")
    assert rotation.start()[0] == Quarter.current()
