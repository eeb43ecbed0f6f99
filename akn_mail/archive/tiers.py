"""Tiered retrieval: from what the user wrote to looser readings of it, each ranked below the last.

A query of plain words and "phrases" (the usual case) is read as a list of *concepts*.
The searcher runs the tiers in order and stops as soon as the hits fill the page:

  literal        every concept as written: words (with their inflections and the compounds
                 containing them), exact phrases
  same thread    (only when a member is named) replies in the threads of the literal hits
                 whose effective host is that member
  parts          a query compound may also be found by all its parts apart
                 (``Schulhofbegrünung`` -> "Begrünung der Schulhöfe"); ``compounds`` splits
  synonym        an entry of the synonyms list (``PV`` -> Photovoltaik; ``synonyms``)
  near           a phrase's words within ``NEAR_SLOP`` positions, in order
  near any order ... in any order ("Kantine, fair beliefert" for "faire Kantine")
  most concepts  any concept, ranked by how many concepts a post matches
  one part       a single part of a query compound ("Lärmkartierung" for ``Lärmaktionsplan``)

Anything else in the query (fields, OR, NOT, prefixes, dates) is a constraint that every tier
keeps; a query made only of such clauses has the literal tier alone. Words that ask for
minutes (``Protokoll``, ``Niederschrift``, ``TOP``) are not required words: they make minutes
rank first in each tier. A member's name (``Dormagen Lärmschutz``) is not a required word
either: it lifts the posts whose effective host is that member. A two-word query also rewards the joined compound (``Lärm Schutz``
-> ``Lärmschutz``).
"""

from __future__ import annotations

import copy
import itertools
from typing import Callable, Iterator
from dataclasses import dataclass, field

from whoosh import query as wq
from whoosh.matching import NullMatcherClass, WrappingMatcher

from akn_mail.archive.analysis import PART, WORD, ending_of, expansion_key, fold, is_whole, stem
from akn_mail.archive.expansions import Prefix
from akn_mail.archive.infix import Infix
from akn_mail.text import fold as fold_name

DEFAULT_FIELD = "body"
NEAR_SLOP = 6
# Score of one matched concept in the "most concepts" tier, above any BM25 score.
CONCEPT_WEIGHT = 1000.0
JOINED_BOOST = 2.0
HOST_FIELD = "host"
# A member named in the query lifts that member's posts (effective host) within a tier.
HOST_BOOST = 3.0
HOST_TEXT_BOOST = 0.5
MIN_SINGLE_PART = 4
MINUTES_WORDS = frozenset({stem("Protokoll"), stem("Protokolle"), stem("Niederschrift")})
# Expanded compounds and prefixes count less than the word itself.
PREFIX_WEIGHT = 0.6
INFIX_WEIGHT = 0.5


def word_query(surface: str, fieldname: str = DEFAULT_FIELD, boost: float = 1.0) -> wq.Query:
    """One word: its stem, and the compounds that start with, contain or end with it."""
    term = stem(surface)
    node = wq.Term(fieldname, term, boost=boost)
    key = expansion_key(term, surface)
    if key is None:
        return node
    parts = [node, Prefix(fieldname, key, boost=boost * PREFIX_WEIGHT)]
    if fieldname == DEFAULT_FIELD:
        parts.append(Infix(key, ending_of(term), boost=boost * INFIX_WEIGHT))
    return wq.Or(parts)


def entry_query(entry: str) -> wq.Query:
    """A synonym: one word as a query word (a word with a hyphen or dot whole), several as a phrase."""
    words = WORD.findall(entry)
    if len(words) == 1:
        return wq.Term(DEFAULT_FIELD, fold(words[0])) if is_whole(words[0]) else word_query(words[0])
    return wq.Phrase(DEFAULT_FIELD, [stem(part) for word in words for part in PART.findall(word)])


class _PlusMatcher(WrappingMatcher):
    """The child's score plus a constant; tells Whoosh so, for its pruning."""

    def __init__(self, child, plus: float = 0.0):
        super().__init__(child)
        self.plus = plus

    def copy(self):
        return _PlusMatcher(self.child.copy(), self.plus)

    def _replacement(self, newchild):
        return _PlusMatcher(newchild, self.plus)

    def next(self):
        return self.child.next()  # whether a new block began (Whoosh's wrapper drops it)

    def replace(self, minquality=0):
        replaced = self.child.replace(max(0.0, minquality - self.plus))
        if isinstance(replaced, NullMatcherClass):
            return replaced
        return self if replaced is self.child else _PlusMatcher(replaced, self.plus)

    def skip_to_quality(self, minquality):
        return self.child.skip_to_quality(minquality - self.plus) if minquality > self.plus else 0

    def max_quality(self):
        return self.child.max_quality() + self.plus

    def block_quality(self):
        return self.child.block_quality() + self.plus

    def weight(self):
        return self.child.weight() + self.plus

    def score(self):
        return self.child.score() + self.plus


