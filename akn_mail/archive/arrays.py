"""Matching and ranking a query with arrays (numpy) instead of Whoosh's tree of matchers.

Whoosh scores every matching document in Python, one call per document and query node:
at 100,000 posts a word found in 4 % of them took 20-30 ms, and its block-max pruning
skips little where a word is spread evenly over the years. Here each segment's posting
blocks are read whole into arrays (the index files and format stay Whoosh's), BM25F is
computed for all of a word's documents at once with the parameters of Whoosh's own scorer
(idf, average length, B, K1), and AND, OR and NOT are operations on sorted document
numbers. The scores are the sums Whoosh's matchers add up, so rankings stay the same.

A phrase, and words near each other (the near tiers), are found among the documents that
have all their words, from the arrays; positions are read for those documents alone and
judged by Whoosh's own span algorithm. Query nodes this module does not read itself
(numeric ranges such as ``date:``, wildcards) are matched by Whoosh's matcher, only within
the documents the rest of the query allows, and their matches and scores read into arrays.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching import mcore, wrappers
from whoosh.query.spans import Span, SpanNear2
from whoosh.scoring import BM25FScorer, WeightScorer
from whoosh.util.numeric import byte_to_length

from akn_mail.archive.expansions import ConstantMatcher, Prefix
from akn_mail.archive.infix import Infix
from akn_mail.archive.index import load_numeric
from akn_mail.archive.segments import SegmentCache
from akn_mail.archive.tiers import Counted

IDS = np.int64
_EMPTY_IDS = np.empty(0, IDS)
_EMPTY_SCORES = np.empty(0, np.float64)
# Score of a document for a NOT clause inside AND (Whoosh's InverseMatcher weight).
NOT_SCORE = 1.0
_LENGTH_OF_BYTE = np.array([byte_to_length(value) for value in range(256)], dtype=np.float64)

_per_segment = SegmentCache(256)
MISSING_DATE = 2 ** 63  # and above: the date column's default, no date


def segment_dates(reader):
    """Every document's date (as stored, a number) of one segment, read once per segment."""
    return _per_segment.get(reader, "date", lambda: (
        load_numeric(reader.column_reader("date", translate=False), reader.doc_count_all())
        if reader.has_column("date") else []))


def date_or_zero(value) -> int:
    """A stored date as a number for ties, 0 (oldest) where there is none: Whoosh fills a
    missing one with the column's default, the largest number it can hold."""
    return value if value and value < MISSING_DATE else 0


@dataclass
class Matches:
    """The documents of one segment a query matched (sorted local numbers) and their scores."""

    ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def scaled(self, factor: float) -> "Matches":
        return self if factor == 1.0 else Matches(self.ids, self.scores * factor)


def _empty() -> Matches:
    return Matches(_EMPTY_IDS, _EMPTY_SCORES)


