"""The foundation commands through click's runner (and once as the installed console
script): what users see, exact error lines and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from icalendar import Calendar

from akn_mail.cli import cli
from conftest import ROSTER_CSV


@pytest.fixture
def run(config_file, monkeypatch):
    """Run `akn-mail --config <tmp config> ARGS...`; returns the click Result."""
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, ["--config", str(config_file), *args], input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def imported(run):
    result = run("roster", "import", str(ROSTER_CSV))
    assert result.exit_code == 0, result.output
    return run


def error_of(result) -> str:
    """The one line on stderr (asserting it is one line, without a traceback)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_import_then_member_list(imported):
    result = imported("member", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["MEMBER", "KIND", "HOSTS", "JOINED", "LEFT", "CONTACTS"]
    assert [line.split()[0] for line in lines[1:4]] == ["Dormagen", "EnergieAgentur.NRW", "Grevenbroich"]
    assert "umwelt@grevenbroich.example, a.demir@grevenbroich.example" in lines[3]


def test_member_list_json(imported):
    data = json.loads(imported("member", "list", "--json").stdout)
    neuss = next(item for item in data["members"] if item["name"] == "Neuss")
    assert set(neuss) == {"name", "kind", "hosts", "joined", "left", "current", "periods", "contacts", "recipients"}
    assert [contact["email"] for contact in neuss["contacts"]] == ["f.lorenz@neuss.example", "klimaanpassung@neuss.example"]


def test_member_add_leave_join(run):
    assert run("member", "add", "Jüchen", "--joined", "2021-03-01").stdout.splitlines()[0] == (
        "Added Jüchen (municipality, hosts: yes, joined 2021-03-01)."
    )
    assert run("member", "add", "EnergieAgentur.NRW", "--kind", "advisor").stdout == (
        "Added EnergieAgentur.NRW (advisor, hosts: no, joined " + __import__("datetime").date.today().isoformat() + ").\n"
        "No quarter changes its host.\n"
    )
    assert run("member", "leave", "jüchen", "--on", "2026-12-31").stdout.splitlines()[:3] == [
        "Jüchen is a member until 2026-12-31.", "Hosts change:", "  2027-Q1: Jüchen -> nobody",
    ]
    assert run("member", "join", "Jüchen", "--on", "2027-04-01").stdout.splitlines()[:3] == [
        "Jüchen is a member again from 2027-04-01.", "Hosts change:", "  2027-Q2: nobody -> Jüchen",
    ]
    data = json.loads(run("member", "list", "--json").stdout)
    juechen = next(item for item in data["members"] if item["name"] == "Jüchen")
    assert juechen["periods"] == [{"joined": "2021-03-01", "left": "2026-12-31"}, {"joined": "2027-04-01", "left": None}]


def test_contact_commands(imported):
    assert imported("contact", "remove", "klima@kaarst.example").stdout == (
        "Removed klima@kaarst.example from Kaarst.\nFarewell mail to klima@kaarst.example queued.\n"
    )
    assert imported("contact", "add", "neu@kaarst.example", "--member", "kaarst", "--name", "Neu").stdout == (
        "Added neu@kaarst.example to Kaarst.\nWelcome mail to neu@kaarst.example queued.\n"
    )
    assert imported("contact", "move", "a.demir@grevenbroich.example", "--to", "Kaarst").stdout == (
        "Moved a.demir@grevenbroich.example to Kaarst.\n"
    )
    assert imported("contact", "disable", "neu@kaarst.example", "--reason", "mailbox full").stdout == (
        "Delivery to neu@kaarst.example is off.\n"
    )
    contacts = json.loads(imported("contact", "list", "--member", "Kaarst", "--json").stdout)
    assert contacts == [
        {"email": "a.demir@grevenbroich.example", "name": "Aylin Demir", "member": "Kaarst", "member_kind": "municipality",
         "delivery_enabled": True, "disabled_reason": "", "bounce_score": 0, "last_bounce": None},
        {"email": "neu@kaarst.example", "name": "Neu", "member": "Kaarst", "member_kind": "municipality",
         "delivery_enabled": False, "disabled_reason": "mailbox full", "bounce_score": 0, "last_bounce": None},
    ]
    assert "off (mailbox full)" in imported("contact", "list").stdout
    assert imported("contact", "enable", "NEU@kaarst.example").stdout == "Delivery to neu@kaarst.example is on.\n"


@pytest.mark.parametrize(
    "args, line",
    [
        (["contact", "add", "x@juechen.example", "--member", "Juchen"], 'Error: no member named "Juchen". Did you mean "Jüchen"?'),
        (["member", "leave", "Juchen"], 'Error: no member named "Juchen". Did you mean "Jüchen"?'),
        (["contact", "add", "kein-at-zeichen", "--member", "Jüchen"],
         'Error: "kein-at-zeichen" is not a valid e-mail address: An email address must have an @-sign.'),
        (["contact", "add", "klima@kaarst.example", "--member", "Jüchen"],
             'Error: klima@kaarst.example is already a contact of Kaarst. '
             'To move it, use: akn-mail contact move klima@kaarst.example --to "Jüchen"'),
        (["contact", "add", "dritte@neuss.example", "--member", "Neuss"],
         "Error: Neuss already has two contacts (f.lorenz@neuss.example and klimaanpassung@neuss.example); "
         "a member names one or two. Remove or move one first."),
        (["member", "add", "Kaarst\r\nBcc: x@evil.example"],
         "Error: the member name 'Kaarst\\r\\nBcc: x@evil.example' contains a line break or control character (U+000D); "
         "use plain text on one line."),
        (["contact", "add", "x@juechen.example", "--member", "Jüchen", "--name", "Markus\x1b[2J"],
         "Error: the contact name 'Markus\\x1b[2J' contains a line break or control character (U+001B); use plain text on one line."),
        (["contact", "remove", "niemand@kaarst.example"],
         "Error: niemand@kaarst.example is not a contact on the roster. See the contacts with: akn-mail contact list"),
        (["rotation", "record", "2027-Q5", "--host", "Neuss", "--date", "2027-03-11"],
         'Error: unknown quarter "2027-Q5"; write YYYY-Qn with n from 1 to 4, e.g. 2027-Q1.'),
        (["rotation", "start", "2026-Q4", "--host", "EnergieAgentur.NRW"],
         "Error: EnergieAgentur.NRW is the advisor, and the advisor never hosts; choose a hosting member."),
        (["rotation", "record", "2027-Q1", "--host", "Rhein-Kreis Neuss", "--date", "2027-03-11"],
         'Error: Rhein-Kreis Neuss does not host (hosts: no); choose another member, or change it with: '
         'akn-mail member set "Rhein-Kreis Neuss" --host'),
        (["rotation", "show", "--today", "31.11.2026"], 'Error: invalid date "31.11.2026"; write it as YYYY-MM-DD or DD.MM.YYYY, e.g. 2027-03-11.'),
        (["member", "set", "EnergieAgentur.NRW", "--host"],
         "Error: EnergieAgentur.NRW is an advisor, and an advisor never hosts (hosts must be no)."),
    ],
)
def test_errors_are_one_line_with_exit_code_1(imported, args, line):
    result = imported(*args)
    assert (result.exit_code, error_of(result)) == (1, line)


def test_broken_csv_reports_the_line_and_imports_nothing(run, tmp_path):
    broken = tmp_path / "roster.csv"
    broken.write_text(ROSTER_CSV.read_text(encoding="utf-8") + "Xanten,municipality,yes,X,xanten.example\n", encoding="utf-8")
    result = run("roster", "import", str(broken))
    assert (result.exit_code, error_of(result)) == (
        1, 'Error: roster.csv line 14: "xanten.example" is not a valid e-mail address: An email address must have an @-sign. '
        "Nothing was imported.",
    )
    assert run("member", "list").stdout == "No members yet. Add some with: akn-mail roster import roster.csv\n"


def test_missing_column_and_missing_file(run, tmp_path):
    broken = tmp_path / "members.csv"
    broken.write_text("member,kind,hosts,contact_name\nNeuss,municipality,yes,F\n", encoding="utf-8")
    result = run("roster", "import", str(broken))
    assert (result.exit_code, error_of(result)) == (
        1, "Error: members.csv line 1: missing column contact_email; the header must be "
        "member,kind,hosts,contact_name,contact_email (optionally ,joined,left), separated by commas, semicolons or tabs. Nothing was imported.",
    )
    result = run("roster", "import", str(tmp_path / "nope.csv"))
    assert (result.exit_code, error_of(result)) == (
        1, f"Error: {tmp_path / 'nope.csv'} does not exist; give the path of a roster CSV or JSON file."
    )


def test_config_file_with_syntax_error_names_the_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[list]\naddress = "akn@lists.example"\nname = \n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(bad), "member", "list"])
    assert result.exit_code == 1
    assert "line 3" in error_of(result) and error_of(result).startswith("Error: ")


