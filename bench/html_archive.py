"""HTML archive benchmark: full and incremental rendering at growing archive sizes.

Measures, in one run on the synthetic German corpus of bench/search.py (threads of three
posts, every 20th post minutes linked to its quarter's meeting, eight hosting members):
  baseline     filing one post as the archive step does (Archive.file, no index), p50,
               without [archive] html_dir: what a post costs today;
  incremental  the same filing plus Site.render(changed=[id]), as the archive step does
               with html_dir set: p50/p95 over ROUNDS new posts, and the pages written;
  full         `akn-mail archive html` on the whole archive: first run (reads every post
               from the Maildir into the text cache), and again with nothing changed;
  size         of the site and of the search index.
Sizes default to 10,000 and 100,000 posts (--sizes 1000 for a quick look).

Run:  .venv/bin/python bench/html_archive.py [--sizes 10000,100000] [--rounds 20] [--work DIR] [--keep]
"""

from __future__ import annotations

import argparse
import datetime
import random
import shutil
import socket
import sys
import tempfile
import time
import email.utils
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from search import _CUMULATIVE, CONTENT_WORDS, FUNCTION_WORDS, MEMBERS, TOPICS, make_post, open_archive, percentile  # noqa: E402

from akn_mail import db as db_module  # noqa: E402
from akn_mail.roster.members import Roster  # noqa: E402
from akn_mail.roster.quarter import Quarter  # noqa: E402
from akn_mail.roster.rotation import Rotation  # noqa: E402
from akn_mail.web.site import Site  # noqa: E402


def setup(connection) -> Rotation:
    roster = Roster(connection)
    for name in MEMBERS:
        roster.add_member(name, "municipality", joined=datetime.date(2019, 1, 1))
    rotation = Rotation(connection, roster)
    rotation.set_start("2020-Q1")
    return rotation