class Segment:
    """One segment of the index while a query is evaluated: its searcher and reader, and
    the global statistics' context of the top searcher."""

    def __init__(self, searcher, context, offset: int, read: dict | None = None):
        self.searcher = searcher
        # Postings already read in this search (its tiers ask for the same words again).
        self.read = {} if read is None else read
        self.reader = searcher.reader()
        self.context = context
        self.offset = offset
        self.doc_count = self.reader.doc_count_all()

    def term(self, fieldname: str, text) -> "tuple[Postings | None, np.ndarray, object]":
        """A word's postings and Whoosh's score of each, read once per search: (postings,
        scores, None); or (None, empty, None) for a word not in this segment; or
        (None, None, matcher) for postings this module cannot read (Whoosh's matcher)."""
        key = (self.offset, fieldname, text)
        found = self.read.get(key)
        if found is None or found[2] is not None:
            matcher = wq.Term(fieldname, text).matcher(self.searcher, self.context)
            if isinstance(matcher, mcore.NullMatcherClass) or not matcher.is_active():
                found = (None, _EMPTY_SCORES, None)
            else:
                leaf = _leaf(matcher)
                if leaf is None:
                    found = (None, None, matcher)
                else:
                    postings = Postings(leaf)
                    found = (postings, _scores(leaf, postings, self, fieldname), None)
            self.read[key] = found
        return found

    def lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length of a field, as BM25F reads it (1 when unknown)."""
        reader = self.reader

        def build():
            try:
                column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            except Exception:  # noqa: BLE001 - another codec: ask document by document
                return np.array([reader.doc_field_length(doc, fieldname, 1) for doc in range(self.doc_count)], np.float64)
            if column is None:  # no lengths kept for the field
                return np.ones(self.doc_count)
            if isinstance(column, array):
                values = np.frombuffer(column, dtype=np.uint8)
            else:  # a column Whoosh reads document by document
                values = np.array([column[doc] for doc in range(min(len(column), self.doc_count))], dtype=np.uint8)
            lengths = _LENGTH_OF_BYTE[values]
            lengths[values == 0] = 1.0
            if len(lengths) < self.doc_count:
                lengths = np.concatenate([lengths, np.ones(self.doc_count - len(lengths))])
            return lengths

        return _per_segment.get(reader, ("lengths", fieldname), build)

    def dates(self) -> np.ndarray:
        """Every document's date as stored (a number; 0 when missing), for ties."""
        def build():
            dates = np.array([date_or_zero(value) for value in segment_dates(self.reader)], dtype=np.int64)
            if len(dates) < self.doc_count:
                dates = np.concatenate([dates, np.zeros(self.doc_count - len(dates), np.int64)])
            return dates

        return _per_segment.get(self.reader, "dates", build)

    def deleted(self) -> np.ndarray:
        return _per_segment.get(self.reader, "deleted", lambda: np.array(sorted(self.reader.deleted_docs_set or ()), IDS))


# --- set operations ---------------------------------------------------------------------

def union(parts: list[Matches], doc_count: int) -> Matches:
    """Documents in any part; a document's scores added up (Whoosh's UnionMatcher)."""
    parts = [part for part in parts if len(part)]
    if not parts:
        return _empty()
    if len(parts) == 1:
        return parts[0]
    ids = np.concatenate([part.ids for part in parts])
    scores = np.concatenate([part.scores for part in parts])
    if len(ids) * 8 < doc_count:
        unique, inverse = np.unique(ids, return_inverse=True)
        return Matches(unique, np.bincount(inverse, weights=scores, minlength=len(unique)))
    present = np.bincount(ids, minlength=doc_count)
    totals = np.bincount(ids, weights=scores, minlength=doc_count)
    found = np.flatnonzero(present)
    return Matches(found.astype(IDS, copy=False), totals[found])


def intersect(left: Matches, right: Matches) -> Matches:
    """Documents in both; their scores added (Whoosh's IntersectionMatcher)."""
    if not len(left) or not len(right):
        return _empty()
    common, in_left, in_right = np.intersect1d(left.ids, right.ids, assume_unique=True, return_indices=True)
    return Matches(common, left.scores[in_left] + right.scores[in_right])


def without(matches: Matches, excluded: np.ndarray) -> Matches:
    if not len(matches) or not len(excluded):
        return matches
    keep = ~np.isin(matches.ids, excluded, assume_unique=True)
    return Matches(matches.ids[keep], matches.scores[keep])


def plus_where(matches: Matches, optional: Matches) -> Matches:
    """Each document's score plus its score in ``optional`` where it has one (AndMaybe)."""
    if not len(matches) or not len(optional):
        return matches
    _, in_matches, in_optional = np.intersect1d(matches.ids, optional.ids, assume_unique=True, return_indices=True)
    scores = matches.scores.copy()
    scores[in_matches] += optional.scores[in_optional]
    return Matches(matches.ids, scores)


# --- evaluating a query -----------------------------------------------------------------