def test_export_round_trips_through_the_cli(imported, tmp_path):
    for file_format in ("csv", "json"):
        exported = imported("roster", "export", "--format", file_format).stdout
        again = imported("roster", "import", "--format", file_format, "-", input=exported)
        assert again.exit_code == 0
        assert imported("roster", "export", "--format", file_format).stdout == exported
    assert imported("roster", "export").stdout.splitlines()[0] == "member,kind,hosts,contact_name,contact_email,joined,left"


def test_rotation_show_and_decisions(imported):
    today = ("--today", "2026-11-25")
    shown = imported("rotation", "show", "--quarters", "3", *today).stdout.splitlines()
    assert [line.split()[:3] for line in shown] == [
        ["QUARTER", "HOST", "STATUS"], ["2026-Q4", "Dormagen", "planned"], ["2027-Q1", "Grevenbroich", "planned"],
        ["2027-Q2", "Jüchen", "planned"],
    ]
    assert imported("rotation", "record", "2026-Q4", "--host", "Dormagen", "--date", "2026-11-20", "--place", "Rathaus").stdout == (
        "Recorded 2026-Q4: held by Dormagen on 2026-11-20.\nNo quarter changes its host.\n"
    )
    assert imported("rotation", "skip", "2027-q1", "--reason", "Umzug").stdout.splitlines()[:4] == [
        "Grevenbroich is skipped in 2027-Q1; Jüchen hosts instead. Grevenbroich hosts next in 2028-Q4.",
        "Hosts change:", "  2027-Q1: Grevenbroich -> Jüchen", "  2027-Q2: Jüchen -> Kaarst",
    ]
    assert imported("rotation", "swap", "2028-Q1", "2027-Q4").stdout == (
        "Swapped: 2027-Q4 is hosted by Neuss, 2028-Q1 by Meerbusch.\n"
        "Hosts change:\n  2027-Q4: Meerbusch -> Neuss\n  2028-Q1: Neuss -> Meerbusch\n"
    )
    assert imported("rotation", "extra", "--date", "2027-05-20", "--host", "Neuss", "--note", "Wärmeplanung").stdout == (
        "Added extra meeting 2 on 2027-05-20 hosted by Neuss.\n"
    )
    assert imported("rotation", "plan", "2027-Q2", "--date", "2027-06-03", "--place", "Rathaus Kaarst").stdout == (
        "Planned 2027-Q2: Kaarst, 2027-06-03, Rathaus Kaarst.\n"
    )
    items = json.loads(imported("rotation", "show", "--json", "--quarters", "6", *today).stdout)
    assert [(i["quarter"], i["kind"], i["host"], i["status"]) for i in items] == [
        ("2026-Q4", "regular", "Dormagen", "held"),
        ("2027-Q1", "regular", "Jüchen", "skipped"),
        ("2027-Q2", "extra", "Neuss", "planned"),
        ("2027-Q2", "regular", "Kaarst", "planned"),
        ("2027-Q3", "regular", "Korschenbroich", "planned"),
        ("2027-Q4", "regular", "Neuss", "swapped"),
        ("2028-Q1", "regular", "Meerbusch", "swapped"),
    ]
    assert items[0]["date"] == "2026-11-20" and items[0]["place"] == "Rathaus"
    assert items[1]["skipped"] == ["Grevenbroich"] and items[1]["skip_reason"] == "Umzug"
    assert items[5]["swapped_with"] == "2028-Q1"
    text = imported("rotation", "show", "--quarters", "2", *today).stdout
    assert "skipped Grevenbroich" in text
    assert imported("rotation", "clear", "2027-Q4").stdout == (
        "Undone: swap of 2027-Q4 and 2028-Q1.\nHosts change:\n  2027-Q4: Neuss -> Meerbusch\n  2028-Q1: Meerbusch -> Neuss\n"
    )
    meetings = json.loads(imported("rotation", "meetings", "--json").stdout)
    assert [(m["kind"], m["quarter"], m["host"], m["status"]) for m in meetings] == [
        ("regular", "2026-Q4", "Dormagen", "held"), ("extra", "2027-Q2", "Neuss", "planned"), ("regular", "2027-Q2", "Kaarst", "planned"),
    ]


