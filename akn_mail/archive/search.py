"""Searching the archive: the query language, filters, ranking and snippets.

Query language (README, "Query language"): words (all must match, in any of subject,
headings, text, host and sender), "phrases", AND/OR/NOT and parentheses, prefix ``*``,
fields ``host:``, ``from:``, ``subject:``, ``meeting:`` and ``date:`` (``date:2025``,
``date:[2025-01-01 to 2025-06-30]``, ``date:>2025-03``). Each word is stemmed and folded as
in the index (``analysis``), and a word of four letters or more also finds the compounds
that contain it (``analysis.expansion_key``). A query of words and phrases is run in tiers,
from literal to loose (``tiers``), each ranked below the one before; within a tier by BM25F
(field weights of subject and headings in the text field, see ``filing.Archive.document``),
computed for all matching documents at once (``arrays``).
Superseded versions of minutes are left out (``archive show`` still has them).
"""

from __future__ import annotations

import datetime
import heapq
import math
import os
import re
import sqlite3
from dataclasses import dataclass

from whoosh import collectors
from whoosh import query as wq
from whoosh.qparser import QueryParser

from akn_mail.archive import arrays, tiers
from akn_mail.archive.expansions import Prefix
from akn_mail.archive.infix import Infix
from akn_mail.archive.tiers import INFIX_WEIGHT, PREFIX_WEIGHT
from akn_mail.archive.analysis import PART, WORD, ending_of, expansion_key, fold, is_whole, stem
from akn_mail.archive.compounds import Splitter
from akn_mail.archive.index import ArchiveIndex, IndexDamaged, naive_utc
from akn_mail.archive.store import ArchiveError
from akn_mail.archive.synonyms import Synonyms
from akn_mail.text import fold as fold_name

# Plain words are looked up in "body", which holds all text (see index.make_schema).
DEFAULT_FIELD = "body"
QUERY_FIELDS = ("host", "from", "subject", "date", "meeting", "headings", "body")
OPERATORS = ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE")
MARK_START, MARK_END = "\x02", "\x03"
# A lower tier's best score is at most this share of the score above it.
TIER_GAP = 0.9
INFIX = True  # look words up inside compounds too (bench/compounds.py measures without)
ARRAYS = True  # match with arrays (``arrays``); False: Whoosh's matchers (tests compare both)


class QuerySyntaxError(ArchiveError):
    """A query that cannot be read; the message says where."""


@dataclass
class Hit:
    """One search result (the --json object, see README "JSON output")."""

    id: int
    message_id: str
    date: str
    sender: str
    subject: str
    minutes: bool
    meeting: str | None
    host: str | None
    score: float
    snippet: str  # matches between MARK_START and MARK_END
    tier: str = "literal"  # which reading of the query found it (``tiers``)
    auth: str = "none"  # sender verdict when it was archived: pass, fail or none
    detail: str = ""       # what that reading added (parts, synonyms, ...), for --explain

    @property
    def found_by(self) -> str:
        return f"{self.tier} ({self.detail})" if self.detail else self.tier

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "message_id": self.message_id,
            "date": self.date,
            "from": self.sender,
            "subject": self.subject,
            "minutes": self.minutes,
            "meeting": self.meeting,
            "host": self.host,
            "auth": self.auth,
            "score": round(self.score, 4),
            "snippet": render_snippet(self.snippet, "**", "**"),
        }


def render_snippet(snippet: str, start: str, end: str) -> str:
    return snippet.replace(MARK_START, start).replace(MARK_END, end)


# --- checking the query -----------------------------------------------------------------

_TOKEN = re.compile(r'"|\(|\)|[^\s"()]+')