def _read_directly(node: wq.Query) -> bool:
    """Whether the node and all below it are read here (not by a Whoosh matcher)."""
    if isinstance(node, (wq.Term, Prefix, Infix, wq.Phrase, SpanNear2)) or node is wq.NullQuery:
        return True
    if type(node) in (wq.And, wq.Or) and not getattr(node, "scale", None) and not getattr(node, "minmatch", 0):
        return all(_read_directly(sub) for sub in node.subqueries)
    if type(node) in (wq.AndNot, wq.AndMaybe):
        return _read_directly(node.a) and _read_directly(node.b)
    if isinstance(node, (wq.Not, Counted)):
        return _read_directly(node.query if isinstance(node, wq.Not) else node.child)
    return False


def evaluate(node: wq.Query, segment: Segment, within: np.ndarray | None = None) -> Matches:
    """The matches of ``node`` in one segment (deleted documents may still be among them).

    ``within``: the documents the caller will keep at most; a node matched by Whoosh's
    matcher is only asked about those."""
    kind = type(node)
    if node is wq.NullQuery:
        return _empty()
    if kind is wq.And and len(node.subqueries) > 0:
        result = _all_of(node.subqueries, segment, within)
    elif kind is wq.Or and not node.scale and not node.minmatch and node.subqueries:
        result = union([evaluate(sub, segment, within) for sub in node.subqueries], segment.doc_count)
    elif kind is wq.AndNot:
        positive = evaluate(node.a, segment, within)
        negative = evaluate(node.b, segment, positive.ids)
        result = without(positive, negative.ids)
    elif kind is wq.AndMaybe:
        required = evaluate(node.a, segment, within)
        result = plus_where(required, evaluate(node.b, segment, required.ids))
    elif kind is wq.Not:
        everything = np.arange(segment.doc_count, dtype=IDS)
        excluded = evaluate(node.query, segment, within).ids
        ids = np.setdiff1d(everything, excluded, assume_unique=True)
        result = Matches(ids, np.full(len(ids), NOT_SCORE))
    elif isinstance(node, Counted):
        child = evaluate(node.child, segment, within)
        return Matches(child.ids, child.scores + node.plus)
    elif kind is wq.Term:
        postings, scores, matcher = segment.term(node.fieldname, node.text)
        if matcher is not None:
            return _drain(matcher, within).scaled(node.boost)
        if postings is None:
            return _empty()
        return Matches(postings.ids, scores).scaled(node.boost)
    else:
        found = near(node, segment, within)
        if found is not None:
            return found
        return read_matcher(node.matcher(segment.searcher, segment.context), within)
    if kind in (wq.And, wq.Or) and len(node.subqueries) > 1:
        return result.scaled(node.boost)  # Whoosh boosts a compound of one as that one
    return result


def _all_of(subqueries: list[wq.Query], segment: Segment, within: np.ndarray | None) -> Matches:
    """AND: the subqueries read here first, then the others asked only about what is left;
    NOT clauses remove their documents (and add Whoosh's constant for them)."""
    positives = [sub for sub in subqueries if type(sub) is not wq.Not]
    negatives = [sub for sub in subqueries if type(sub) is wq.Not]
    ordered = sorted(positives, key=lambda sub: not _read_directly(sub))
    result: Matches | None = None
    for sub in ordered:
        scope = within if result is None else result.ids
        matches = evaluate(sub, segment, scope)
        result = matches if result is None else intersect(result, matches)
        if not len(result):
            return _empty()
    if result is None:  # only NOT clauses: everything but them
        ids = np.arange(segment.doc_count, dtype=IDS) if within is None else within
        result = Matches(ids, np.zeros(len(ids)))
    for sub in negatives:
        excluded = evaluate(sub.query, segment, result.ids).ids
        kept = without(result, excluded)
        result = Matches(kept.ids, kept.scores + NOT_SCORE)
    return result


# --- reading one matcher ----------------------------------------------------------------