def test_rotation_start_with_host(imported):
    assert imported("rotation", "start", "2026-Q4", "--host", "Kaarst").stdout.splitlines()[:3] == [
        "The rotation starts in 2026-Q4 with Kaarst.", "Hosts change:", "  2026-Q4: Dormagen -> Kaarst",
    ]
    items = json.loads(imported("rotation", "show", "--json", "--quarters", "2", "--today", "2026-11-25").stdout)
    assert [i["host"] for i in items] == ["Kaarst", "Korschenbroich"]


def test_rotation_ics_is_a_calendar_of_the_dated_meetings(imported, tmp_path):
    imported("rotation", "show", "--today", "2026-11-25")
    imported("rotation", "plan", "2027-Q1", "--date", "2027-03-11", "--place", "Rathaus Grevenbroich")
    imported("rotation", "extra", "--date", "2027-05-20", "--host", "Neuss")
    result = imported("rotation", "ics", "--today", "2026-11-25", "--quarters", "3")
    assert result.exit_code == 0
    calendar = Calendar.from_ical(result.stdout_bytes)
    events = [(str(e["summary"]), e["dtstart"].dt.isoformat(), str(e.get("location", ""))) for e in calendar.walk("VEVENT")]
    assert events == [
        ("AKN-Sitzung im 1. Quartal 2027, ausgerichtet von Grevenbroich", "2027-03-11", "Rathaus Grevenbroich"),
        ("AKN-Sondersitzung, ausgerichtet von Neuss", "2027-05-20", ""),
    ]
    assert [str(e["uid"]) for e in calendar.walk("VEVENT")] == ["2027-Q1@lists.example", "extra-2@lists.example"]
    assert result.stderr == (
        "Not in the calendar (no date yet): 2026-Q4, 2027-Q2; set one with: akn-mail rotation plan QUARTER --date YYYY-MM-DD\n"
    )


