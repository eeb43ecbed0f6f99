"""German text analysis for the archive index: words, umlauts, stems and compound parts.

Every word is lower-cased and stemmed with the Snowball German stemmer of PyStemmer
(Snowball 3: it treats ``ae``/``oe``/``ue`` as ``ä``/``ö``/``ü`` and removes the umlaut
marks after stemming, so ``Waerme``, ``Wärme`` and ``wärme`` are one term and
``Stadtbäume`` meets ``Stadtbaum``). ``fold`` applies the same spelling rules without
stemming, for prefix queries (``Wärmepl*``).

Compounds: German glues words together (``Wärmeplanungsgesetz``). A search for a word must
also find compounds that contain it. Two mechanisms, measured in ``bench/compounds.py``:
the searcher expands a query word to the indexed terms that start with it (the modifier
of a compound comes first: ``Starkregen`` -> ``Starkregengefahrenkarte``), and to the
folded words that contain it further in (``Förderprogramm`` in ``Bundesförderprogramm``,
``Konzept`` in ``Radverkehrskonzept``; ``infix``), looked up in the ``words`` field's
vocabulary at query time. The lookup key is the stem, or for short stems the folded word
(``expansion_key``).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import Stemmer
from whoosh.analysis import Filter, RegexTokenizer, Token

# Words: letters and digits; a hyphen or dot inside a word ("Rhein-Kreis", "klima.nrw",
# "5.1.1") joins parts. Such a word is also indexed whole, folded but not stemmed
# (``is_whole``), so that a query for it finds it and not a prefix of unrelated words.
WORD = re.compile(r"\w+(?:[-.]\w+)*", re.UNICODE)
PART = re.compile(r"\w+", re.UNICODE)


def is_whole(token: str) -> bool:
    """A word with inner punctuation, indexed and looked up as it stands."""
    return "-" in token or "." in token

# Function words that carry no meaning for a search (they are left out of the index).
STOP_WORDS = frozenset(
    """aber als am an auch auf aus bei bin bis bzw da damit dann das dass dem den der des die dies diese
    dieser dieses doch dort du durch ein eine einem einen einer eines er es etc für hat hatte ich ihr im in
    ist ja je kann man mit nach nicht noch nur ob oder sich sie sind so um und uns vom von vor war
    was wie wir wird wurde wurden zu zum zur über""".split()
)

# A query word is expanded to compounds by its key: its stem when that has at least
# KEY_FROM_STEM letters, else its folded spelling (a short stem like "reg" for Regen would
# also hit Regierung; "regen" does not). Keys shorter than MIN_KEY are not expanded
# ("rat" would hit Beratung).
MIN_KEY = 4
KEY_FROM_STEM = 5
# A key is looked for inside a word (``infix``) from this position on (0 is a prefix), in
# the ``words`` field only in words of MIN_INFIX_WORD letters or more.
MIN_INFIX_START = 2
MIN_INFIX_WORD = 8
MIN_ENDING = 3
LONG_WORD = re.compile(r"(?<!\w)[^\W\d_]{%d,}(?!\w)" % MIN_INFIX_WORD, re.UNICODE)
# What Snowball German removes from a word as inflection (its steps 1 and 2, one after the
# other); a stem that lost more (ung, heit, lich, ...) does not show what the word ended
# with (``needs_word``).
INFLECTIONS = frozenset(second + first for first in ("", "em", "ern", "er", "e", "en", "es", "s")
                        for second in ("", "en", "er", "est", "st"))
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    # PyStemmer objects are not safe to share between threads.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("german")
    return stemmer


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The index term of one word: lower case, NFC, Snowball German stem without umlauts."""
    word = unicodedata.normalize("NFC", word).lower().replace("ß", "ss")
    return _stemmer().stemWord(word)


_TRANSLITERATION = (
    (re.compile(r"ae"), "a"),
    (re.compile(r"oe"), "o"),
    (re.compile(r"(?<!q)ue"), "u"),
)
_UMLAUTS = str.maketrans({"ä": "a", "ö": "o", "ü": "u"})


def fold(text: str) -> str:
    """Lower case with the stemmer's spelling rules but no stemming (for prefixes)."""
    return _fold_word(text) if len(text) <= MAX_CACHED_WORD else _fold(text)


# Words up to this length are folded through a cache (a whole text is not kept).
MAX_CACHED_WORD = 64


@lru_cache(maxsize=200_000)
def _fold_word(text: str) -> str:
    return _fold(text)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower().replace("ß", "ss")
    for pattern, replacement in _TRANSLITERATION:
        text = pattern.sub(replacement, text)
    return text.translate(_UMLAUTS)


def ending_of(stem_text: str) -> str | None:
    """The stem a compound ends with when it ends with the query word (``reg`` of Regen ends
    ``starkreg``, the stem of Starkregen), for stems of MIN_ENDING letters or more."""
    return stem_text if len(stem_text) >= MIN_ENDING and stem_text.isalpha() else None


def expansion_key(stem_text: str, surface: str | None) -> str | None:
    """What a query word is looked up by inside compounds (see MIN_KEY), or None."""
    key = stem_text if len(stem_text) >= KEY_FROM_STEM or not surface else fold(surface)
    if len(key) < MIN_KEY or not key.isalpha():
        return None
    return key


