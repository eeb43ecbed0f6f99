"""Roster files: the example CSV imports, broken files name their line and import nothing,
and export round-trips with import (CSV and JSON)."""

from __future__ import annotations

import datetime
import json
import unicodedata

import pytest

from akn_mail import db
from akn_mail.roster.members import Roster
from akn_mail.roster.roster_file import RosterFileError, export_roster, import_roster

from conftest import ROSTER_CSV

HEADER = "member,kind,hosts,contact_name,contact_email\n"


@pytest.fixture
def roster(database) -> Roster:
    return Roster(database)


def snapshot(roster: Roster):
    members = [(m.name, m.kind, m.hosts, m.periods) for m in roster.members()]
    contacts = [(c.email, c.name, c.member_name, c.delivery_enabled, c.disabled_reason) for c in roster.contacts()]
    return members, contacts


def test_example_roster_imports(roster):
    result = import_roster(roster, ROSTER_CSV.read_text(encoding="utf-8"), "roster.csv")
    assert str(result) == "10 members added, 0 changed, 0 unchanged; 12 contacts added, 0 changed, 0 unchanged"
    assert [m.name for m in roster.members()][:4] == ["Dormagen", "EnergieAgentur.NRW", "Grevenbroich", "Jüchen"]
    county = roster.member("Rhein-Kreis Neuss")
    assert (county.kind, county.hosts, county.joined, county.left) == ("county", False, None, None)
    assert [c.email for c in roster.contacts("Grevenbroich")] == ["umwelt@grevenbroich.example", "a.demir@grevenbroich.example"]
    # Importing the same file again changes nothing.
    before = snapshot(roster)
    assert str(import_roster(roster, ROSTER_CSV.read_text(encoding="utf-8"), "roster.csv")) == (
        "0 members added, 0 changed, 10 unchanged; 0 contacts added, 0 changed, 12 unchanged"
    )
    assert snapshot(roster) == before


@pytest.mark.parametrize(
    "text, message",
    [
        ("member,kind,hosts,contact_name\nNeuss,municipality,yes,Felix\n",
         "roster.csv line 1: missing column contact_email; the header must be member,kind,hosts,contact_name,contact_email "
         "(optionally ,joined,left), separated by commas, semicolons or tabs. Nothing was imported."),
        (HEADER.replace("\n", ",phone\n") + "Neuss,municipality,yes,Felix,f@neuss.example,123\n",
         "roster.csv line 1: unknown column phone; the columns are member,kind,hosts,contact_name,contact_email,joined,left. "
         "Nothing was imported."),
        (HEADER + "Neuss,municipality,yes,Felix,f@neuss.example\nKaarst,town,yes,Sabine,k@kaarst.example\n",
         'roster.csv line 3: unknown kind "town"; use one of: municipality (Kommune), county (Kreis), advisor (Beratung). '
         "Nothing was imported."),
        (HEADER + "Neuss,municipality,yes,Felix,f@neuss.example\nKaarst,municipality,vielleicht,Sabine,k@kaarst.example\n",
         'roster.csv line 3: hosts must be yes or no (ja or nein), not "vielleicht". Nothing was imported.'),
        (HEADER + "Neuss,municipality,yes,Felix,f@neuss.example\n\nKaarst,municipality,yes,Sabine,kaarst.example\n",
         'roster.csv line 4: "kaarst.example" is not a valid e-mail address: An email address must have an @-sign. '
         "Nothing was imported."),
        (HEADER + "Neuss,municipality,yes,A,a@neuss.example\nNeuss,municipality,yes,B,b@neuss.example\n"
         "Neuss,municipality,yes,C,c@neuss.example\n",
         "roster.csv line 4: Neuss already has two contacts (a@neuss.example and b@neuss.example); a member names one or two. "
         "Remove or move one first. Nothing was imported."),
        (HEADER + "Neuss,municipality,yes,A,a@neuss.example\nKaarst,municipality,yes,B,A@neuss.example\n",
         "roster.csv line 3: A@neuss.example is in the file twice (also on line 2). Nothing was imported."),
        (HEADER + 'Neuss,municipality,yes,"Felix\nBcc: x@evil.example",f@neuss.example\n',
         "roster.csv line 3: the contact name 'Felix\\nBcc: x@evil.example' contains a line break or control character "
         "(U+000A); use plain text on one line. Nothing was imported."),
        (HEADER + "Neuss,municipality,yes,Felix\n",
         "roster.csv line 2: fewer cells than columns. Nothing was imported."),
        (HEADER + "Neuss,municipality,yes,Felix,f@neuss.example\nNeuss,county,yes,Miriam,m@neuss.example\n",
         "roster.csv line 3: Neuss has a different kind, hosts or joined/left than on line 2; give a member the same values "
         "on every row. Nothing was imported."),
        ("member,kind,hosts,contact_name,contact_email,joined,left\nNeuss,municipality,yes,F,f@neuss.example,2027-13-01,\n",
         'roster.csv line 2: joined "2027-13-01" is not a date YYYY-MM-DD or DD.MM.YYYY. Nothing was imported.'),
        ("member,kind,hosts,contact_name,contact_email,joined,left\nNeuss,municipality,yes,F,f@neuss.example,2027-01-01,2026-01-01\n",
         "roster.csv line 2: left 2026-01-01 is before joined 2027-01-01. Nothing was imported."),
        (HEADER + "EnergieAgentur.NRW,advisor,yes,L,l@energieagentur-nrw.example\n",
         "roster.csv line 2: EnergieAgentur.NRW is an advisor, and an advisor never hosts (hosts must be no). Nothing was imported."),
        ("", "roster.csv: the file is empty; it needs the header member,kind,hosts,contact_name,contact_email. Nothing was imported."),
    ],
)
def test_broken_csv_names_the_line_and_imports_nothing(roster, text, message):
    import_roster(roster, HEADER + "Dormagen,municipality,yes,Petra,p@dormagen.example\n", "first.csv")
    before = snapshot(roster)
    with pytest.raises(RosterFileError) as error:
        import_roster(roster, text, "roster.csv")
    assert str(error.value) == message
    assert snapshot(roster) == before


