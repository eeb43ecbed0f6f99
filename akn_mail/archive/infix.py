"""Words found inside compounds, looked up in the index's own vocabulary at query time.

A search for ``Konzept`` must find ``Radverkehrskonzept``, one for ``Satzung`` the
``Baumschutzsatzungen``. The index used to store every ending of every long word (a
``tails`` field): four of five postings, which made indexing five times slower and the
index five times larger. Now ``Infix`` looks the query's key up in the vocabulary of the
index at query time, and matches the terms found like a prefix query, with a constant score:

- a stem of the ``body`` field that contains the key from its third letter on
  (``radverkehrskonzept``), or ends with the query word's stem (``starkreg``, the stem of
  Starkregen, ends with ``reg``, the stem of Regen);
- a word of the ``words`` field that contains the key from its third letter on. That field
  holds, folded but not stemmed, only the long words whose stem lost more than an
  inflectional ending: Snowball cuts ``ung`` off a long compound (``baumschutzsatz``) but
  not off ``satzung`` alone, so the stem cannot tell that Baumschutzsatzung ends in
  Satzung (``analysis.needs_word``).

Its documents are matched as one cached set with a constant score (``expansions``). The
vocabulary of each segment is read once and kept as one string (segments never change,
so a server keeps it across commits and reads only the new small segments); finding a key
in it is one C-level scan.
"""

from __future__ import annotations

from whoosh import query as wq

from whoosh.matching import NullMatcher

from akn_mail.archive.analysis import MIN_INFIX_START
from akn_mail.archive.expansions import ConstantMatcher, document_set
from akn_mail.archive.index import WORDS_FIELD
from akn_mail.archive.segments import SegmentCache

BODY_FIELD = "body"
# Segments whose vocabulary is kept (a server has at most a dozen; old ones fall out).
CACHED_SEGMENTS = 64

_vocabularies = SegmentCache(CACHED_SEGMENTS)


class Vocabulary:
    """The terms of one field of one segment, as one newline-separated string."""

    def __init__(self, terms: list[str]):
        self.text = "\n" + "\n".join(terms) + "\n"

    def containing(self, key: str, ending: str | None = None) -> set[str]:
        """Alphabetic terms with ``key`` at MIN_INFIX_START or later, or ending in ``ending`` there."""
        found: set[str] = set()
        text = self.text
        for needle, at_end in ((key, False), ((ending + "\n") if ending else "", True)):
            if not needle:
                continue
            position = text.find(needle)
            while position >= 0:
                start = text.rfind("\n", 0, position) + 1
                if position - start >= MIN_INFIX_START:
                    end = position + len(needle) - 1 if at_end else text.find("\n", position)
                    term = text[start:end]
                    if term.isalpha():
                        found.add(term)
                position = text.find(needle, position + 1)
        return found


def vocabulary(reader, fieldname: str) -> Vocabulary:
    """The vocabulary of a segment reader's field (cached per segment)."""
    field = reader.schema[fieldname]
    return _vocabularies.get(reader, fieldname, lambda: Vocabulary(
        [field.from_bytes(btext) for btext in reader.lexicon(fieldname)]))


class Infix(wq.MultiTerm):
    """The terms of the ``body`` and ``words`` fields that have the query word inside or at
    the end (see the module docstring); matched like a prefix, with a constant score."""

    constantscore = True

    def __init__(self, key: str, ending: str | None = None, boost: float = 1.0):
        self.fieldname = BODY_FIELD
        self.text = key
        self.ending = ending if ending and ending.isalpha() else None
        self.boost = boost
        self.constantscore = True

    def __eq__(self, other):
        return isinstance(other, Infix) and (self.text, self.ending, self.boost) == (other.text, other.ending, other.boost)

    def __hash__(self):
        return hash((self.text, self.ending, self.boost))

    def __repr__(self):
        return f"Infix({self.text!r}, ending={self.ending!r}, boost={self.boost})"

    def __str__(self):
        return f"*{self.text}*"

    def terms(self, ixreader) -> list[tuple[str, str]]:
        """(field, term) of every term found in the reader's segments."""
        found: set[tuple[str, str]] = set()
        schema = ixreader.schema
        for leaf, _ in ixreader.leaf_readers():
            found.update((BODY_FIELD, term) for term in vocabulary(leaf, BODY_FIELD).containing(self.text, self.ending))
            if WORDS_FIELD in schema:
                found.update((WORDS_FIELD, word) for word in vocabulary(leaf, WORDS_FIELD).containing(self.text))
        return sorted(found)

    def _btexts(self, ixreader):
        return [term.encode("utf-8") for field, term in self.terms(ixreader) if field == BODY_FIELD]

    def expanded_terms(self, ixreader, phrases=False):
        for field, term in self.terms(ixreader):
            yield field, term.encode("utf-8")

    def estimate_size(self, ixreader):
        return sum(ixreader.doc_frequency(field, term) for field, term in self.terms(ixreader))

    def estimate_min_size(self, ixreader):
        return min((ixreader.doc_frequency(field, term) for field, term in self.terms(ixreader)), default=0)

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        ids = document_set(reader, "infix", f"{self.text}|{self.ending or ''}",
                           lambda: ((field, term.encode("utf-8")) for field, term in self.terms(reader)))
        return ConstantMatcher(ids, self.boost) if ids else NullMatcher()

    def matches_word(self, folded_word: str, word_stem: str) -> bool:
        """Whether a word of a text is one this query finds (for snippets, without the index)."""
        if folded_word.find(self.text, MIN_INFIX_START) >= 0 or word_stem.find(self.text, MIN_INFIX_START) >= 0:
            return True
        return bool(self.ending) and len(word_stem) - len(self.ending) >= MIN_INFIX_START and word_stem.endswith(self.ending)