class GermanTokenizer(RegexTokenizer):
    """Words; hyphenated words give their parts and the joined word at the same position."""

    def __init__(self):
        super().__init__(expression=WORD)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        if not tokenize:
            token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
            token.text = token.original = value
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        position = start_pos
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for match in WORD.finditer(value):
            whole = match.group(0)
            if removestops and whole.lower() in STOP_WORDS:
                # Dropped without taking a position, on both the document and the query
                # side, so "Protokoll der Sitzung" still matches as a phrase.
                continue
            if "-" not in whole and "." not in whole:
                # The common case, a plain word: one token (kept short, it runs for every word).
                token.text = whole
                token.boost = 1.0
                token.stopped = False
                if keeporiginal:
                    token.original = whole
                if positions:
                    token.pos = position
                if chars:
                    token.startchar, token.endchar = start_char + match.start(), start_char + match.end()
                position += 1
                yield token
                continue
            if mode == "query":
                # A query looks such a word up whole ("klima.nrw", "E-Mobilität"); the searcher
                # falls back to its parts in a lower tier.
                parts = [match]
            else:
                parts = list(PART.finditer(whole))
            pieces = [(p.group(0), match.start() + p.start() if p is not match else match.start()) for p in parts]
            if len(parts) > 1:
                # Indexed also whole ("rhein-kreis", "klima.nrw") and, for a hyphenated word,
                # joined ("Rheinkreis"), at the first part's position.
                pieces.append((whole, match.start()))
                if "-" in whole and "." not in whole:
                    pieces.append((whole.replace("-", ""), match.start()))
            for index, (text, offset) in enumerate(pieces):
                token.text = text
                token.boost = 1.0
                token.stopped = False
                if keeporiginal:
                    token.original = text
                if positions:
                    # The joined form of a hyphenated word shares the first part's position.
                    token.pos = position if index < len(parts) else position - len(parts)
                if chars:
                    token.startchar = start_char + offset
                    token.endchar = token.startchar + len(text) if index < len(parts) else start_char + match.end()
                if index < len(parts):
                    position += 1
                yield token


class GermanFilter(Filter):
    """Every word replaced by its stem; a word with inner punctuation only folded."""

    def __call__(self, tokens):
        for token in tokens:
            text = token.text
            token.text = fold(text) if "-" in text or "." in text else stem(text)
            yield token


class FoldFilter(Filter):
    """Every word folded (lower case, umlaut spellings), not stemmed."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = fold(token.text)
            yield token


class NameFoldFilter(Filter):
    """A member's name folded as the member-name matcher folds it (``text.fold``)."""

    def __call__(self, tokens):
        from akn_mail.text import fold as fold_name

        for token in tokens:
            # Then the index's umlaut folding too: host:Juchen is Jüchen, as it always was.
            token.text = fold(fold_name(token.text))
            if token.text:
                yield token


def host_analyzer():
    """The analyzer of the ``host`` field: the whole name as one folded term, so that
    ``host:Neuss`` is the member Neuss and not also "Rhein-Kreis Neuss"."""
    from whoosh.analysis import IDTokenizer

    return IDTokenizer() | NameFoldFilter()


def german_analyzer():
    """The analyzer of the archive's text fields (words in, stems out)."""
    return GermanTokenizer() | GermanFilter()


@lru_cache(maxsize=200_000)
def needs_word(folded: str) -> bool:
    """Whether the stem of a long word lost more than an inflectional ending, so that
    ``infix`` must find the word itself in the ``words`` field (``baumschutzsatzung``,
    whose stem ``baumschutzsatz`` no longer ends in ``satzung``)."""
    stemmed = stem(folded)
    return not folded.startswith(stemmed) or folded[len(stemmed):] not in INFLECTIONS


class NeedsWordFilter(Filter):
    """Only the words ``needs_word`` keeps."""

    def __call__(self, tokens):
        for token in tokens:
            if needs_word(token.text):
                yield token


def words_analyzer():
    """The analyzer of the ``words`` field: each word of MIN_INFIX_WORD letters or more (no
    digits; a hyphenated word's parts apart), folded, not stemmed, whose stem does not show
    its ending (``needs_word``; ``infix``)."""
    return RegexTokenizer(LONG_WORD) | FoldFilter() | NeedsWordFilter()


# --- kept so that an index built before ``infix`` can still be opened -------------------
# Whoosh stores the schema, analyzers included, in the index; such an index has a ``tails``
# field whose analyzer is this one. Nothing writes to or reads that field any more.

class TailFilter(Filter):
    """The endings of each long word (the former ``tails`` field)."""

    def __call__(self, tokens):
        for token in tokens:
            word = token.text
            if len(word) >= 8 and word.isalpha():
                for start in range(2, len(word) - MIN_KEY + 1):
                    token.text = word[start:]
                    yield token


def tails_analyzer():
    """The analyzer of the former ``tails`` field (see above)."""
    return GermanTokenizer() | FoldFilter() | TailFilter()