class Counted(wq.WrappingQuery):
    """A concept of the "most concepts" tier: CONCEPT_WEIGHT for matching it, plus its own
    score. (One matcher per concept: a constant-score copy beside the concept itself made
    Whoosh read every concept's documents twice and could not be pruned.)"""

    def __init__(self, child: wq.Query, plus: float):
        super().__init__(child)
        self.plus = plus

    def __eq__(self, other):
        return isinstance(other, Counted) and self.child == other.child and self.plus == other.plus

    def __hash__(self):
        return hash((self.child, self.plus))

    def _rewrap(self, child):
        return Counted(child, self.plus)

    def matcher(self, searcher, context=None):
        matcher = self.child.matcher(searcher, context)
        if isinstance(matcher, NullMatcherClass):
            return matcher
        return _PlusMatcher(matcher, self.plus)


@dataclass
class Concept:
    """One word or phrase of the query, with its looser readings."""

    node: wq.Query                      # the parsed (unexpanded) Term or Phrase
    surface: str                        # as typed (a word) or the phrase's words
    given_parts: list[str] | None = None  # a word's parts when it has inner punctuation
    splitter: Callable[[str], list[str]] | None = None
    synonyms: list[str] = field(default_factory=list)  # entries of the synonyms list
    label: str = ""                     # a phrase as typed (for --explain)

    @property
    def parts(self) -> list[str]:
        """A compound's parts (empty: none), split on first use."""
        if self.given_parts is None:
            self.given_parts = self.splitter(self.surface) if self.splitter and not self.is_phrase else []
        return self.given_parts

    @property
    def is_phrase(self) -> bool:
        return isinstance(self.node, wq.Phrase)

    def part_groupings(self) -> list[list[str]]:
        """Adjacent parts joined in every way but all in one (Bau|amts|leitung -> bauamts|leitung, ...)."""
        count = len(self.parts)
        groupings = []
        for cuts in itertools.product((False, True), repeat=count - 1):
            if not any(cuts):
                continue
            groups, current = [], self.parts[0]
            for cut, part in zip(cuts, self.parts[1:]):
                if cut:
                    groups.append(current)
                    current = part
                else:
                    current += part
            groups.append(current)
            groupings.append(groups)
        return groupings

    def parts_query(self) -> wq.Query | None:
        if len(self.parts) < 2:
            return None
        return wq.Or([wq.And([word_query(unit) for unit in groups]) for groups in self.part_groupings()])

    def synonyms_query(self) -> wq.Query | None:
        if not self.synonyms:
            return None
        return wq.Or([entry_query(entry) for entry in self.synonyms])

    def near_query(self, ordered: bool) -> wq.Query | None:
        if not self.is_phrase:
            return None
        words = [word for word in self.node.words if isinstance(word, str)]
        if len(words) < 2:
            return None
        return wq.spans.SpanNear2([wq.Term(self.node.fieldname, word) for word in words], slop=NEAR_SLOP,
                                  ordered=ordered)

    def single_parts(self) -> list[str]:
        return [part for part in self.parts if len(part) >= MIN_SINGLE_PART]


