"""Measure compound handling: which analysis finds German compounds, at what precision.

Runs every judged query of ``german_corpus`` against five indexes of the same documents:
  whoosh-de     Whoosh's own German analyzer (LanguageAnalyzer("de"), old Snowball German)
  stem          our analyzer (PyStemmer Snowball German, umlaut spellings), words only
  stem+prefix   ... and a query word also matches indexed words that start with it
  stem+prefix+infix   ... and words that contain it inside or at the end, looked up in the
                index's vocabulary at query time (akn-mail's choice; ``archive/infix.py``)
  4-grams       character 4-grams of each word indexed beside the words (all grams must match)
and prints recall and precision over all queries. Run:  .venv/bin/python bench/compounds.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from whoosh import index as whoosh_index  # noqa: E402
from whoosh.analysis import LanguageAnalyzer, NgramWordAnalyzer  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.qparser import QueryParser  # noqa: E402

from akn_mail.archive import search as archive_search  # noqa: E402
from akn_mail.archive.analysis import german_analyzer  # noqa: E402
from akn_mail.archive.index import make_schema  # noqa: E402
from german_corpus import DOCS, QUERIES  # noqa: E402


def build(schema: Schema, documents: dict, fields: list[str]):
    directory = tempfile.mkdtemp(prefix="akn-compounds-")
    ix = whoosh_index.create_in(directory, schema)
    writer = ix.writer()
    for doc_id, text in documents.items():
        writer.add_document(id=str(doc_id), **{field: text for field in fields})
    writer.commit()
    return ix


def run(ix, make_query) -> dict[str, set[int]]:
    found = {}
    with ix.searcher() as searcher:
        for text in QUERIES:
            results = searcher.search(make_query(text, searcher.schema), limit=None)
            found[text] = {int(hit["id"]) for hit in results}
    return found


def score(found: dict[str, set[int]]) -> tuple[float, float, int, int]:
    relevant = sum(len(wanted) for wanted in QUERIES.values())
    hits = sum(len(found[q] & QUERIES[q]) for q in QUERIES)
    returned = sum(len(found[q]) for q in QUERIES)
    return hits / relevant, (hits / returned if returned else 1.0), hits, returned


def main() -> None:
    approaches = {}
    ix = build(Schema(id=ID(stored=True), body=TEXT(analyzer=LanguageAnalyzer("de"))), DOCS, ["body"])
    approaches["whoosh-de"] = run(ix, lambda text, schema: QueryParser("body", schema).parse(text))

    ours = Schema(id=ID(stored=True), body=TEXT(analyzer=german_analyzer()), words=make_schema()["words"])
    ix = build(ours, DOCS, ["body", "words"])
    approaches["stem"] = run(ix, lambda text, schema: QueryParser("body", schema).parse(text))

    def ours(text, schema):
        return archive_search._expand(archive_search._parser(schema, "body").parse(text))

    def prefix_only(text, schema):
        archive_search.INFIX = False
        try:
            return ours(text, schema)
        finally:
            archive_search.INFIX = True

    approaches["stem+prefix"] = run(ix, prefix_only)
    approaches["stem+prefix+infix"] = run(ix, ours)

    grams = Schema(id=ID(stored=True), body=TEXT(analyzer=NgramWordAnalyzer(minsize=4, maxsize=4)))
    ix = build(grams, DOCS, ["body"])
    approaches["4-grams"] = run(ix, lambda text, schema: QueryParser("body", schema).parse(text))

    print(f"{len(DOCS)} documents, {len(QUERIES)} judged queries, {sum(map(len, QUERIES.values()))} relevant pairs")
    print(f"{'approach':<20} {'recall':>7} {'precision':>9}  found/returned")
    for name, found in approaches.items():
        recall, precision, hits, returned = score(found)
        print(f"{name:<20} {recall:7.2f} {precision:9.2f}  {hits}/{returned}")
    if "-v" in sys.argv:
        for query, wanted in QUERIES.items():
            line = [f"{query:<15} want {sorted(wanted)}"]
            for name, found in approaches.items():
                missing, extra = wanted - found[query], found[query] - wanted
                line.append(f"{name}: -{sorted(missing)} +{sorted(extra)}")
            print("  " + " | ".join(line))


if __name__ == "__main__":
    main()
