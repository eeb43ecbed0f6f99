"""Which member a phrase in the minutes names: "Kaarst", "Stadt Kaarst", "RKN", "Grevenbr.".

One function, ``match_member``, is the results room's one place that turns the text of a
"Zuständig" cell into a member. A phrase that is a member's name goes through the roster's
member-name matcher (``akn_mail.roster.members.match_member``: case, umlauts, ae/oe/ue);
only its exact match counts, never its "Did you mean" suggestion. Names inside a phrase
are matched as words, the longest first, so "Rhein-Kreis Neuss" never reads as "Neuss".
Abbreviations: the county's usual short forms (RKN, Kreis, Kreisverwaltung), the advisor's
(EA.NRW), a cut-off name with a dot ("Korschenbr.") and the capitalised first three letters
("KAA"), each only when exactly one member fits. Anything else is no member: the phrase is
kept as written, never guessed.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Iterable

from akn_mail.roster.members import match_member as roster_match
from akn_mail.text import fold

# Short forms written in the alliance's minutes, by a word of the member's name.
KNOWN_ALIASES = {
    "rhein-kreis": ("rkn", "kreis", "rhein-kreis", "kreisverwaltung", "rhein kreis", "rhein-kreis neuss"),
    "energieagentur": ("ea.nrw", "ea nrw", "energieagentur", "energie agentur", "energieagentur nrw"),
    "grevenbroich": ("gv",),
}


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[\w.-]+", fold(text).lower())) + " "


def match_member(phrase: str, names: Iterable[str]) -> str | None:
    """The member name (as in NAMES) that PHRASE names, or None if none or more than one fits."""
    names = list(names)
    if not phrase or not names:
        return None
    exact, _ = roster_match(phrase, [SimpleNamespace(name=name) for name in names])
    if exact is not None:
        return exact.name
    text = _words(phrase)
    found: list[str] = []
    # Whole names, longest first; a match is cut out so its parts do not match again.
    for name in sorted(names, key=len, reverse=True):
        key = _words(name).strip()
        if key and f" {key} " in text:
            found.append(name)
            text = text.replace(f" {key} ", " ")
    for name in names:
        if name in found:
            continue
        folded = fold(name).lower()
        for word, aliases in KNOWN_ALIASES.items():
            if word in folded and any(f" {_words(alias).strip()} " in text for alias in aliases):
                found.append(name)
                break
    if not found:
        for token in re.findall(r"[\w]+\.|\b[A-ZÄÖÜ]{3}\b", phrase):
            stem = fold(token.rstrip(".")).lower()
            if len(stem) < 3:
                continue
            fitting = [name for name in names if fold(name).lower().startswith(stem) and fold(name).lower() != stem]
            if len(fitting) == 1 and (token.endswith(".") or token.isupper()):
                found.append(fitting[0])
    found = list(dict.fromkeys(found))
    return found[0] if len(found) == 1 else None
