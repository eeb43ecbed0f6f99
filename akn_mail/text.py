"""Text rules for people's names: German alphabetical order, safe names, near-miss suggestions.

DIN 5007 variant 1 (the dictionary order the Letter of Intent means by "alphabetical"):
ä, ö, ü sort as a, o, u and ß as ss, so Jüchen comes after Grevenbroich and before Kaarst.
A word differing only by the umlaut sorts after the plain one (Muller < Müller).
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from typing import Any

_DIN5007 = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "Ä": "a", "Ö": "o", "Ü": "u", "ẞ": "ss"})
_ASCII_SPELLING = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def german_sort_key(name: str) -> tuple[str, str]:
    """Sort key for German alphabetical order (DIN 5007-1), ties broken by the exact text."""
    folded = unicodedata.normalize("NFC", name).casefold().translate(_DIN5007)
    # Remove any other accents (é -> e) so foreign names sort where a reader expects.
    base = "".join(ch for ch in unicodedata.normalize("NFD", folded) if not unicodedata.combining(ch))
    return base, name.casefold()


def fold(name: str) -> str:
    """A loose form for matching names a person typed: case, umlauts (both spellings), spaces."""
    text = unicodedata.normalize("NFC", name).casefold().translate(_ASCII_SPELLING).casefold()
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return " ".join(text.split())


def unsafe_character(value: str) -> str | None:
    """The first control or line-break character in value (a header-injection risk), if any."""
    for ch in value:
        if ch in "\r\n\t\x0b\x0c\x85\u2028\u2029" or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return ch
    return None


def closest(name: str, candidates: list[str]) -> str | None:
    """The candidate a person most likely meant by name (a template name), or None.
    Member names go through the roster's one matcher, ``roster.members.match_member``."""
    by_fold: dict[str, str] = {}
    for candidate in candidates:
        by_fold.setdefault(fold(candidate), candidate)
    wanted = fold(name)
    if wanted in by_fold:
        return by_fold[wanted]
    # Also compare with umlauts reduced to their base letter ("Juchen" vs "juechen").
    plain = {german_sort_key(candidate)[0]: candidate for candidate in candidates}
    wanted_plain = german_sort_key(name)[0]
    if wanted_plain in plain:
        return plain[wanted_plain]
    matches = difflib.get_close_matches(wanted_plain, list(plain), n=1, cutoff=0.6)
    return plain[matches[0]] if matches else None


# Text from mail made safe for a terminal (see cli/output.py); here, without click, so that
# the search server renders exactly what the command prints.
# C0 except tab (0x09) and newline (0x0a), DEL, and C1 (0x80-0x9f). ESC (0x1b) is C0.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match) -> str:
    return f"\\x{ord(match.group(0)):02x}"


def safe(text: object) -> str:
    """``text`` with every control character but newline and tab shown as ``\\xNN``.

    CRLF is a line end; a lone CR (which lets a line overwrite itself) is shown as ``\\x0d``.
    """
    return _CONTROL.sub(_visible, str(text).replace("\r\n", "\n"))


def safe_bytes(raw: bytes) -> str:
    """A raw message as text for a terminal: UTF-8 where it is, ``\\xNN`` for other bytes, LF line ends."""
    return safe(raw.decode("utf-8", "backslashreplace"))


def _json_escape(match: re.Match) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def json_text(value: Any) -> str:
    """``value`` as indented JSON (UTF-8 kept readable) with every control character escaped.

    ``json.dumps`` escapes C0 already; C1 and DEL are legal raw in JSON strings, and can
    only occur inside strings, so escaping them keeps the JSON equal and the terminal safe.
    """
    return _CONTROL.sub(_json_escape, json.dumps(value, ensure_ascii=False, indent=2))
