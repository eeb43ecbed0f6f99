"""Judge the archive search on its own German test collection (``search_collection``).

Files every document of the collection through the real archive (Maildir, SQLite, roster
with an eight-member rotation, Whoosh index; DOCX attachments made with python-docx) in a
temporary data directory, runs every judged query through ``ArchiveSearch.search`` and
prints recall@5 and MRR per category and overall, and how many EXACT compound queries put
the documents with the exact word first. ``--show`` prints each query's top five.

Run:  .venv/bin/python bench/search_eval.py [--show] [--json]
"""

from __future__ import annotations

import argparse
import datetime
import email.utils
import io
import json
import sys
import tempfile
from collections import defaultdict
from email import policy
from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from search_collection import CONTACTS, DOCS, EXACT, MEMBERS, QUERIES, ROTATION_START  # noqa: E402

from akn_mail import config as config_module  # noqa: E402
from akn_mail import db as db_module  # noqa: E402
from akn_mail.archive.filing import Archive  # noqa: E402
from akn_mail.archive.search import ArchiveSearch  # noqa: E402
from akn_mail.roster.members import Roster  # noqa: E402
from akn_mail.roster.rotation import Rotation  # noqa: E402

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CUTOFF = 5


def docx_bytes(text: str) -> bytes:
    import docx

    heading, _, rest = text.partition("\n")
    document = docx.Document()
    document.add_heading(heading.strip(), level=1)
    for paragraph in rest.strip().split("\n"):
        if paragraph.strip():
            document.add_paragraph(paragraph.strip())
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def message(key: str, doc: dict) -> bytes:
    sender = doc["sender"]
    address = CONTACTS.get(sender, sender)
    msg = EmailMessage()
    msg["From"] = f"{'Kontakt ' + sender if sender in CONTACTS else 'Jan de Vries'} <{address}>"
    msg["To"] = "akn@lists.example"
    msg["Subject"] = doc["subject"]
    msg["Date"] = email.utils.format_datetime(datetime.datetime.fromisoformat(doc["date"] + "T10:00:00+01:00"))
    msg["Message-ID"] = f"<{key}@eval.example>"
    if doc.get("reply_to"):
        msg["In-Reply-To"] = f"<{doc['reply_to']}@eval.example>"
        msg["References"] = f"<{doc['reply_to']}@eval.example>"
    msg.set_content(doc["body"])
    if doc.get("attachment"):
        msg.add_attachment(docx_bytes(doc["attachment"]), maintype="application",
                           subtype=DOCX.split("/")[1], filename=f"protokoll-{key}.docx")
    return msg.as_bytes(policy=policy.SMTP)


def build(directory: Path):
    (directory / "akn-mail.toml").write_text('[storage]\ndata_dir = "data"\n', encoding="utf-8")
    config = config_module.load(directory / "akn-mail.toml", environ={})
    database = db_module.connect(config.database_path)
    roster = Roster(database)
    for name in MEMBERS:
        roster.add_member(name, "municipality", joined=datetime.date(2020, 1, 1))
        roster.add_contact(name, CONTACTS[name], name=f"Kontakt {name}")
    Rotation(database, roster).set_start(ROTATION_START)
    archive = Archive(config, database)
    ids = {}
    # Parents before replies: file in date order.
    for key, doc in sorted(DOCS.items(), key=lambda item: item[1]["date"]):
        ids[archive.file(message(key, doc)).message.id] = key
    try:
        return ArchiveSearch(archive.index, database, synonyms()), ids, config
    except TypeError:  # a search before issue 13
        return ArchiveSearch(archive.index, database), ids, config


def synonyms():
    """The shipped synonyms list, as ``akn-mail search`` uses it (None before it existed)."""
    try:
        from akn_mail.archive.synonyms import Synonyms
    except ImportError:
        return None
    return Synonyms.load()


def evaluate(search: ArchiveSearch, ids: dict[int, str], show: bool = False) -> dict:
    per_category: dict[str, list[tuple[float, float]]] = defaultdict(list)
    exact_ok = 0
    rows = []
    for category, query, relevant in QUERIES:
        ranked = [ids[hit.id] for hit in search.search(query, limit=50)]
        top = ranked[:CUTOFF]
        recall = len(set(top) & relevant) / min(len(relevant), CUTOFF)
        reciprocal = next((1.0 / (rank + 1) for rank, key in enumerate(ranked) if key in relevant), 0.0)
        per_category[category].append((recall, reciprocal))
        rows.append((category, query, recall, reciprocal, top, relevant))
        if query in EXACT:
            wanted = EXACT[query]
            exact_ok += set(ranked[:len(wanted)]) == wanted
    if show:
        for category, query, recall, reciprocal, top, relevant in rows:
            marks = " ".join(key + ("*" if key in relevant else "") for key in top)
            print(f"{category:<16} {query:<36} R@5 {recall:.2f}  RR {reciprocal:.2f}  {marks}  (want {' '.join(sorted(relevant))})")
        print()
    result = {}
    for category in dict.fromkeys(category for category, _, _ in QUERIES):
        values = per_category[category]
        result[category] = (sum(r for r, _ in values) / len(values), sum(m for _, m in values) / len(values), len(values))
    every = [value for values in per_category.values() for value in values]
    result["all"] = (sum(r for r, _ in every) / len(every), sum(m for _, m in every) / len(every), len(every))
    result["exact first"] = (exact_ok, len(EXACT))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print each query's top five (* = relevant)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="akn-search-eval-") as directory:
        search, ids, _ = build(Path(directory))
        result = evaluate(search, ids, show=args.show)
        search.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"{'category':<16} {'queries':>7} {'recall@5':>9} {'MRR':>6}")
    for category, values in result.items():
        if category == "exact first":
            continue
        recall, mrr, count = values
        print(f"{category:<16} {count:>7} {recall:>9.3f} {mrr:>6.3f}")
    exact_ok, exact_all = result["exact first"]
    print(f"exact compound first: {exact_ok} of {exact_all} queries")


if __name__ == "__main__":
    main()
