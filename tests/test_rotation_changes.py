"""Issue 12, items 2, 3, 5 and 9: nothing in the rotation changes without being shown.

Every command that changes who hosts a quarter prints the quarters whose host changes
(before -> after) and takes --dry-run; a meeting recorded before the start of the rotation
moves nothing after it; a quarter's planned date and place belong to its host and are
dropped (and said so) when the host changes; skip says when the member hosts next;
'rotation show' stores nothing; 'rotation meetings' prints its table."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from akn_mail import db
from akn_mail.cli import cli
from akn_mail.config import load
from akn_mail.roster.members import Roster
from conftest import ROSTER_CSV


@pytest.fixture
def run(config_file):
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, ["--config", str(config_file), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    return invoke


@pytest.fixture
def imported(run):
    run("roster", "import", str(ROSTER_CSV))
    run("rotation", "start", "2027-Q1", "--host", "Dormagen")
    return run


def hosts(run, first: str, quarters: int) -> list[str]:
    lines = run("rotation", "show", "--from", first, "--quarters", str(quarters)).splitlines()[1:]
    return [" ".join(line.split()[:2]) for line in lines]


def test_an_old_meeting_recorded_before_the_start_moves_nothing_after_it(imported):
    before = hosts(imported, "2027-Q1", 4)
    assert imported("rotation", "record", "2026-Q3", "--host", "Rommerskirchen", "--date", "2026-09-10") == (
        "Recorded 2026-Q3: held by Rommerskirchen on 2026-09-10.\n"
        "Hosts change:\n"
        "  2026-Q3: nobody -> Rommerskirchen\n"
    )
    assert hosts(imported, "2026-Q3", 6) == [
        "2026-Q3 Rommerskirchen", "2026-Q4 nobody", "2027-Q1 Dormagen", "2027-Q2 Grevenbroich", "2027-Q3 Jüchen",
        "2027-Q4 Kaarst",
    ]
    assert hosts(imported, "2027-Q1", 4) == before


def test_a_plan_belongs_to_its_host_and_is_dropped_with_it(imported):
    imported("rotation", "plan", "2027-Q3", "--date", "2027-08-12", "--time", "14:00", "--place", "Rathaus Jüchen")
    preview = imported("member", "leave", "Jüchen", "--on", "2027-03-31", "--dry-run").splitlines()
    assert preview[:3] == [
        "Jüchen is a member until 2027-03-31.",
        "Hosts change:",
        "  2027-Q3: Jüchen -> Kaarst (planned date 2027-08-12 14:00, place Rathaus Jüchen dropped; "
        "plan it again with: akn-mail rotation plan 2027-Q3)",
    ]
    assert preview[-1] == "Dry run: nothing was changed."
    assert "2027-Q3  Jüchen  planned  2027-08-12 14:00  Rathaus Jüchen" in imported("rotation", "show", "--from", "2027-Q3", "--quarters", "1")
    assert imported("member", "list", "--current").count("Jüchen") == 1  # still a member
    done = imported("member", "leave", "Jüchen", "--on", "2027-03-31").splitlines()
    assert done[1:3] == preview[1:3]
    assert imported("rotation", "show", "--from", "2027-Q3", "--quarters", "1").splitlines()[1].split() == [
        "2027-Q3", "Kaarst", "planned", "-", "-"
    ]


def test_skip_says_when_the_member_hosts_next_and_dry_run_keeps_nothing(imported):
    before = hosts(imported, "2027-Q1", 10)
    preview = imported("rotation", "skip", "2027-Q2", "--reason", "Rathaus wird saniert", "--dry-run").splitlines()
    assert preview[0] == "Grevenbroich is skipped in 2027-Q2; Jüchen hosts instead. Grevenbroich hosts next in 2029-Q1."
    assert preview[1:4] == ["Hosts change:", "  2027-Q2: Grevenbroich -> Jüchen", "  2027-Q3: Jüchen -> Kaarst"]
    assert preview[-1] == "Dry run: nothing was changed."
    assert hosts(imported, "2027-Q1", 10) == before
    assert imported("rotation", "skip", "2027-Q2").splitlines()[:2] == [preview[0], "Hosts change:"]
    assert hosts(imported, "2029-Q1", 1) == ["2029-Q1 Grevenbroich"]


@pytest.mark.parametrize("command", [
    ("rotation", "swap", "2027-Q2", "2027-Q3"),
    ("rotation", "record", "2026-Q4", "--host", "Neuss", "--date", "2026-11-05"),
    ("rotation", "start", "2027-Q2"),
    ("rotation", "plan", "2027-Q2", "--date", "2027-05-12"),
    ("member", "set", "Rhein-Kreis Neuss", "--host"),
    ("member", "join", "Kaarst", "--on", "2099-01-01"),
    ("member", "add", "Xanten", "--joined", "2027-01-01"),
])
def test_every_rotation_changing_command_has_a_dry_run(imported, command):
    if command[1] == "join":
        imported("member", "leave", "Kaarst", "--on", "2098-12-31")
    before = imported("roster", "export"), hosts(imported, "2026-Q3", 12), imported("rotation", "meetings")
    output = imported(*command, "--dry-run")
    assert output.splitlines()[-1] == "Dry run: nothing was changed."
    assert (imported("roster", "export"), hosts(imported, "2026-Q3", 12), imported("rotation", "meetings")) == before


def test_rotation_show_stores_nothing(config_file, run):
    config = load(config_file)
    connection = db.connect(config.database_path)
    roster = Roster(connection)
    for name in ("Dormagen", "Grevenbroich"):
        roster.add_member(name)
    result = CliRunner().invoke(cli, ["--config", str(config_file), "rotation", "show", "--quarters", "2"])
    assert result.exit_code == 0
    assert result.stderr == (
        "Note: the rotation has no start yet; it is shown from the current quarter. "
        "Fix it with: akn-mail rotation start QUARTER\n"
    )
    run("rotation", "ics")
    assert connection.execute("SELECT count(*) FROM settings").fetchone()[0] == 0
    assert connection.execute("SELECT count(*) FROM meetings").fetchone()[0] == 0


def test_rotation_meetings_prints_a_table(imported):
    imported("rotation", "record", "2026-Q3", "--host", "Rommerskirchen", "--date", "2026-09-10", "--place", "Rathaus")
    imported("rotation", "plan", "2027-Q2", "--date", "2027-05-12", "--place", "Rathaus Grevenbroich")
    imported("rotation", "extra", "--date", "2027-03-20", "--host", "Neuss", "--note", "Wärmeplanung")
    assert imported("rotation", "meetings") == (
        "ID  KIND     QUARTER  DATE        HOST            STATUS   PLACE\n"
        "1   regular  2026-Q3  2026-09-10  Rommerskirchen  held     Rathaus\n"
        "3   extra    2027-Q1  2027-03-20  Neuss           planned  -\n"
        "2   regular  2027-Q2  2027-05-12  Grevenbroich    planned  Rathaus Grevenbroich\n"
    )