FOUNDATION_GROUPS = ("roster", "member", "contact", "rotation")


def test_every_foundation_command_has_help_with_an_example(run):
    import importlib

    for group_name in FOUNDATION_GROUPS:
        group = getattr(importlib.import_module(f"akn_mail.cli.{group_name}"), group_name)
        for name in [None, *group.commands]:
            args = [group_name] + ([name] if name else []) + ["--help"]
            result = run(*args)
            assert result.exit_code == 0, args
            assert "    akn-mail " in result.stdout, f"no example in: akn-mail {' '.join(args)}"


def test_cli_modules_do_not_import_heavy_libraries():
    code = (
        "import sys, akn_mail.cli.roster, akn_mail.cli.member, akn_mail.cli.contact, akn_mail.cli.rotation;"
        "heavy = [m for m in ('icalendar', 'email_validator', 'akn_mail.roster.roster_file', 'akn_mail.roster.rotation') if m in sys.modules];"
        "print(heavy)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_installed_console_script_end_to_end(tmp_path):
    """init, roster import, member list, rotation show --json as a real process."""
    script = Path(sys.executable).with_name("akn-mail")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "akn_mail"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("AKN_MAIL_")}
    env["AKN_MAIL_CONFIG"] = str(tmp_path / "akn-mail.toml")
    roster = tmp_path / "roster.csv"
    shutil.copy(ROSTER_CSV, roster)

    def akn(*args):
        return subprocess.run(command + list(args), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    init = akn("init")
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "akn-mail.toml").exists() and (tmp_path / "archive").is_dir()
    imported = akn("roster", "import", "roster.csv").stdout.splitlines()
    assert imported[0] == "  new member Dormagen (municipality, hosts: yes)"
    assert imported[-2] == (
        "Imported roster.csv: 10 members added, 0 changed, 0 unchanged; 12 contacts added, 0 changed, 0 unchanged."
    )
    listed = akn("member", "list")
    assert listed.returncode == 0 and "Rhein-Kreis Neuss" in listed.stdout
    shown = akn("rotation", "show", "--json", "--today", "2026-11-25", "--quarters", "9")
    assert shown.returncode == 0, shown.stderr
    assert [(item["quarter"], item["host"]) for item in json.loads(shown.stdout)][-2:] == [
        ("2028-Q3", "Rommerskirchen"), ("2028-Q4", "Dormagen")
    ]
    failed = akn("member", "leave", "Juchen")
    assert (failed.returncode, failed.stderr) == (1, 'Error: no member named "Juchen". Did you mean "Jüchen"?\n')