def fast_post(number: int, rng: random.Random) -> tuple[bytes, SimpleNamespace]:
    """The corpus of bench/search.py (German words, Zipf, two topics, every 20th post minutes),
    written as plain 8-bit text directly: building 100,000 EmailMessage objects takes longer
    than everything measured here."""
    words = [rng.choice(FUNCTION_WORDS) if rng.random() < 0.5 else
             rng.choices(CONTENT_WORDS, cum_weights=_CUMULATIVE, k=1)[0] for _ in range(rng.randint(60, 160))]
    topics = rng.sample(TOPICS, 2)
    for topic in topics:
        words.insert(rng.randrange(len(words)), topic)
    member = MEMBERS[(number // 20 + number) % len(MEMBERS)]
    minutes = number % 20 == 0
    subject = ("[Protokoll] Sitzung " if minutes else "") + " ".join([topics[0], *rng.choices(CONTENT_WORDS[:2000], k=2)])
    local = member.lower().replace("ü", "ue")
    day = datetime.datetime(2020, 1, 1, 9, tzinfo=datetime.timezone.utc) + datetime.timedelta(minutes=37 * number)
    body = "\r\n".join(" ".join(words[i:i + 12]) + "." for i in range(0, len(words), 12))
    meta = SimpleNamespace(subject=subject, from_name=f"Kontakt {member}", from_address=f"kontakt{number % 3}@{local}.example",
                           message_id=f"bench-{number}@{local}.example", date=day)
    return (
        f"From: Kontakt {member} <kontakt{number % 3}@{local}.example>\r\nTo: akn@lists.example\r\n"
        f"Subject: {subject}\r\nDate: {email.utils.format_datetime(day)}\r\nMessage-ID: <bench-{number}@{local}.example>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n\r\nViele Grüße aus {member}\r\n"
    ).encode("utf-8"), meta


def bulk_add(archive, connection, rotation, first: int, count: int, rng: random.Random) -> None:
    """Posts first..first+count-1 straight into the Maildir and SQLite (untimed)."""
    host = socket.gethostname()
    meetings: dict[str, int] = {}
    with db_module.transaction(connection):
        for number in range(first, first + count):
            raw, parsed = fast_post(number, rng)
            key = f"{1_600_000_000 + number}.M{number}P0Q{number}.{host}"
            (archive.maildir.path / "cur" / f"{key}:2,S").write_bytes(raw)
            minutes = parsed.subject.startswith("[Protokoll]")
            thread = f"bench-{number - number % 3}@thread.example"
            meeting_id = None
            if minutes:
                quarter = str(Quarter.of(parsed.date.date()))
                if quarter not in meetings:
                    meetings[quarter] = rotation.ensure_meeting(quarter)
                meeting_id = meetings[quarter]
            cursor = connection.execute(
                """INSERT INTO archived_messages (message_id, maildir_key, date, from_address, from_name, subject,
                   thread_id, is_minutes, meeting_id, size, source, indexed)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'import', 1)""",
                (parsed.message_id, key, parsed.date.isoformat(), parsed.from_address, parsed.from_name, parsed.subject,
                 thread, int(minutes), meeting_id, len(raw)),
            )
            if minutes:
                connection.execute(
                    """INSERT INTO meeting_minutes (meeting_id, archived_id, versions, first_arrived, last_arrived)
                       VALUES (?, ?, 1, ?, ?) ON CONFLICT (meeting_id) DO UPDATE SET archived_id = excluded.archived_id,
                       versions = meeting_minutes.versions + 1""",
                    (meeting_id, cursor.lastrowid, parsed.date.isoformat(), parsed.date.isoformat()),
                )


def site_size(target: Path) -> tuple[int, int, int]:
    files = [path for path in target.rglob("*") if path.is_file()]
    index = sum(path.stat().st_size for path in (target / "suche").glob("*.js"))
    return len(files), sum(path.stat().st_size for path in files), index


def bench_size(work: Path, size: int, rounds: int, full: bool) -> dict:
    _, config, connection, archive = open_archive(work / f"archive-{size}")
    rotation = setup(connection)
    rng = random.Random(11)
    started = time.perf_counter()
    bulk_add(archive, connection, rotation, 0, size, rng)
    print(f"  {size}: corpus built in {time.perf_counter() - started:.0f} s", flush=True)
    # The last post's day, so that "today" lies after the archive (meetings are over).
    last_date = connection.execute("SELECT max(date) FROM archived_messages").fetchone()[0]
    today = datetime.date.fromisoformat(last_date[:10]) + datetime.timedelta(days=1)
    target = work / f"site-{size}"
    site = Site(config, connection, archive=archive, today=today)

    first = again = None
    if full:
        first = site.render(target)
        print(f"  {size}: full render {first.seconds:.1f} s ({len(first.written)} files)", flush=True)
        again = site.render(target)

    # Baseline and incremental: new posts of the next days, replies to the newest thread.
    baseline, incremental, written = [], [], []
    number = size + 10
    for round_ in range(rounds * 2):
        raw = make_post(number, rng)  # filed as the archive step files a real post
        number += 1
        t0 = time.perf_counter()
        filed = archive.file(raw, index=False)
        filing = time.perf_counter() - t0
        if round_ % 2 == 0:
            baseline.append(filing * 1000)
            continue
        t1 = time.perf_counter()
        result = site.render(target, changed=[filed.message.id])
        incremental.append((filing + time.perf_counter() - t1) * 1000)
        written.append(len(result.written))
    files, total, index = site_size(target)
    connection.close()
    return {
        "size": size, "full": first.seconds if first else None, "files": files,
        "again": again.seconds if again else None, "again_written": len(again.written) if again else 0, "baseline_p50": percentile(baseline, 0.5),
        "incremental_p50": percentile(incremental, 0.5), "incremental_p95": percentile(incremental, 0.95),
        "pages_written": percentile(written, 0.5), "site_mb": total / 1e6, "index_mb": index / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--full-max", type=int, default=10_000,
                        help="render the whole site (first and again) only up to this size; larger sizes measure the "
                             "incremental render after filing, which needs no full render before it")
    options = parser.parse_args()
    work = options.work or Path(tempfile.mkdtemp(prefix="akn-html-bench-"))
    print(f"work directory {work}", flush=True)
    results = []
    try:
        for size in [int(text) for text in options.sizes.split(",")]:
            results.append(bench_size(work, size, options.rounds, size <= options.full_max))
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print("| archived posts | full render (first) | full render (nothing changed) | filing p50 without html_dir "
          "| filing + incremental render p50 / p95 | pages written per post | site / search index |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        full = f"{r['full']:.1f} s ({r['files']:,} files)" if r["full"] is not None else "not run (--full-max)"
        again = f"{r['again']:.1f} s ({r['again_written']} written)" if r["again"] is not None else "–"
        print(f"| {r['size']:,} | {full} | {again} "
              f"| {r['baseline_p50']:.1f} ms | {r['incremental_p50']:.0f} / {r['incremental_p95']:.0f} ms "
              f"| {r['pages_written']:.0f} | {r['site_mb']:.0f} MB / {r['index_mb']:.1f} MB |")


if __name__ == "__main__":
    main()