class Postings:
    """One term's postings in a segment, read block by block: document numbers and
    weights as arrays, each posting's value (its positions) on demand."""

    def __init__(self, matcher: W3LeafMatcher):
        id_blocks, weight_blocks, self._values, starts = [], [], [], []
        count_so_far = 0
        while True:
            if matcher._data is None:
                matcher._read_data()
            data, count = matcher._data, matcher._blocklength
            # Ids are stored as differences within each block (Whoosh's delta_encode).
            id_blocks.append(np.cumsum(np.asarray(data[0], dtype=IDS)))
            weights = data[1]
            if weights is None:
                weight_blocks.append(np.ones(count))
            elif isinstance(weights, float):
                weight_blocks.append(np.full(count, weights))
            else:
                weight_blocks.append(np.asarray(weights, dtype=np.float64))
            self._values.append(data[2] if len(data) > 2 else None)
            starts.append(count_so_far)
            count_so_far += count
            if matcher._lastblock:
                break
            matcher._goto(matcher._nextoffset)
        self.ids = np.concatenate(id_blocks)
        self.weights = np.concatenate(weight_blocks)
        self._starts = np.array(starts, IDS)

    def value(self, index: int):
        block = int(np.searchsorted(self._starts, index, side="right")) - 1
        return self._values[block][index - int(self._starts[block])]


def _leaf(matcher):
    """The on-disk leaf matcher under Whoosh's deletion filter, when this module can read
    it (a later Whoosh with another codec falls back to its matchers)."""
    if type(matcher) is wrappers.FilterMatcher and matcher._exclude:
        matcher = matcher.child  # deleted documents are removed from the final matches
    if type(matcher) is W3LeafMatcher and not matcher._byteids and hasattr(matcher, "_data"):
        if matcher.scorer is None or isinstance(matcher.scorer, (BM25FScorer, WeightScorer)):
            return matcher
    return None


def _scores(matcher: W3LeafMatcher, postings: Postings, segment: Segment, fieldname: str) -> np.ndarray:
    """Whoosh's scorer's score of every posting at once (BM25F, else the weight: ``_leaf``)."""
    scorer = matcher.scorer
    if isinstance(scorer, BM25FScorer):
        lengths = segment.lengths(fieldname)[postings.ids]
        K1, B = scorer.K1, scorer.B
        weights = postings.weights
        return scorer.idf * ((weights * (K1 + 1)) / (weights + K1 * ((1 - B) + B * lengths / scorer.avgfl)))
    return postings.weights


def read_matcher(matcher, within: np.ndarray | None) -> Matches:
    """The matches of a matcher Whoosh built for a node not read here: a cached document
    set (``expansions``) as it is, anything else one document at a time."""
    if isinstance(matcher, mcore.NullMatcherClass) or not matcher.is_active():
        return _empty()
    if isinstance(matcher, ConstantMatcher):
        ids = np.frombuffer(matcher._ids, dtype=np.uint32).astype(IDS) if len(matcher._ids) else _EMPTY_IDS
        return Matches(ids, np.full(len(ids), float(matcher._score)))
    if type(matcher) is wrappers.WrappingMatcher and matcher.boost != 1.0:
        return read_matcher(matcher.child, within).scaled(matcher.boost)
    return _drain(matcher, within)


# --- phrases and words near each other ----------------------------------------------------

class _TermSpans:
    """Stands in for a term's matcher in Whoosh's span algorithm: its spans in one document."""

    def __init__(self, spans: list):
        self._spans = spans

    def spans(self):
        return self._spans


