"""Issue 12, items 1, 10 and 12: a roster import never changes the roster silently.

What the county's admin checks: a typo in a member name is refused with "Did you mean"
instead of creating a second member, --dry-run prints every change and keeps none, the
summary names new members and moved contacts, every problem of a file is reported at once,
Excel's files (German dates, semicolons or tabs, BOM, German kinds) import, and the Excel
export opens in columns. One member-name matcher serves --member, files and search."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from akn_mail.cli import cli
from akn_mail.roster.members import Roster, match_member
from conftest import ROSTER_CSV


@pytest.fixture
def run(config_file):
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, ["--config", str(config_file), *args], input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def imported(run):
    result = run("roster", "import", str(ROSTER_CSV))
    assert result.exit_code == 0, result.output
    return run


def members_and_contacts(run):
    return run("roster", "export").stdout


HEADER = "member,kind,hosts,contact_name,contact_email\n"


def test_a_typo_in_a_member_name_is_refused_with_did_you_mean(imported, tmp_path):
    before = members_and_contacts(imported)
    path = tmp_path / "update.csv"
    path.write_text(HEADER + "Korschenbroch,municipality,yes,Thomas Özdemir,t.oezdemir@korschenbroich.example\n", encoding="utf-8")
    result = imported("roster", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        'Error: update.csv line 2: no member named "Korschenbroch", and it is too close to "Korschenbroich" to be a new one. '
        'Did you mean "Korschenbroich"? Correct the name in the file. Nothing was imported.\n'
    )
    assert members_and_contacts(imported) == before


@pytest.mark.parametrize("typed", ["juechen", "JÜCHEN", "Jüchen ", "Juechen", "  jüchen"])
def test_the_one_matcher_folds_case_umlauts_and_spaces(database, typed):
    roster = Roster(database)
    roster.add_member("Jüchen")
    roster.add_member("Rhein-Kreis Neuss", "county", hosts=False)
    found, suggestion = match_member(typed, roster.members())
    assert (found.name, suggestion) == ("Jüchen", None)
    assert match_member("Rhein-Kreis  neuss", roster.members())[0].name == "Rhein-Kreis Neuss"
    assert match_member("Juchen", roster.members())[1].name == "Jüchen"
    assert match_member("Jüchn", roster.members())[1].name == "Jüchen"
    assert match_member("Kaarst", roster.members()) == (None, None)


def test_dry_run_prints_every_change_and_keeps_none(imported, tmp_path):
    before = members_and_contacts(imported)
    path = tmp_path / "changes.csv"
    path.write_text(
        HEADER
        + "Jüchen,municipality,yes,Aylin Demir,a.demir@grevenbroich.example\n"
        + "Xanten,Kommune,ja,Xaver Berg,x.berg@xanten.example\n"
        + "Rhein-Kreis Neuss,Kreis,ja,Andrea Vogt,klima@rhein-kreis-neuss.example\n"
        + "Kaarst,municipality,yes,Sabine Krüger-Schmitz,klima@kaarst.example\n",
        encoding="utf-8",
    )
    result = imported("roster", "import", "--dry-run", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "  contact a.demir@grevenbroich.example: moved from Grevenbroich to Jüchen\n"
        "  new member Xanten (municipality, hosts: yes)\n"
        "  new contact x.berg@xanten.example (Xaver Berg) of Xanten\n"
        "  member Rhein-Kreis Neuss: hosts no -> yes\n"
        "  contact klima@kaarst.example: name \"Sabine Krüger\" -> \"Sabine Krüger-Schmitz\"\n"
        "Dry run of changes.csv: 1 member added, 1 changed, 2 unchanged; 1 contact added, 2 changed, 1 unchanged. "
        "Nothing was changed.\n"
        "Hosts change:\n"
        "  2028-Q3: Rommerskirchen -> Rhein-Kreis Neuss\n"
        "  2028-Q4: Dormagen -> Rommerskirchen\n"
        "  2029-Q1: Grevenbroich -> Xanten\n"
        "  2029-Q2: Jüchen -> Dormagen\n"
        "  2029-Q3: Kaarst -> Grevenbroich\n"
        "  2029-Q4: Korschenbroich -> Jüchen\n"
    )
    assert members_and_contacts(imported) == before
    applied = imported("roster", "import", str(path))
    assert applied.stdout.splitlines()[5] == (
        "Imported changes.csv: 1 member added, 1 changed, 2 unchanged; 1 contact added, 2 changed, 1 unchanged."
    )
    assert "  contact a.demir@grevenbroich.example: moved from Grevenbroich to Jüchen" in applied.stdout
    assert "  new member Xanten (municipality, hosts: yes)" in applied.stdout


def test_every_problem_of_a_file_at_once(imported, tmp_path):
    before = members_and_contacts(imported)
    path = tmp_path / "broken.csv"
    path.write_text(
        HEADER
        + "Dormagen,Stadtteil,yes,Petra Hülsmann,klimaschutz@dormagen.example\n"
        + "Neuss,municipality,vielleicht,Felix Lorenz,f.lorenz@neuss.example\n"
        + "Kaarst,municipality,yes,Sabine Krüger,kaarst.example\n"
        + "Meerbush,municipality,yes,Claudia Brandt,nachhaltigkeit@meerbusch.example\n",
        encoding="utf-8",
    )
    result = imported("roster", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: broken.csv has 4 problems; nothing was imported:\n"
        '  line 2: unknown kind "Stadtteil"; use one of: municipality (Kommune), county (Kreis), advisor (Beratung).\n'
        '  line 3: hosts must be yes or no (ja or nein), not "vielleicht".\n'
        '  line 4: "kaarst.example" is not a valid e-mail address: An email address must have an @-sign.\n'
        '  line 5: no member named "Meerbush", and it is too close to "Meerbusch" to be a new one. '
        'Did you mean "Meerbusch"? Correct the name in the file.\n'
    )
    assert members_and_contacts(imported) == before


@pytest.mark.parametrize("separator", [";", "\t", ","])
def test_an_excel_file_with_german_dates_and_kinds_imports(run, tmp_path, separator):
    rows = [
        ["Member", "Kind", "Hosts", "Contact_Name", "Contact_Email", "Joined", "Left"],
        ["Jüchen", "Municipality", "ja", "Markus Schäfer", "m.schaefer@juechen.example", "01.03.2021", ""],
        ["Rhein-Kreis Neuss", "KREIS", "nein", "Andrea Vogt", "klima@rhein-kreis-neuss.example", "", ""],
        ["EnergieAgentur.NRW", "Beratung", "nein", "Lukas Brenner", "brenner@energieagentur-nrw.example", "", "30.06.2027"],
    ]
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(separator.join(row) for row in rows) + "\r\n").encode("utf-8"))
    result = run("roster", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-2] == (
        "Imported excel.csv: 3 members added, 0 changed, 0 unchanged; 3 contacts added, 0 changed, 0 unchanged."
    )
    listed = run("member", "list").stdout
    assert "Jüchen              municipality  yes    2021-03-01" in listed
    assert "EnergieAgentur.NRW  advisor       no     -           2027-06-30" in listed


def test_excel_export_has_bom_semicolons_and_reads_back(imported, tmp_path):
    path = tmp_path / "roster.csv"
    result = imported("roster", "export", "--excel", "-o", str(path))
    assert result.exit_code == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfmember;kind;hosts;contact_name;contact_email;joined;left\r\n")
    assert "Dormagen;municipality;yes;Petra Hülsmann;klimaschutz@dormagen.example;;\r\n".encode() in data
    again = imported("roster", "import", str(path))
    assert again.stdout == (
        "Imported roster.csv: 0 members added, 0 changed, 10 unchanged; 0 contacts added, 0 changed, 12 unchanged.\n"
    )


def test_contact_add_takes_the_name_from_name_and_address(imported):
    imported("contact", "remove", "m.schaefer@juechen.example")
    result = imported("contact", "add", "Markus Schäfer <m.schaefer@juechen.example>", "--member", "Juechen")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Added m.schaefer@juechen.example to Jüchen."
    line = next(line for line in imported("contact", "list").stdout.splitlines() if "m.schaefer" in line)
    assert line.split() == ["m.schaefer@juechen.example", "Markus", "Schäfer", "Jüchen", "on"]