def check_syntax(text: str) -> None:
    """Raise QuerySyntaxError naming the column (1-based) of the first problem."""
    if not text.strip():
        raise QuerySyntaxError("the query is empty; give at least one word, e.g. akn-mail search Wärmeplanung")
    depth_stack: list[int] = []
    in_quote: int | None = None
    previous: str | None = None  # "operand", "binary", "not", "open"
    previous_pos = 0
    for match in _TOKEN.finditer(text):
        token, column = match.group(0), match.start() + 1
        if in_quote is not None:
            if token == '"':
                in_quote = None
                previous = "operand"
            continue
        if token == '"':
            in_quote = column
            continue
        if token == "(":
            depth_stack.append(column)
            previous = "open"
            continue
        if token == ")":
            if not depth_stack:
                raise QuerySyntaxError(f"query syntax error at column {column}: ')' without a matching '('.")
            if previous in ("binary", "not"):
                raise QuerySyntaxError(f"query syntax error at column {previous_pos}: nothing follows the operator before ')'.")
            if previous == "open":
                raise QuerySyntaxError(f"query syntax error at column {column}: empty parentheses.")
            depth_stack.pop()
            previous = "operand"
            continue
        if token in ("AND", "OR", "ANDNOT", "ANDMAYBE"):
            if previous in (None, "binary", "not", "open"):
                raise QuerySyntaxError(f"query syntax error at column {column}: {token} needs a word before it.")
            previous, previous_pos = "binary", column
            continue
        if token == "NOT":
            previous, previous_pos = "not", column
            continue
        field_match = re.match(r"^([A-Za-zÄÖÜäöüß_]+):(.*)$", token)
        if field_match:
            name, value = field_match.group(1), field_match.group(2)
            if name not in QUERY_FIELDS:
                raise QuerySyntaxError(
                    f"query syntax error at column {column}: unknown field '{name}:'; "
                    f"known fields are {', '.join(f + ':' for f in QUERY_FIELDS)}."
                )
            following = text[match.end():match.end() + 1]
            if not value and following not in ('"', "("):
                raise QuerySyntaxError(f"query syntax error at column {column}: '{name}:' needs a value right after the colon.")
        if token.startswith("*") or re.match(r"^\w+:\*", token):
            raise QuerySyntaxError(f"query syntax error at column {column}: a word cannot start with '*'; put * at the end, e.g. Wärme*.")
        previous = "operand"
    if in_quote is not None:
        raise QuerySyntaxError(f"query syntax error at column {in_quote}: the quote '\"' is never closed.")
    if depth_stack:
        raise QuerySyntaxError(f"query syntax error at column {depth_stack[-1]}: '(' is never closed.")
    if previous in ("binary", "not"):
        raise QuerySyntaxError(f"query syntax error at column {previous_pos}: nothing follows the operator.")


# --- building the query -----------------------------------------------------------------

class _Parser(QueryParser):
    """Whoosh's parser, remembering each word as typed (for the compound lookup key)."""

    def term_query(self, fieldname, text, termclass, boost=1.0, tokenize=True, removestops=True):
        result = super().term_query(fieldname, text, termclass, boost, tokenize, removestops)
        if isinstance(result, wq.Term):
            result.surface = text
        return result


def _parser(schema, fieldname: str = DEFAULT_FIELD) -> QueryParser:
    return _Parser(fieldname, schema)


def _expand(node: wq.Query) -> wq.Query:
    """Words also find compounds; prefixes are folded like the index terms."""
    if isinstance(node, wq.Term) and node.fieldname in ("subject", "headings", DEFAULT_FIELD) and isinstance(node.text, str):
        key = expansion_key(node.text, getattr(node, "surface", None))
        if key is None:
            return node
        boost = node.boost
        parts = [wq.Term(node.fieldname, node.text, boost=boost), Prefix(node.fieldname, key, boost=boost * PREFIX_WEIGHT)]
        if node.fieldname == DEFAULT_FIELD and INFIX:
            parts.append(Infix(key, ending_of(node.text), boost=boost * INFIX_WEIGHT))
        return wq.Or(parts)
    if type(node) is wq.Prefix and isinstance(node.text, str):
        return Prefix(node.fieldname, fold(node.text), boost=node.boost)
    if isinstance(node, (wq.Prefix, wq.Wildcard)) and isinstance(node.text, str):
        node.text = fold(node.text)
        return node
    if isinstance(node, wq.Phrase):
        return _phrase_parts(node)
    if isinstance(node, wq.compound.CompoundQuery):
        node.subqueries = [_expand(sub) for sub in node.subqueries]
        return node
    if isinstance(node, wq.Not):
        node.query = _expand(node.query)
        return node
    if hasattr(node, "child") and isinstance(node.child, wq.Query):
        node.child = _expand(node.child)
    return node


def _phrase_parts(node: wq.Phrase) -> wq.Phrase:
    """Inside a phrase a word with inner punctuation stands for its parts, as indexed one
    position each ("Rhein-Kreis Neuss" is rhein, kreis, neuss)."""
    if not any(isinstance(word, str) and is_whole(word) for word in node.words):
        return node
    words = []
    for word in node.words:
        if isinstance(word, str) and is_whole(word):
            words.extend(stem(part.group(0)) for part in PART.finditer(word))
        else:
            words.append(word)
    node.words = words
    node.char_ranges = None
    return node


