"""Splitting a German compound of a query into its parts, with the archive's own vocabulary.

``Schulhofbegrünung`` should also find "Begrünung der Schulhöfe", ``Bauamtsleitung`` also
"Leitung des Bauamts". Splitting only helps where the parts occur in the archive, so the
dictionary is the index itself: a part is a word when its stem is a term of the ``body``
field, and the document frequency of that term is the word's frequency. Among the splits
into known parts (with the linking letters s, es, n, en, e between them), the one with the
highest geometric mean of part frequencies wins (Koehn & Knight 2003, "Empirical methods for
compound splitting"). Candidates measured (README, "How well search finds what people
mean"): CharSplit (the ``compound-split`` package) is GPL-3 and a 19 MB wheel whose import
takes seconds; ``compound-word-splitter`` needs pyenchant and a hunspell dictionary under
GPL/LGPL terms; this costs no import, no memory beyond the index, and splits exactly into
words the archive can match.

Parts have at least ``MIN_PART`` letters (``Bau`` + ``Amt``); a three-letter part counts only
when it is a word of the archive on its own. ``ä``/``ö``/``ü`` are tried before a spelling
with ``ae``/``oe``/``ue`` is taken literally (``Abwaermenutzung``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Callable

from akn_mail.archive.analysis import stem

MIN_PART = 3
# Longer words are not split (a typo or a code, not a compound); nor are splits into more parts.
MAX_WORD = 40
MAX_PARTS = 4
LINKS = ("", "s", "es", "n", "en", "e")
_SPELLINGS = ((re.compile("ae"), "ä"), (re.compile("oe"), "ö"), (re.compile("(?<!q)ue"), "ü"))


def spellings(word: str) -> list[str]:
    """The word with ä/ö/ü for ae/oe/ue first, then as typed."""
    word = unicodedata.normalize("NFC", word).lower().replace("ß", "ss")
    umlauted = word
    for pattern, replacement in _SPELLINGS:
        umlauted = pattern.sub(replacement, umlauted)
    return [umlauted, word] if umlauted != word else [word]


class Splitter:
    """Splits words with a frequency function over stems (document frequency in the index)."""

    def __init__(self, frequency: Callable[[str], int]):
        self.frequency = frequency
        self._cache: dict[str, list[str]] = {}

    def _freq(self, piece: str) -> int:
        if len(piece) < MIN_PART or not piece.isalpha():
            return 0
        return self.frequency(stem(piece))

    def split(self, word: str) -> list[str]:
        """The parts of a compound (as written, lower case), or [] when it is not one."""
        known = self._cache.get(word)
        if known is None:
            known = self._cache[word] = self._split(word)
        return known

    def _split(self, word: str) -> list[str]:
        for spelling in spellings(word):
            if len(spelling) > MAX_WORD or not spelling.isalpha() or len(spelling) < 2 * MIN_PART:
                return []
            parts = self._best(spelling)
            if parts:
                return parts
        return []

    def _best(self, word: str) -> list[str]:
        """Best segmentation by geometric mean of part frequencies (at least two parts)."""
        n = len(word)
        # best[i]: (log-frequency sum, part count, parts) for word[i:], split into known parts.
        best: list[tuple[float, int, list[str]] | None] = [None] * (n + 1)
        best[n] = (0.0, 0, [])
        for start in range(n - MIN_PART, -1, -1):
            candidates = []
            for end in range(start + MIN_PART, n + 1):
                piece = word[start:end]
                tail = best[end]
                if tail is None:
                    continue
                frequency = self._freq(piece)
                if frequency and tail[1] < MAX_PARTS:
                    candidates.append((tail[0] + math.log(frequency), tail[1] + 1, [piece, *tail[2]]))
            # A linking element after a part (not after the last one).
            for end in range(start + MIN_PART, n):
                for link in LINKS[1:]:
                    after = end + len(link)
                    if after > n or word[end:after] != link or best[after] is None or best[after][1] == 0:
                        continue
                    frequency = self._freq(word[start:end])
                    tail = best[after]
                    if frequency and tail[1] < MAX_PARTS:
                        candidates.append((tail[0] + math.log(frequency), tail[1] + 1, [word[start:end], *tail[2]]))
            if start == 0:
                candidates = [c for c in candidates if c[1] >= 2]  # the whole word is not a split
            if candidates:
                best[start] = max(candidates, key=lambda c: (c[0] / c[1], -c[1]))
        result = best[0]
        if result is None or result[1] < 2:
            return []
        return result[2]