@dataclass
class Plan:
    """What the searcher runs: concepts, constraints and the tiers built from them."""

    concepts: list[Concept]
    constraints: list[wq.Query]
    prefer_minutes: bool = False
    strict: bool = False      # the query has operators: only the literal tier
    boosts: list[wq.Query] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)      # host-field terms of members named
    host_names: list[str] = field(default_factory=list)

    def tiers(self, literal) -> Iterator[tuple[str, wq.Query | None, str]]:
        """(name, query, what it added) in rank order; ``literal`` expands a parsed node as
        the literal tier does. A query of None is the searcher's to fill in (same thread).
        A generator: the searcher stops when the page is full, so the looser tiers (and the
        compound splitting they need) cost nothing then."""
        concepts = self.concepts
        if not concepts:
            if self.constraints:
                yield "literal", self._required([]), ""
            return
        literal_of = [literal(copy.deepcopy(c.node)) for c in concepts]
        yield "literal", self._required(literal_of), ""
        if self.strict:
            return
        if self.hosts:
            # Filled in by the searcher: replies in the threads of the literal hits whose
            # effective host is the member named (they rarely repeat the topic's word).
            yield "same thread", None, "host " + ", ".join(self.host_names)
        parts_of = [c.parts_query() for c in concepts]
        with_parts = [wq.Or([lit, parts]) if parts is not None else lit for lit, parts in zip(literal_of, parts_of)]
        if any(parts is not None for parts in parts_of):
            detail = "; ".join(f"{c.surface} = {' + '.join(c.parts)}" for c in concepts if len(c.parts) > 1)
            yield "parts", self._required(with_parts), detail
        synonyms_of = [c.synonyms_query() for c in concepts]
        if any(q is not None for q in synonyms_of):
            with_parts = [wq.Or([q, s]) if s is not None else q for q, s in zip(with_parts, synonyms_of)]
            detail = "; ".join(f"{c.surface} ~ {', '.join(c.synonyms)}" for c in concepts if c.synonyms)
            yield "synonym", self._required(with_parts), detail
        near = [c.near_query(True) for c in concepts]
        if any(n is not None for n in near):
            ordered = [wq.Or([q, n]) if n is not None else q for q, n in zip(with_parts, near)]
            detail = "; ".join(f'"{c.label or c.surface}" within {NEAR_SLOP} words' for c in concepts if c.is_phrase)
            yield "near", self._required(ordered), detail
            anyorder = [wq.Or([q, c.near_query(False)]) if c.is_phrase and c.near_query(False) is not None else q
                        for q, c in zip(with_parts, concepts)]
            yield "near any order", self._required(anyorder), detail.replace("within", "in any order within")
        else:
            anyorder = with_parts
        loose = []
        for query, concept in zip(anyorder, concepts):
            if concept.is_phrase:
                # A phrase's words each count as a concept of their own here.
                words = [w for w in concept.node.words if isinstance(w, str)]
                loose.extend(literal(wq.Term(concept.node.fieldname, w)) for w in words)
            else:
                loose.append(query)
        if len(loose) >= 2:
            counted = [Counted(q, CONCEPT_WEIGHT) for q in loose]
            yield ("most concepts", self._required([wq.Or(counted)]),
                   f"any of {len(loose)}, more first")
        singles = [part for c in concepts for part in c.single_parts()]
        if singles:
            yield ("one part", self._required([wq.Or([word_query(part) for part in singles])]),
                   "any of " + ", ".join(singles))

    def _required(self, queries: list[wq.Query]) -> wq.Query:
        every = [*queries, *self.constraints]
        main = every[0] if len(every) == 1 else wq.And(every)
        if self.boosts:
            return wq.AndMaybe(main, wq.Or(self.boosts))
        return main


def plan(parsed: wq.Query, split, expand, members: dict[str, str] | None = None, synonyms=None) -> Plan:
    """Read the parsed query as concepts and constraints (see the module docstring).

    ``split(word)`` gives a compound's parts; ``expand(node)`` is the literal expansion;
    ``members`` maps a member's folded name (``text.fold``) to the host field's term;
    ``synonyms`` (``synonyms.Synonyms``) the entries of the synonyms list for a word or phrase."""
    children = parsed.subqueries if isinstance(parsed, wq.And) else [parsed]
    concepts, constraints = [], []
    for child in children:
        if isinstance(child, wq.Term) and child.fieldname == DEFAULT_FIELD and isinstance(child.text, str):
            surface = getattr(child, "surface", None) or child.text
            concept = Concept(child, surface)
            pieces = [p.group(0) for p in PART.finditer(surface)]
            if len(pieces) > 1:
                concept.given_parts = [p.lower() for p in pieces]  # THG-Bilanz, klima.nrw
            else:
                concept.splitter = split
            concepts.append(concept)
        elif isinstance(child, wq.Phrase) and child.fieldname == DEFAULT_FIELD:
            concepts.append(Concept(child, " ".join(w for w in child.words if isinstance(w, str))))
        else:
            constraints.append(expand(child))
    if synonyms is not None:
        for concept in concepts:
            if concept.is_phrase:
                concept.synonyms = synonyms.of_terms([w for w in concept.node.words if isinstance(w, str)])
            else:
                concept.synonyms = synonyms.of(concept.surface)
    prefer = [c for c in concepts if not c.is_phrase and (c.node.text in MINUTES_WORDS or c.surface == "TOP")]
    result = Plan(concepts, constraints, prefer_minutes=bool(prefer))
    if prefer and len(prefer) < len(concepts):
        result.concepts = [c for c in concepts if c not in prefer]
    hosts = [c for c in result.concepts if not c.is_phrase and members and fold_name(c.surface) in members]
    if hosts and len(hosts) < len(result.concepts):
        # "Dormagen Lärmschutz": the member is a soft boost on the effective host (and on the
        # name in the text), not a required word: replies in the thread of a meeting Dormagen
        # hosted rarely name it.
        result.concepts = [c for c in result.concepts if c not in hosts]
        for concept in hosts:
            result.hosts.append(members[fold_name(concept.surface)])
            result.host_names.append(concept.surface)
            result.boosts.append(wq.Term(HOST_FIELD, members[fold_name(concept.surface)], boost=HOST_BOOST))
            result.boosts.append(wq.Term(DEFAULT_FIELD, concept.node.text, boost=HOST_TEXT_BOOST))
    words = [c for c in result.concepts if not c.is_phrase]
    if len(result.concepts) == 2 and len(words) == 2 and all(w.surface.isalpha() for w in words):
        joined = words[0].surface + words[1].surface.lower()
        result.boosts.append(word_query(joined, boost=JOINED_BOOST))
    return result