_OPERATOR = re.compile(r"(?:^|[\s(])(?:AND|OR|NOT|ANDNOT|ANDMAYBE)(?=[\s(]|$)|[()*]")
_QUOTED = re.compile(r'"[^"]*"')
_DATE_CLAUSE = re.compile(r"date:(\[[^\]]*\]|[<>]=?[^\s()]*|[^\s()]*)")
_DATE_VALUE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_DATE_HELP = "write date:2025, date:2025-03, date:2025-03-11, date:[2025-01-01 to 2025-06-30] or date:>2025-03"


def _period(value: str, column: int) -> tuple[datetime.datetime, datetime.datetime]:
    """The first and last moment of a year, month or day written as 2025, 2025-03, 2025-03-11."""
    match = _DATE_VALUE.match(value.strip())
    try:
        if not match:
            raise ValueError
        year, month, day = int(match.group(1)), match.group(2), match.group(3)
        if day:
            first = datetime.datetime(year, int(month), int(day))
            following = first + datetime.timedelta(days=1)
        elif month:
            first = datetime.datetime(year, int(month), 1)
            following = datetime.datetime(year + (first.month == 12), first.month % 12 + 1, 1)
        else:
            first, following = datetime.datetime(year, 1, 1), datetime.datetime(year + 1, 1, 1)
    except (ValueError, OverflowError):
        raise QuerySyntaxError(f"query syntax error at column {column}: cannot read the date {value.strip()!r}; {_DATE_HELP}.") from None
    return first, following - datetime.timedelta(microseconds=1)


def _date_range(clause: str, column: int) -> wq.Query:
    """date:... as a DateRange on the stored (UTC) date."""
    if clause.startswith("["):
        parts = re.split(r"\s+(?:to|TO)(?:\s+|$)", clause[1:-1].strip(), maxsplit=1) if clause.endswith("]") else []
        if len(parts) != 2:
            raise QuerySyntaxError(f"query syntax error at column {column}: a date range looks like date:[2025-01-01 to 2025-06-30].")
        start = _period(parts[0], column)[0] if parts[0].strip() else None
        end = _period(parts[1], column)[1] if parts[1].strip() else None
        return wq.DateRange("date", start, end)
    for operator in (">=", "<=", ">", "<"):
        if clause.startswith(operator):
            first, last = _period(clause[len(operator):], column)
            tick = datetime.timedelta(microseconds=1)
            return {
                ">=": wq.DateRange("date", first, None),
                ">": wq.DateRange("date", last + tick, None),
                "<=": wq.DateRange("date", None, last),
                "<": wq.DateRange("date", None, first - tick),
            }[operator]
    first, last = _period(clause, column)
    return wq.DateRange("date", first, last)


def _replace_placeholders(node: wq.Query, ranges: dict) -> wq.Query:
    if isinstance(node, wq.Term) and node.text in ranges:
        return ranges[node.text]
    if isinstance(node, wq.compound.CompoundQuery):
        node.subqueries = [_replace_placeholders(sub, ranges) for sub in node.subqueries]
    elif isinstance(node, wq.Not):
        node.query = _replace_placeholders(node.query, ranges)
    elif hasattr(node, "child") and isinstance(node.child, wq.Query):
        node.child = _replace_placeholders(node.child, ranges)
    return node


