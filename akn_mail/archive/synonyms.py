"""Synonyms and abbreviations for search: a plain, editable German list.

One group per line, entries separated by commas (``PV, Photovoltaik, Solaranlage``); every
entry of a group also finds the others. An entry of several words is looked up as a
phrase. ``#`` starts a comment. The shipped list is ``synonyms.de.txt`` beside this module;
``[archive] synonyms_file`` names a site's own list instead. Expansions are applied at query
time in a tier of their own, below the literal hits (``tiers``), so a list can be edited
without reindexing.
"""

from __future__ import annotations

from pathlib import Path

from akn_mail.archive.analysis import WORD, fold, is_whole, stem
from akn_mail.archive.store import ArchiveError

SHIPPED = Path(__file__).with_name("synonyms.de.txt")
# A word with more alternatives than this is cut there (a runaway list would slow every search).
MAX_ALTERNATIVES = 8


class SynonymsError(ArchiveError):
    """The synonyms file cannot be read; the message names the line."""


def key(entry: str) -> str:
    """How an entry is looked up: its index terms (stems; a word with a dot or hyphen
    inside folded whole), as the query's words are analysed."""
    return " ".join(fold(word) if is_whole(word) else stem(word) for word in WORD.findall(entry))


class Synonyms:
    """Word (folded) -> the other entries of its groups, as typed in the file."""

    def __init__(self, groups: list[list[str]] | None = None, source: str = ""):
        self.source = source
        self.alternatives: dict[str, list[str]] = {}
        for group in groups or []:
            for entry in group:
                others = self.alternatives.setdefault(key(entry), [])
                for other in group:
                    if key(other) != key(entry) and other not in others and len(others) < MAX_ALTERNATIVES:
                        others.append(other)

    def __len__(self) -> int:
        return len(self.alternatives)

    def of(self, word: str) -> list[str]:
        """The other entries for a word as typed."""
        return self.alternatives.get(key(word), [])

    def of_terms(self, terms: list[str]) -> list[str]:
        """The other entries for a phrase already analysed into index terms."""
        return self.alternatives.get(" ".join(terms), [])

    @classmethod
    def parse(cls, text: str, source: str = "") -> "Synonyms":
        groups = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            entries = [entry.strip() for entry in line.split(",")]
            if any(not key(entry) for entry in entries) or len(entries) < 2:
                raise SynonymsError(
                    f"the synonyms file {source} has an unreadable line {number} ({line!r}); "
                    "write one group per line, entries separated by commas, e.g.: PV, Photovoltaik"
                )
            groups.append(entries)
        return cls(groups, source)

    @classmethod
    def load(cls, path: Path | None = None) -> "Synonyms":
        """The list at path (the shipped one when None)."""
        path = Path(path) if path else SHIPPED
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SynonymsError(
                f"cannot read the synonyms file {path} ({error.__class__.__name__}); "
                "fix [archive] synonyms_file or leave it empty for the shipped list"
            ) from None
        return cls.parse(text, str(path))
