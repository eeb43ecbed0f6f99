"""Precision and recall of reading results (decisions, tasks) from minutes.

Runs ``akn_mail.results.extract`` over the judged minutes in bench/minutes_judged/ (one
.txt with the text the archive reads, one .json with what a careful reader finds) and
prints, per file and in total for the development and the held-out set, how many results were found, how many of them were right
(precision) and how many of the judged ones were found (recall), and how often the
responsible member and the due date of a found result were right.

A found result matches a judged one when kind and TOP number agree and its text contains
the judged word. Judged results marked "optional" count neither way.

    .venv/bin/python bench/results_extraction.py [--verbose]
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path

from akn_mail.results.extract import extract_results

MEMBERS = ["Rhein-Kreis Neuss", "Dormagen", "Grevenbroich", "Jüchen", "Kaarst", "Korschenbroich", "Meerbusch", "Neuss",
           "Rommerskirchen", "EnergieAgentur.NRW"]
FOLDER = Path(__file__).parent / "minutes_judged"


def top_number(top: str) -> str:
    match = re.search(r"\d+", top or "")
    return match[0] if match else ""


def judge(path: Path, verbose: bool = False) -> dict:
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    day = dt.date.fromisoformat(expected["meeting_day"])
    following = dt.date.fromisoformat(expected["next_meeting"]) if expected.get("next_meeting") else None
    found = extract_results(path.read_text(encoding="utf-8"), MEMBERS, day, following)
    judged = expected["results"]
    used: set[int] = set()
    right = optional_hits = member_right = due_right = 0
    wrong = []
    for result in found:
        hit = None
        for index, item in enumerate(judged):
            if index in used:
                continue
            if (item["kind"] == result.kind and item["top"] == top_number(result.top)
                    and item["contains"].casefold() in result.text.casefold()):
                hit = index
                break
        if hit is None:
            wrong.append(result)
            continue
        used.add(hit)
        item = judged[hit]
        if item.get("optional"):
            optional_hits += 1
            continue
        right += 1
        member_right += item["member"] == result.member
        due_right += item["due"] == (result.due.isoformat() if result.due else None)
        if verbose and (item["member"] != result.member or item["due"] != (result.due.isoformat() if result.due else None)):
            print(f"  {path.name}: field mismatch {result.as_dict()} judged {item}")
    required = [item for item in judged if not item.get("optional")]
    missed = [item for index, item in enumerate(judged) if index not in used and not item.get("optional")]
    if verbose:
        for result in wrong:
            print(f"  {path.name}: INVENTED {result.as_dict()}")
        for item in missed:
            print(f"  {path.name}: MISSED {item}")
    return {"name": path.name, "found": len(found) - optional_hits, "right": right, "judged": len(required),
            "member_right": member_right, "due_right": due_right}


def main(argv: list[str]) -> int:
    verbose = "--verbose" in argv
    report("development set (the extractor was tuned on it)", sorted(FOLDER.glob("*.txt")), verbose)
    print()
    report("held-out set (written after tuning, not tuned on)", sorted((FOLDER / "heldout").glob("*.txt")), verbose)
    return 0


def report(title: str, paths: list[Path], verbose: bool) -> None:
    print(title)
    rows = [judge(path, verbose) for path in paths]
    print(f"{'minutes':28} {'judged':>6} {'found':>6} {'right':>6}")
    for row in rows:
        print(f"{row['name']:28} {row['judged']:6} {row['found']:6} {row['right']:6}")
    judged = sum(row["judged"] for row in rows)
    found = sum(row["found"] for row in rows)
    right = sum(row["right"] for row in rows)
    precision = right / found if found else 1.0
    recall = right / judged if judged else 1.0
    print(f"\n{len(rows)} minutes, {judged} judged results, {found} found, {right} right")
    print(f"precision {precision:.2f}  recall {recall:.2f}")
    if right:
        print(f"responsible member right in {sum(r['member_right'] for r in rows)}/{right}, "
              f"due date right in {sum(r['due_right'] for r in rows)}/{right} of the right results")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