def test_member_list_current_leaves_out_former_members(imported):
    imported("member", "leave", "Kaarst", "--on", "2020-12-31")
    everyone = imported("member", "list").stdout
    assert any(line.startswith("Kaarst ") and "2020-12-31" in line for line in everyone.splitlines())
    current = json.loads(imported("member", "list", "--current", "--json").stdout)["members"]
    assert "Kaarst" not in [item["name"] for item in current] and len(current) == 9


def test_member_remove_only_for_a_member_added_by_mistake(imported):
    assert imported("member", "add", "Kaarst-Test").exit_code == 0
    assert imported("member", "remove", "kaarst-test").stdout == "Removed Kaarst-Test.\n"
    result = imported("member", "remove", "Kaarst")
    assert (result.exit_code, error_of(result)) == (
        1, "Error: Kaarst still has contacts; remove them first, or use 'akn-mail member leave' to keep the history."
    )


def test_rotation_cancel_extra_meeting(imported):
    imported("rotation", "extra", "--date", "2027-05-20", "--host", "Neuss", "--counts-as-turn")
    assert imported("rotation", "cancel", "1").stdout.splitlines()[:3] == [
        "Cancelled extra meeting 1.", "Hosts change:", "  2027-Q2: Rommerskirchen -> Jüchen",
    ]
    items = json.loads(imported("rotation", "show", "--json", "--from", "2027-Q2", "--quarters", "1", "--today", "2026-11-25").stdout)
    assert [(i["kind"], i["host"], i["status"], i["counts_as_turn"]) for i in items] == [
        ("extra", "Neuss", "cancelled", True), ("regular", "Jüchen", "planned", False)
    ]
    result = imported("rotation", "cancel", "99")
    assert (result.exit_code, error_of(result)) == (
        1, "Error: no extra meeting with id 99; see the ids with: akn-mail rotation meetings"
    )


def test_removing_the_last_contact_of_a_member_says_so(imported):
    result = imported("contact", "remove", "klima@kaarst.example")
    assert result.exit_code == 0 and result.stdout.startswith("Removed klima@kaarst.example from Kaarst.\n")
    assert result.stderr == 'Note: Kaarst has no contact now; add one with: akn-mail contact add EMAIL --member "Kaarst"\n'
    result = imported("contact", "remove", "f.lorenz@neuss.example")
    assert result.stderr == ""
