"""Header rendering: non-ASCII subjects survive folding with every space in place."""

from __future__ import annotations

import email
import email.policy
import random

from akn_mail.message import render

WORDS = ["Förderprogramm", "Wärmeplanung", "Stadtbäume", "Jüchen", "Radverkehr", "und", "–", "Frist", "€", "  "]


def decoded_subject(raw: bytes) -> str:
    return str(email.message_from_bytes(raw + b"\r\n", policy=email.policy.default)["Subject"])


def test_long_german_subject_keeps_every_space_after_folding():
    # Python 3.11's folder dropped the space at a fold between two encoded words.
    subject = "[AKN] Re: Förderprogramm Wärmeplanung – Frist für Stadtbäume in Jüchen und Grevenbroich"
    raw = render("Subject", subject)
    assert raw.count(b"\r\n") > 1  # it was folded
    assert decoded_subject(raw) == subject


def test_random_german_subjects_round_trip():
    generator = random.Random(7)
    for _ in range(500):
        subject = "[AKN] " + " ".join(generator.choice(WORDS) for _ in range(generator.randint(1, 25)))
        raw = render("Subject", subject)
        assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
        assert decoded_subject(raw) == subject


def test_ascii_subject_stays_readable():
    assert render("Subject", "[AKN] Sitzung 2027-Q1") == b"Subject: [AKN] Sitzung 2027-Q1\r\n"


def test_folded_lines_stay_within_78_characters():
    for name in ("Subject", "List-Id", "X-A-Rather-Long-Header-Name"):
        raw = render(name, "Allianz für Klima und Nachhaltigkeit im Rhein-Kreis Neuss – Förderprogramme " * 3)
        assert max(len(line) for line in raw.split(b"\r\n")) <= 78
