"""A query word's expansions (compounds that start with it or contain it) as cached document sets.

``Wärme`` also finds Wärmeplanung, Wärmepumpe, Fernwärme and a hundred other compounds.
Whoosh matches such an expansion as a union of one posting list per term: at 100,000 posts
that is thousands of documents walked through a tree of a hundred matchers, in Python, for
every search. An expansion scores every document alike, so only the set of documents
matters (each scores the expansion's boost: ``tiers.PREFIX_WEIGHT``, ``INFIX_WEIGHT``,
less than the word itself): it is read once per segment (segments never change; a deletion makes it a new
set) and kept, and matched from a sorted array (``arrays`` takes the array as it is; for
Whoosh's own matchers its matcher tells its score, for their block-quality pruning).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from typing import Callable, Iterable

from whoosh import query as wq
from whoosh.matching import mcore

from akn_mail.archive.segments import SegmentCache

# The score of a document found through an expansion, times the query's boost.
EXPANSION_SCORE = 1.0
# Document sets kept (per segment and expansion); each is an array of document numbers.
CACHED_SETS = 2048

_sets = SegmentCache(CACHED_SETS)


class ConstantMatcher(mcore.Matcher):
    """Documents from a sorted list, each with the same score."""

    def __init__(self, ids: list[int], score: float = EXPANSION_SCORE, position: int = 0):
        self._ids = ids
        self._score = score
        self._i = position

    def __repr__(self):
        return f"<ConstantMatcher {len(self._ids)} docs>"

    def is_active(self):
        return self._i < len(self._ids)

    def reset(self):
        self._i = 0

    def id(self):
        return self._ids[self._i]

    def next(self):
        self._i += 1
        return False

    def skip_to(self, id):
        if not self.is_active():
            raise mcore.ReadTooFar
        if id > self._ids[self._i]:
            self._i = bisect_left(self._ids, id, self._i)

    def all_ids(self):
        return iter(self._ids[self._i:])

    def copy(self):
        return ConstantMatcher(self._ids, self._score, self._i)

    def replace(self, minquality=0):
        if not self.is_active() or (minquality and self._score < minquality):
            return mcore.NullMatcher()
        return self

    def supports_block_quality(self):
        return True

    def max_quality(self):
        return self._score

    def block_quality(self):
        return self._score

    def skip_to_quality(self, minquality):
        if self._score <= minquality and self.is_active():
            self._i = len(self._ids)  # every block has the same quality: none can qualify
            return 1
        return 0

    def score(self):
        return self._score

    def weight(self):
        return self._score

    def supports(self, astype):
        return False

    def value(self):
        return ""


def document_set(reader, kind: str, key: str, terms: Callable[[], Iterable[tuple[str, bytes]]]) -> "array[int]":
    """The sorted numbers of the documents of one segment reader that contain any of
    ``terms()`` (field, term bytes), cached per segment, deletions and (kind, key)."""

    def read() -> "array[int]":
        found: set[int] = set()
        for fieldname, btext in terms():
            try:
                postings = reader.postings(fieldname, btext)
            except Exception:  # noqa: BLE001 - a term listed but gone (a damaged index says so elsewhere)
                continue
            found.update(postings.all_ids())
        return array("I", sorted(found))

    return _sets.get(reader, (kind, key), read)


class Prefix(wq.Prefix):
    """Whoosh's prefix query, matched from a cached document set (``ConstantMatcher``)."""

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        if self.text == "" or self.fieldname not in reader.schema:
            return super().matcher(searcher, context)
        field = self.fieldname
        ids = document_set(reader, "prefix:" + field, self.text,
                           lambda: ((field, btext) for btext in reader.expand_prefix(field, self.text)))
        return ConstantMatcher(ids, self.boost) if ids else mcore.NullMatcher()