def test_a_bad_last_row_rolls_back_everything_before_it(roster):
    good = ROSTER_CSV.read_text(encoding="utf-8")
    with pytest.raises(RosterFileError, match="^roster.csv line 14: "):
        import_roster(roster, good + "Xanten,municipality,yes,X,not-an-address\n", "roster.csv")
    assert roster.members() == [] and roster.contacts() == []


def test_semicolon_csv_with_bom_from_a_spreadsheet(roster):
    text = "\ufeffmember;kind;hosts;contact_name;contact_email\nJüchen;municipality;ja;Markus Schäfer;m.schaefer@juechen.example\n"
    import_roster(roster, text, "roster.csv")
    assert roster.find_contact("m.schaefer@juechen.example").member_name == "Jüchen"


def test_import_applies_dates_and_moves_contacts(roster):
    import_roster(roster, ROSTER_CSV.read_text(encoding="utf-8"), "roster.csv")
    text = (
        "member,kind,hosts,contact_name,contact_email,joined,left\n"
        "Kaarst,municipality,yes,Sabine Krüger,klima@kaarst.example,2020-01-01 2025-01-01,2023-12-31\n"
        "Jüchen,municipality,yes,Aylin Demir,a.demir@grevenbroich.example,2021-03-01,\n"
    )
    import_roster(roster, text, "changes.csv")
    kaarst = roster.member("Kaarst")
    assert [(p.joined, p.left) for p in kaarst.periods] == [
        (datetime.date(2020, 1, 1), datetime.date(2023, 12, 31)), (datetime.date(2025, 1, 1), None)
    ]
    assert roster.find_contact("a.demir@grevenbroich.example").member_name == "Jüchen"
    assert roster.member("Jüchen").joined == datetime.date(2021, 3, 1)


@pytest.mark.parametrize("file_format", ["csv", "json"])
def test_export_round_trips_with_import(roster, config, tmp_path, file_format):
    import_roster(roster, ROSTER_CSV.read_text(encoding="utf-8"), "roster.csv")
    roster.leave("Kaarst", datetime.date(2026, 12, 31))
    roster.join("Kaarst", datetime.date(2027, 7, 1))
    roster.add_member("Jüchen-Test", joined=datetime.date(2027, 1, 1))  # a member without contacts
    if file_format == "json":
        roster.set_delivery("klima@kaarst.example", False, "mailbox full")
    exported = export_roster(roster, file_format)
    other = Roster(db.connect(tmp_path / "other.sqlite3"))
    import_roster(other, exported, f"roster.{file_format}")
    assert snapshot(other) == snapshot(roster)
    assert export_roster(other, file_format) == exported


def test_csv_export_format(roster):
    import_roster(roster, HEADER + "Neuss,municipality,yes,Felix Lorenz,f.lorenz@neuss.example\n", "a.csv")
    roster.leave("Neuss", datetime.date(2027, 6, 30))
    assert export_roster(roster, "csv") == (
        "member,kind,hosts,contact_name,contact_email,joined,left\n"
        "Neuss,municipality,yes,Felix Lorenz,f.lorenz@neuss.example,,2027-06-30\n"
    )


def test_broken_json_names_the_line(roster):
    with pytest.raises(RosterFileError) as error:
        import_roster(roster, '{"members": [\n  {"name": "Neuss",}\n]}', "roster.json")
    assert str(error.value) == "roster.json line 2: Expecting property name enclosed in double quotes. Nothing was imported."


def test_json_export_fields(roster):
    import_roster(roster, HEADER + "Neuss,municipality,yes,Felix Lorenz,f.lorenz@neuss.example\n", "a.csv")
    data = json.loads(export_roster(roster, "json"))
    assert data == {
        "members": [{
            "name": "Neuss", "kind": "municipality", "hosts": True, "joined": None, "left": None, "current": True,
            "periods": [{"joined": None, "left": None}],
            "contacts": [{
                "email": "f.lorenz@neuss.example", "name": "Felix Lorenz", "member": "Neuss",
                "member_kind": "municipality", "delivery_enabled": True, "disabled_reason": "",
            }],
            "recipients": [],
        }]
    }


def test_a_member_name_in_decomposed_unicode_updates_the_member(roster):
    import_roster(roster, HEADER + "Jüchen,municipality,yes,Markus Schäfer,m.schaefer@juechen.example\n", "a.csv")
    decomposed = unicodedata.normalize("NFD", "Jüchen")
    result = import_roster(roster, HEADER + f"{decomposed},municipality,yes,Markus Schäfer,m.schaefer@juechen.example\n", "b.csv")
    assert str(result) == "0 members added, 0 changed, 1 unchanged; 0 contacts added, 0 changed, 1 unchanged"
    assert [m.name for m in roster.members()] == ["Jüchen"]