def near(node: wq.Query, segment: Segment, within: np.ndarray | None) -> Matches | None:
    """A phrase, or words within a distance (``SpanNear2``), of plain words: the documents
    with all words from their posting arrays, then positions read for those alone, and
    judged by Whoosh's own span algorithm. Whoosh walked both words' postings in Python
    for a phrase of two common words with a handful of documents in common.
    None: not a node of that kind (Whoosh matches it)."""
    if isinstance(node, wq.Phrase) and type(node) is wq.Phrase:
        fieldname, words = node.fieldname, list(node.words)
        slop, ordered, mindist, boost = node.slop, True, 1, node.boost
    elif type(node) is SpanNear2 and all(type(q) is wq.Term and q.boost == 1.0 for q in node.qs) \
            and len({q.fieldname for q in node.qs}) == 1 and node.qs:
        fieldname, words = node.qs[0].fieldname, [q.text for q in node.qs]
        slop, ordered, mindist, boost = node.slop, node.ordered, node.mindist, 1.0
    else:
        return None
    schema = segment.searcher.schema
    if fieldname not in schema or not words or not all(isinstance(word, str) for word in words):
        return None
    form = schema[fieldname].format
    if not form or not form.supports("positions") or form.supports("characters"):
        return None
    terms = []
    for word in words:
        postings, scores, other = segment.term(fieldname, word)
        if other is not None:
            return None
        if postings is None:
            return _empty()
        terms.append((postings, scores))
    candidates = terms[0][0].ids
    for postings, _ in terms[1:]:
        candidates = np.intersect1d(candidates, postings.ids, assume_unique=True)
    if within is not None:
        candidates = np.intersect1d(candidates, within, assume_unique=True)
    places = [np.searchsorted(postings.ids, candidates) for postings, _ in terms]
    judge = SpanNear2.SpanNear2Matcher._get_spans
    kept = []
    for row in range(len(candidates)):
        spans = [_TermSpans([Span(position) for position in form.decode_positions(postings.value(int(place[row])))])
                 for (postings, _), place in zip(terms, places)]
        if judge(SimpleNamespace(slop=slop, mindist=mindist, ordered=ordered, ms=spans)):
            kept.append(row)
    rows = np.array(kept, IDS)
    total = terms[0][1][places[0][rows]]
    for (_, scores), place in zip(terms[1:], places[1:]):
        total = total + scores[place[rows]]
    return Matches(candidates[rows], total).scaled(boost)


def _drain(matcher, within: np.ndarray | None) -> Matches:
    """Whoosh's matcher walked in Python: every match, or only those among ``within``."""
    ids: list[int] = []
    scores: list[float] = []
    if within is None:
        while matcher.is_active():
            ids.append(matcher.id())
            scores.append(matcher.score())
            matcher.next()
    else:
        for doc in within.tolist():
            if not matcher.is_active():
                break
            if matcher.id() < doc:
                matcher.skip_to(doc)
                if not matcher.is_active():
                    break
            if matcher.id() == doc:
                ids.append(doc)
                scores.append(matcher.score())
    return Matches(np.array(ids, IDS), np.array(scores, np.float64))


# --- the best hits ----------------------------------------------------------------------

def top(searcher, query: wq.Query, limit: int, read: dict | None = None,
        excluded: "set[int] | frozenset[int]" = frozenset()) -> list[tuple[float, int]]:
    """The ``limit`` best (score, global document number) of ``query``: by score, equal
    scores newest first, then by document number (``search._NewestFirstOnTies``).
    ``read``: a dict kept for one search, whose tiers then read each word once;
    ``excluded``: global document numbers left out (the hits a higher tier showed)."""
    context = searcher.context()
    read = {} if read is None else read
    candidates: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for subsearcher, offset in searcher.leaf_searchers():
        segment = Segment(subsearcher, context, offset, read)
        if not segment.doc_count:
            continue
        matches = without(evaluate(query, segment), segment.deleted())
        if excluded:
            end = offset + segment.doc_count
            matches = without(matches, np.array(sorted(doc - offset for doc in excluded if offset <= doc < end), IDS))
        if not len(matches):
            continue
        scores, ids = matches.scores, matches.ids
        if len(ids) > limit:
            # Everything scoring at least the limit-th best score (ties kept for the dates).
            threshold = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            keep = scores >= threshold
            scores, ids = scores[keep], ids[keep]
        candidates.append((scores, segment.dates()[ids], ids + offset))
    if not candidates:
        return []
    scores = np.concatenate([c[0] for c in candidates])
    dates = np.concatenate([c[1] for c in candidates])
    docnums = np.concatenate([c[2] for c in candidates])
    order = np.lexsort((docnums, -dates, -scores))[:limit]
    return [(float(scores[i]), int(docnums[i])) for i in order]