def parse_query(text: str, schema, expand: bool = True) -> wq.Query:
    check_syntax(text)
    # date: clauses are read here (whoosh's date parser misreads open ranges) and put back
    # into the parsed tree where they stood, so "A OR date:2025" keeps its meaning.
    ranges: dict = {}

    def placeholder(match: re.Match) -> str:
        word = "akndateplaceholder" + "abcdefghijklmnopqrstuvwxyz"[len(ranges) % 26] * (1 + len(ranges) // 26)
        ranges[stem(word)] = _date_range(match.group(1), match.start() + 1)
        return word

    text = _DATE_CLAUSE.sub(placeholder, text)
    try:
        parsed = _parser(schema).parse(text)
        if ranges:
            parsed = _replace_placeholders(parsed, ranges)
        return _expand(parsed) if expand else parsed
    except QuerySyntaxError:
        raise
    except Exception as error:  # noqa: BLE001 - whoosh's parser fails in many ways ('NOT NOT x': IndexError)
        # check_syntax catches the common mistakes with a column; whatever else whoosh
        # cannot read is still the query's fault, so it is the same one-line error.
        raise QuerySyntaxError(
            f"query syntax error: cannot read the query ({type(error).__name__}); "
            "check the operators (AND, OR, NOT each between or before words), e.g. Radverkehr NOT Kaarst"
        ) from None


def _field_filter(schema, fieldname: str, value: str) -> wq.Query:
    value = value.replace('"', " ").strip()
    if fieldname == "host":
        terms = [token.text for token in schema["host"].analyzer(value)]
        return wq.Term("host", terms[0]) if len(terms) == 1 else wq.NullQuery
    parsed = QueryParser(fieldname, schema).parse(f'"{value}"')
    if isinstance(parsed, wq.Term) and is_whole(parsed.text):
        parsed = wq.Phrase(fieldname, [parsed.text])
    return _phrase_parts(parsed) if isinstance(parsed, wq.Phrase) else parsed


# --- searching --------------------------------------------------------------------------

class _NewestFirstOnTies(collectors.TopCollector):
    """The top hits by score; among equal scores the newer post first (with Whoosh's own
    matchers, ``ARRAYS = False``: the tests compare ``arrays.top`` with it).

    Whoosh's own collector prefers the lower document number, and document numbers depend
    on how the index was built (filed one by one, or rebuilt on several processes), so
    equal scores (a prefix query scores every hit alike) came out in a different order
    after ``archive reindex``."""

    def prepare(self, top_searcher, q, context):
        super().prepare(top_searcher, q, context)
        self._dates: list = []

    def set_subsearcher(self, subsearcher, offset):
        super().set_subsearcher(subsearcher, offset)
        self._dates = arrays.segment_dates(subsearcher.reader())

    def _collect(self, global_docnum, score):
        items = self.items
        self.total += 1
        local = global_docnum - self.offset
        date = arrays.date_or_zero(self._dates[local]) if local < len(self._dates) else 0
        item = (score, date, 0 - global_docnum)
        if len(items) < self.limit:
            heapq.heappush(items, item)
            return 0 - score
        if item > items[0]:
            heapq.heapreplace(items, item)
            self.minscore = self._below(items[0][0])
            return 0 - score
        return 0

    @staticmethod
    def _below(score: float) -> float:
        """What Whoosh may prune at: just under the weakest hit kept, so that blocks whose
        best score only equals it are still read (a newer post with that score wins)."""
        return math.nextafter(score, -math.inf) if score > 0 else 0

    def remove(self, global_docnum):
        self.items = [item for item in self.items if item[2] != 0 - global_docnum]
        heapq.heapify(self.items)
        self.minscore = self._below(self.items[0][0]) if self.items else 0

    def results(self):
        ranked = sorted(self.items, reverse=True)
        return self._results([(score, 0 - negated) for score, _, negated in ranked])


class _Found(dict):
    """A hit's stored fields, its score and document number."""

    def __init__(self, fields: dict, score: float, docnum: int):
        super().__init__(fields)
        self.score = score
        self.docnum = docnum


def _top(searcher, query: wq.Query, limit: int, read: dict | None = None, shown: set[int] = frozenset()):
    """The ``limit`` best hits of ``query`` (stored fields, ``score``, ``docnum``) but those
    numbered in ``shown``; ``read`` keeps the postings read for one search (``arrays.top``)."""
    if ARRAYS:
        found = arrays.top(searcher, query, limit, read, shown)
        return [_Found(searcher.stored_fields(docnum), score, docnum) for score, docnum in found]
    collector = _NewestFirstOnTies(limit=limit)
    searcher.search_with_collector(query, collector)
    return collector.results()


def _is_word_character(character: str) -> bool:
    return character.isalnum() or character == "_"  # what \w matches in a pattern


def _continues(text: str, next_to: int, beyond: int) -> bool:
    """Whether a word would go on over ``next_to`` (a word character there, or ``-``/``.``
    followed by one at ``beyond``): then the place found is inside a longer word."""
    if not 0 <= next_to < len(text):
        return False
    character = text[next_to]
    if _is_word_character(character):
        return True
    return character in "-." and 0 <= beyond < len(text) and _is_word_character(text[beyond])


class _WordMatcher:
    """Tells which words of a text the query matched (for ranking and snippets).

    Works on the query tree, not on the index, so it costs no index lookups: exact stems,
    phrase words, prefixes of stems, and words found inside compounds (``infix``).
    """

    def __init__(self, query: wq.Query):
        self.stems: set[str] = set()
        self.prefixes: set[str] = set()
        self.infixes: list[Infix] = []
        self._seen: dict[str, bool] = {}
        self._collect(query)

    def _collect(self, node: wq.Query) -> None:
        if isinstance(node, wq.Not):
            return
        if isinstance(node, Infix):
            self.infixes.append(node)
        elif isinstance(node, wq.Term) and isinstance(node.text, str):
            if node.fieldname in (DEFAULT_FIELD, "subject", "headings"):
                self.stems.add(node.text)
        elif isinstance(node, wq.Phrase):
            if node.fieldname in (DEFAULT_FIELD, "subject", "headings"):
                self.stems.update(word for word in node.words if isinstance(word, str))
        elif isinstance(node, (wq.Prefix, wq.Wildcard)) and isinstance(node.text, str):
            if node.fieldname in (DEFAULT_FIELD, "subject", "headings"):
                self.prefixes.add(node.text.rstrip("*?"))
        for child in node.children():
            self._collect(child)

    def __bool__(self) -> bool:
        return bool(self.stems or self.prefixes or self.infixes)

    def matches(self, word: str) -> bool:
        known = self._seen.get(word)
        if known is None:
            known = self._seen[word] = self._matches(word)
        return known

    def _matches(self, word: str) -> bool:
        term = stem(word)
        if term in self.stems or any(term.startswith(prefix) for prefix in self.prefixes):
            return True
        if self.infixes:
            folded = fold(word)
            return any(infix.matches_word(folded, term) for infix in self.infixes)
        return False

    def any_in(self, text: str) -> bool:
        return any(self.matches(match.group(0)) for match in WORD.finditer(text))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the words of ``text`` (as ``WORD`` cuts them) that the query matched are.

        Each distinct word is judged once; then only the matched ones are looked for, each
        place kept where it is a whole word (neither a letter nor ``-x``/``.x`` goes on on
        either side). The same places as judging every word from ``WORD.finditer``, in a
        third of the time (a page's snippets were a fifth of a search)."""
        matched = [word for word in set(WORD.findall(text)) if self.matches(word)]
        spans = []
        for word in matched:
            start = text.find(word)
            while start >= 0:
                end = start + len(word)
                if not (_continues(text, start - 1, start - 2) or _continues(text, end, end + 1)):
                    spans.append((start, end))
                start = text.find(word, start + 1)
        spans.sort()
        return spans

    def snippet(self, text: str, width: int = 220) -> str:
        """The stretch of text with the most matched words, matches marked."""
        spans = self.spans(text)
        if not spans:
            return " ".join(text[:width].split())
        best, best_count = spans[0][0], 0
        for index, (start, _) in enumerate(spans):
            count = sum(1 for other, _ in spans[index:] if other < start + width - 40)
            if count > best_count:
                best, best_count = start, count
        begin = 0 if best < width - 100 or len(text) <= width else best - 40
        if begin:
            space = text.rfind(" ", 0, begin)
            begin = space + 1 if space >= 0 and begin - space < 30 else begin
        end = min(len(text), begin + width)
        if end < len(text):
            space = text.find(" ", end)
            end = space if 0 <= space - end < 30 else end
        pieces, cursor = [], begin
        for start, stop in spans:
            if start < begin or stop > end:
                continue
            pieces.append(text[cursor:start])
            pieces.append(MARK_START + text[start:stop] + MARK_END)
            cursor = stop
        pieces.append(text[cursor:end])
        snippet = " ".join("".join(pieces).split())
        return ("… " if begin > 0 else "") + snippet + (" …" if end < len(text) else "")


class ArchiveSearch:
    """Runs queries against the index; the database tells which minutes are superseded."""

    def __init__(self, index: ArchiveIndex, db: sqlite3.Connection | None = None, synonyms: Synonyms | None = None):
        self.index = index
        self.db = db
        self.synonyms = synonyms
        self._searcher = None
        self._inode = None
        self._split_for = None
        self._split: Splitter | None = None

    def _current_searcher(self):
        """One searcher kept open across queries, renewed when a writer committed since
        (or a reindex swapped in a new directory)."""
        inode = os.stat(self.index.path).st_ino if self.index.path.exists() else None
        if self._searcher is not None and inode != self._inode:
            self.close()
        if self._searcher is None:
            self._searcher = self.index.open(create=False).searcher()
            self._inode = inode
            # Open the files whoosh would open lazily, while a writer's merge cannot have
            # removed them yet (open files stay readable after removal).
            for segment_reader, _ in self._searcher.reader().leaf_readers():
                if segment_reader.doc_count_all():
                    segment_reader.stored_fields(0)
                    segment_reader.doc_field_length(0, DEFAULT_FIELD)
        elif not self._searcher.up_to_date():
            self._searcher = self._searcher.refresh()
        return self._searcher

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def _superseded(self) -> list[str]:
        if self.db is None:
            return []
        try:
            # Only meetings with more than one version have superseded minutes; starting
            # from those keeps this a few index lookups however large the archive is.
            rows = self.db.execute(
                """SELECT am.id FROM meeting_minutes mm CROSS JOIN archived_messages am
                   ON am.meeting_id = mm.meeting_id
                   WHERE mm.versions > 1 AND am.is_minutes = 1 AND am.id != mm.archived_id"""
            ).fetchall()
        except sqlite3.Error:
            return []
        return [str(row[0]) for row in rows]

    def search(
        self,
        text: str,
        *,
        minutes: bool = False,
        host: str | None = None,
        sender: str | None = None,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
        limit: int = 10,
    ) -> list[Hit]:
        """Hits in rank order (see the module docstring)."""
        options = dict(minutes=minutes, host=host, sender=sender, since=since, until=until, limit=limit)
        try:
            return self._search(self._current_searcher(), text, **options)
        except QuerySyntaxError:
            raise
        except Exception:
            # A writer's merge can remove segment files our searcher had not opened yet.
            # If the index changed since we opened it, start afresh once; else it is a bug.
            if self._searcher is not None and self._searcher.up_to_date():
                raise
            self.close()
            try:
                return self._search(self._current_searcher(), text, **options)
            except ArchiveError:
                raise
            except Exception as error:  # noqa: BLE001 - whoosh raises many kinds on a damaged index
                # Files missing or cut short (a full disk, a crash while copying a backup):
                # the Maildir still has every message, so the fix is always a rebuild.
                raise IndexDamaged.of(self.index.path, error) from error

    def _search(self, searcher, text: str, *, minutes: bool, host: str | None, sender: str | None,
                since: datetime.date | None, until: datetime.date | None, limit: int) -> list[Hit]:
        schema = searcher.schema
        parsed = parse_query(text, schema, expand=False)
        filters: list[wq.Query] = []
        if minutes:
            filters.append(wq.Term("minutes", True))
        if host:
            # One folded term per post (the effective host): "Neuss" is not "Rhein-Kreis Neuss".
            filters.append(_field_filter(schema, "host", host))
        if sender:
            filters.append(_field_filter(schema, "from", sender))
        if since or until:
            start = naive_utc(datetime.datetime.combine(since, datetime.time.min)) if since else None
            end = naive_utc(datetime.datetime.combine(until, datetime.time.max)) if until else None
            filters.append(wq.DateRange("date", start, end))
        superseded = [wq.Term("id", value) for value in self._superseded()]
        reading = tiers.plan(parsed, self._splitter(searcher).split, _expand, self._members(schema), self.synonyms)
        # AND, OR, NOT, parentheses or a prefix*: the user said exactly what to match.
        reading.strict = bool(_OPERATOR.search(_QUOTED.sub(" ", text)))
        typed = {tuple(token.text for token in schema[DEFAULT_FIELD].analyzer(quoted, mode="query")): quoted
                 for quoted in re.findall(r'"([^"]*)"', text)}
        for concept in reading.concepts:
            if concept.is_phrase:
                concept.label = typed.get(tuple(concept.node.words), "")
        hits: list[Hit] = []
        seen: set[str] = set()
        floor: float | None = None
        read: dict = {}
        shown: set[int] = set()
        for name, tier_query, detail in reading.tiers(_expand):
            if len(hits) >= limit:
                break
            if tier_query is None:
                tier_query = self._thread_query([hit.id for hit in hits], reading.hosts)
                if tier_query is None:
                    continue
            query = wq.And([tier_query, *filters]) if filters else tier_query
            if ARRAYS:
                # Hits shown are left out by their document numbers (no lookup of their ids).
                excluded = superseded
            else:
                # Left out inside the query, not by a filtering collector: that one walks every
                # match, while a query keeps Whoosh's pruning of blocks that cannot make the page.
                excluded = superseded + [wq.Term("id", value) for value in seen]
            searched = wq.AndNot(query, wq.Or(excluded)) if excluded else query
            # A few more than asked for when minutes move up within the tier.
            window = max(limit * 3, 30) if reading.prefer_minutes else limit - len(hits)
            ranked = []
            for rank, hit in enumerate(_top(searcher, searched, window, read, shown)):
                ranked.append((reading.prefer_minutes and not hit["minutes"], -hit.score, rank, hit))
            ranked.sort(key=lambda item: item[:3])
            matcher = _WordMatcher(query)
            found = ranked[:limit - len(hits)]
            # Scores of a lower tier are scaled below the last score shown, so that a
            # higher score still means a better hit across tiers.
            top = max((hit.score for *_, hit in found), default=0.0) or 1.0
            scale = min(1.0, floor * TIER_GAP / top) if floor is not None else 1.0
            for *_, hit in found:
                seen.add(hit["id"])
                shown.add(hit.docnum)
                hits.append(self._hit(hit, matcher, name, hit.score * scale, detail))
            if hits:
                floor = min(hit.score for hit in hits)
        return self._with_auth(hits)

    def _with_auth(self, hits: list[Hit]) -> list[Hit]:
        """Each hit's sender verdict from SQLite (it is not in the index, so no reindex is needed)."""
        if self.db is None or not hits:
            return hits
        marks = ", ".join("?" for _ in hits)
        verdicts = dict(self.db.execute(
            f"SELECT id, auth FROM archived_messages WHERE id IN ({marks})", [hit.id for hit in hits]
        ).fetchall())
        for hit in hits:
            hit.auth = verdicts.get(hit.id, "none")
        return hits

    def _thread_query(self, found: list[int], hosts: list[str]) -> wq.Query | None:
        """The other posts in the threads of the hits found, whose effective host is one of hosts."""
        if self.db is None or not found or not hosts:
            return None
        marks = ", ".join("?" * len(found))
        try:
            rows = self.db.execute(
                f"""SELECT id FROM archived_messages WHERE thread_id IN
                    (SELECT thread_id FROM archived_messages WHERE id IN ({marks})) LIMIT 500""",
                found,
            ).fetchall()
        except sqlite3.Error:
            return None
        others = [wq.Term("id", str(row[0])) for row in rows if row[0] not in found]
        if not others:
            return None
        return wq.And([wq.Or(others), wq.Or([wq.Term("host", host) for host in hosts])])

    def _members(self, schema) -> dict[str, str]:
        """Each member's folded name -> its term in the host field (empty without a roster)."""
        if self.db is None:
            return {}
        try:
            names = [row[0] for row in self.db.execute("SELECT name FROM members")]
        except sqlite3.Error:
            return {}
        analyzer = schema["host"].analyzer
        members = {}
        for name in names:
            terms = [token.text for token in analyzer(name)]
            if len(terms) == 1:
                members[fold_name(name)] = terms[0]
        return members

    def _splitter(self, searcher) -> Splitter:
        """One splitter per searcher: its word frequencies are that index's."""
        if self._split_for is not searcher:
            self._split_for = searcher
            self._split = Splitter(lambda term: searcher.doc_frequency(DEFAULT_FIELD, term))
        return self._split

    def _hit(self, hit, matcher: _WordMatcher, tier: str = "literal", score: float | None = None, detail: str = "") -> Hit:
        excerpt = hit.get("excerpt") or ""
        snippet = matcher.snippet(excerpt) if matcher else " ".join(excerpt[:220].split())
        date = hit["date"].replace(tzinfo=datetime.timezone.utc).isoformat() if hit.get("date") else ""
        return Hit(
            id=int(hit["id"]),
            message_id=hit["message_id"],
            date=date,
            sender=hit.get("sender") or "",
            subject=hit.get("subject") or "",
            minutes=bool(hit.get("minutes")),
            meeting=hit.get("meeting") or None,
            host=hit.get("host_name"),
            score=float(hit.score or 0.0) if score is None else score,
            snippet=snippet,
            tier=tier,
            detail=detail,
        )
