"""Reading decisions and tasks from minutes: the judged collection, dates, member names."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from akn_mail.results.dates import parse_due
from akn_mail.results.extract import extract_results
from akn_mail.results.matching import match_member

JUDGED = Path(__file__).resolve().parent.parent / "bench" / "minutes_judged"
MEMBERS = ["Rhein-Kreis Neuss", "Dormagen", "Grevenbroich", "Jüchen", "Kaarst", "Korschenbroich", "Meerbusch", "Neuss",
           "Rommerskirchen", "EnergieAgentur.NRW"]


def found_in(path: Path):
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    found = extract_results(path.read_text(encoding="utf-8"), MEMBERS, dt.date.fromisoformat(expected["meeting_day"]),
                            dt.date.fromisoformat(expected["next_meeting"]))
    return expected["results"], found


def same(item, result) -> bool:
    return (item["kind"] == result.kind and item["top"] == re.search(r"\d+", result.top)[0]
            and item["contains"].casefold() in result.text.casefold())


@pytest.mark.parametrize("path", sorted(JUDGED.glob("*.txt")), ids=lambda path: path.stem)
def test_every_judged_result_is_found_with_member_and_due_date_and_nothing_invented(path):
    judged, found = found_in(path)
    for item in judged:
        hits = [result for result in found if same(item, result)]
        if item.get("optional"):
            continue
        assert hits, f"missed {item}; found {[r.as_dict() for r in found]}"
        assert hits[0].member == item["member"], hits[0].as_dict()
        assert (hits[0].due.isoformat() if hits[0].due else None) == item["due"], hits[0].as_dict()
    invented = [result.as_dict() for result in found if not any(same(item, result) for item in judged)]
    assert invented == []


def test_the_held_out_minutes_invent_little():
    """The held-out set is measured (bench/results_extraction.py), not tuned on; a floor keeps it honest."""
    judged_total = found_total = right = 0
    for path in sorted((JUDGED / "heldout").glob("*.txt")):
        judged, found = found_in(path)
        judged_total += len(judged)
        found_total += len(found)
        right += sum(1 for result in found if any(same(item, result) for item in judged))
    assert right / found_total >= 0.8
    assert right / judged_total >= 0.5


@pytest.mark.parametrize("phrase, expected", [
    ("bis 31.03.2027", dt.date(2027, 3, 31)),
    ("Frist: 15.2.", dt.date(2028, 2, 15)),  # no year: the next 15 February after the meeting
    ("bis 15. März 2028", dt.date(2028, 3, 15)),
    ("bis Ende Q2", dt.date(2028, 6, 30)),
    ("Ende des 3. Quartals 2028", dt.date(2028, 9, 30)),
    ("bis Ende Mai 2028", dt.date(2028, 5, 31)),
    ("zur nächsten Sitzung", dt.date(2028, 3, 15)),
    ("Jahresende", dt.date(2027, 12, 31)),
    ("irgendwann", None),
])
def test_due_dates_as_minutes_write_them(phrase, expected):
    value, _ = parse_due(phrase, dt.date(2027, 12, 8), next_meeting=dt.date(2028, 3, 15))
    assert value == expected


def test_next_meeting_without_a_date_stays_empty():
    assert parse_due("zur nächsten Sitzung", dt.date(2027, 12, 8), None) == (None, "zur nächsten Sitzung")


@pytest.mark.parametrize("phrase, expected", [
    ("RKN", "Rhein-Kreis Neuss"),
    ("Kreisverwaltung", "Rhein-Kreis Neuss"),
    ("Rhein-Kreis Neuss", "Rhein-Kreis Neuss"),
    ("Stadt Neuss", "Neuss"),
    ("Korschenbr.", "Korschenbroich"),
    ("KAA", "Kaarst"),
    ("EA.NRW", "EnergieAgentur.NRW"),
    ("GV", "Grevenbroich"),
    ("Juechen", "Jüchen"),
    ("Grevenbroich, Jüchen", None),  # two members: no one is guessed
    ("Herr Müller", None),
    ("alle", None),
])
def test_member_names_and_abbreviations(phrase, expected):
    assert match_member(phrase, MEMBERS) == expected


def test_postponed_and_reported_decisions_are_no_results():
    text = ("TOP 4: Beschaffung\nEin Beschluss über das Logo wird vertagt.\n"
            "In der letzten Sitzung wurde bereits beschlossen, die Karten zu veröffentlichen.\n"
            "Ob wir gemeinsam ausschreiben, soll in der nächsten Sitzung beschlossen werden.\n"
            "Beschluss: keiner\nErgebnis: Kenntnisnahme\n")
    assert extract_results(text, MEMBERS, dt.date(2027, 3, 10)) == []
