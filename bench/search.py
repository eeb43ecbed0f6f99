"""Archive benchmark: filing rate, and search latency at growing archive sizes, beside notmuch.

Measures, in one run on one synthetic German corpus:
  filing      Archive.file() per post (Maildir + fsync, SQLite, index commit), without and
              with a PDF attachment: posts/s and ms per post (target: <= 50 ms without).
  indexing    `archive reindex` of the whole archive at each size (posts/s, on every core
              and, up to --single-up-to posts, in one process), beside `notmuch new` of
              the posts added at that size (target: >= 400 posts/s on two cores).
  search      latency p50/p95 of the same queries at each size (default 1,000, 10,000,
              100,000 posts): in-process (ArchiveSearch.search, target p95 <= 20 ms at
              100,000) and as the whole command a user types (`akn-mail search ...`),
              alone and while a warm searcher answers it (``search_server``, as while
              `serve` runs; target p95 <= 2x `python3 -c pass`, measured in the same run
              with the interpreter akn-mail runs on: `python3` on PATH may be a wrapper
              script, as pyenv's shim is, that alone takes longer than a search),
              beside `notmuch search` on the same Maildir.
notmuch is the Debian package; without it the notmuch columns are skipped with the reason.

Run:  .venv/bin/python bench/search.py [--sizes 1000,10000,100000] [--work DIR] [--keep]
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import email.utils
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from german_corpus import DOCS  # noqa: E402

from akn_mail import config as config_module  # noqa: E402
from akn_mail import db as db_module  # noqa: E402
from akn_mail.archive.filing import Archive  # noqa: E402
from akn_mail.archive.mime import read  # noqa: E402
from akn_mail.archive.search import ArchiveSearch  # noqa: E402
from akn_mail.archive.search_server import SearchServer  # noqa: E402
from akn_mail.archive.synonyms import Synonyms  # noqa: E402

QUERIES = [
    "Wärmeplanung",
    "Starkregen",
    "Förderprogramme",
    "Waerme",
    '"kommunale Wärmeplanung"',
    "Radverkehr host:Kaarst",
    "Klimaschutz AND Hitze",
    "Stadtbaum",
    "Wärme*",
]
# The same questions for notmuch (no host field there: the host's name as a word).
NOTMUCH_QUERIES = [q.replace("host:", "") for q in QUERIES]

MEMBERS = ["Dormagen", "Grevenbroich", "Jüchen", "Kaarst", "Korschenbroich", "Meerbusch", "Neuss", "Rommerskirchen"]
EXTRA_WORDS = """Sitzung Protokoll Tagesordnung Beschluss Vorlage Termin Rückmeldung Abstimmung Klimaschutz
Klimaschutzmanagerin Klimaanpassung Hitze Hitzeschutz Starkregen Radverkehr Radverkehrskonzept Wärmeplanung
Wärmeplanungsgesetz Förderprogramm Förderprogramme Fördermittel Energieberatung Photovoltaik Solaranlage
Wärmepumpe Fernwärme Nahwärmenetz Quartierskonzept Sanierung Mobilität Ladeinfrastruktur Stadtbäume
Baumkataster Grünflächen Regenwasser Versickerung Kommunikation Öffentlichkeitsarbeit Bürgerbeteiligung
Haushalt Stellenplan Förderantrag Frist Bericht Ergebnis Arbeitsgruppe Kreistag Rat Ausschuss""".split()
TOPICS = sorted({word.strip(".,:;()") for text in DOCS.values() for word in text.split() if len(word) > 6} | set(EXTRA_WORDS))
FUNCTION_WORDS = """der die das und in zu den von mit sich des auf für ist im dem nicht ein eine als auch es an
werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur oder
aber vor zur bis mehr durch man sein wurde sei wir können unter soll""".split()


def _pseudo_words(count: int, rng: random.Random) -> list[str]:
    """German-looking content words (a real archive has tens of thousands of distinct words)."""
    onsets = ["b", "br", "d", "f", "fl", "g", "gr", "h", "k", "kl", "l", "m", "n", "p", "pf", "r", "s", "sch", "st", "t", "tr", "w", "z"]
    vowels = ["a", "e", "i", "o", "u", "ä", "ö", "ü", "ei", "au", "ie"]
    codas = ["", "n", "r", "l", "s", "t", "ng", "ch", "st", "nd", "rk"]
    words = set()
    while len(words) < count:
        syllables = rng.randint(2, 4)
        word = "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(syllables))
        words.add(word.capitalize() if rng.random() < 0.4 else word)
    return sorted(words)


_VOCABULARY_RNG = random.Random(3)
CONTENT_WORDS = _pseudo_words(20_000, _VOCABULARY_RNG)
_CONTENT_WEIGHTS = [1.0 / (rank + 1) for rank in range(len(CONTENT_WORDS))]
_CUMULATIVE = list(__import__("itertools").accumulate(_CONTENT_WEIGHTS))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))
    return ordered[index]


def make_post(number: int, rng: random.Random, pdf: bytes | None = None) -> bytes:
    """One synthetic post: German words, Zipf-like; every 20th is minutes with TOP headings."""
    # Half function words, half content words (Zipf), and two topics of the alliance,
    # so a topic word is in about 3 % of the posts, as in a real list archive.
    length = rng.randint(60, 160)
    words = []
    for _ in range(length):
        if rng.random() < 0.5:
            words.append(rng.choice(FUNCTION_WORDS))
        else:
            words.append(rng.choices(CONTENT_WORDS, cum_weights=_CUMULATIVE, k=1)[0])
    topics = rng.sample(TOPICS, 2)
    for topic in topics:
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randrange(len(words)), topic)
    member = MEMBERS[(number // 20 + number) % len(MEMBERS)]
    minutes = number % 20 == 0
    lines = [" ".join(words[i:i + 12]) + "." for i in range(0, len(words), 12)]
    if minutes:
        lines = [f"TOP {n} {rng.choice(topics)}" if n % 3 == 0 else line for n, line in enumerate(lines, 1)]
    subject = ("[Protokoll] Sitzung " if minutes else "") + " ".join([topics[0], *rng.choices(CONTENT_WORDS[:2000], k=rng.randint(1, 4))])
    message = EmailMessage()
    local = member.lower().replace("ü", "ue")
    message["From"] = f"Kontakt {member} <kontakt{number % 3}@{local}.example>"
    message["To"] = "akn@lists.example"
    message["Subject"] = subject
    day = datetime.datetime(2020, 1, 1, 9, tzinfo=datetime.timezone.utc) + datetime.timedelta(minutes=37 * number)
    message["Date"] = email.utils.format_datetime(day)
    message["Message-ID"] = f"<bench-{number}@{local}.example>"
    message.set_content("\n".join(lines) + f"\n\nViele Grüße aus {member}\n")
    if pdf is not None:
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename="protokoll.pdf")
    return message.as_bytes(policy=policy.SMTP)


def make_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for page in range(2):
        pdf.add_page()
        for line in list(DOCS.values())[page * 10:(page + 1) * 10]:
            pdf.multi_cell(0, 6, line.encode("latin-1", "replace").decode("latin-1"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def open_archive(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "akn-mail.toml"
    path.write_text('[storage]\ndata_dir = "data"\n', encoding="utf-8")
    config = config_module.load(path, environ={})
    connection = db_module.connect(config.database_path)
    add_roster(connection)
    return path, config, connection, Archive(config, connection)


def add_roster(connection) -> None:
    """The members with two contacts each (kontakt0@, kontakt1@ of the member's domain), so
    that a post's effective host is its sender's member, and ``host:`` has something to
    find; kontakt2@ stands for the others who write to the list."""
    from akn_mail.roster.members import Roster

    if not connection.execute("SELECT count(*) FROM members").fetchone()[0]:
        roster = Roster(connection)
        for member in MEMBERS:
            roster.add_member(member, "municipality", joined=datetime.date(2019, 1, 1))
            local = member.lower().replace("ü", "ue")
            for number in range(2):
                roster.add_contact(member, f"kontakt{number}@{local}.example", name=f"Kontakt {member}")
    # Posts of a corpus kept from before the roster was added get their sender's member.
    with db_module.transaction(connection):
        for address, (member_id, member_name) in contact_members(connection).items():
            connection.execute("UPDATE archived_messages SET member_id = ?, member_name = ? WHERE from_address = ? AND member_id IS NULL",
                               (member_id, member_name, address))


def contact_members(connection) -> dict[str, tuple[int, str]]:
    """Each contact's address -> (member id, member name)."""
    rows = connection.execute("SELECT c.email, m.id, m.name FROM contacts c JOIN members m ON m.id = c.member_id").fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


# --- filing -------------------------------------------------------------------------------

def bench_filing(work: Path, count: int, with_pdf: bool) -> dict:
    """Filing as the pipeline's archive step does it: Maildir + SQLite + meeting link in the
    post's path (timed per post), the index by the background indexer (timed to the end)."""
    from akn_mail.archive.indexer import BackgroundIndexer

    _, config, connection, archive = open_archive(work / ("filing-pdf" if with_pdf else "filing"))
    indexer = BackgroundIndexer.for_config(config)
    rng = random.Random(7)
    pdf = make_pdf() if with_pdf else None
    posts = [make_post(900_000 + n, rng, pdf) for n in range(count + 5)]
    for raw in posts[:5]:  # warm-up: first index, forkserver, caches
        archive.file(raw)
    times = []
    started = time.perf_counter()
    for raw in posts[5:]:
        t0 = time.perf_counter()
        archive.file(raw, index=False)
        indexer.notify()
        times.append((time.perf_counter() - t0) * 1000)
    filed = time.perf_counter() - started
    indexer.flush(600)
    indexed = time.perf_counter() - started
    connection.close()
    return {"posts": count, "rate": count / filed, "indexed_rate": count / indexed,
            "p50": percentile(times, 0.5), "p95": percentile(times, 0.95)}


# --- bulk corpus --------------------------------------------------------------------------

def add_posts(archive: Archive, connection, first: int, count: int, rng: random.Random) -> None:
    """Add posts first..first+count-1 to the Maildir and SQLite as filing does (not timed:
    the filing benchmark above measures that path); the index is rebuilt after."""
    host = socket.gethostname()
    members = contact_members(connection)
    rows = []
    for number in range(first, first + count):
        raw = make_post(number, rng)
        key = f"{1_600_000_000 + number}.M{number}P0Q{number}.{host}"
        (archive.maildir.path / "cur" / f"{key}:2,S").write_bytes(raw)
        rows.append((key, raw))
    with db_module.transaction(connection):
        for key, raw in rows:
            parsed = read(raw)
            connection.execute(
                """INSERT INTO archived_messages (message_id, maildir_key, date, from_address, from_name, member_id,
                   member_name, subject, thread_id, is_minutes, size, source, indexed)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'import', 1)""",
                (parsed.message_id, key, parsed.date.isoformat(), parsed.from_address, parsed.from_name,
                 *members.get(parsed.from_address, (None, "")), parsed.subject,
                 parsed.message_id, int(parsed.subject.startswith("[Protokoll]")), len(raw)),
            )


def reindex_rate(archive: Archive, workers: int | None = None) -> tuple[float, int]:
    """`akn-mail archive reindex` of the whole archive, as the command runs it: posts/s and
    the worker processes used."""
    from akn_mail.archive.rebuild import workers_for

    count = len(archive.maildir)
    started = time.perf_counter()
    archive.reindex(workers=workers)
    return count / (time.perf_counter() - started), workers_for(count, workers)


# --- search -------------------------------------------------------------------------------

def bench_in_process(archive: Archive, connection, rounds: int) -> dict:
    search = ArchiveSearch(archive.index, connection, Synonyms.load())
    for query in QUERIES:
        search.search(query)
    times, hits = [], {}
    for _ in range(rounds):
        for query in QUERIES:
            t0 = time.perf_counter()
            found = search.search(query)
            times.append((time.perf_counter() - t0) * 1000)
            hits[query] = len(found)
    return {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "hits": hits}


def command_times(commands: list[list[str]], rounds: int, env: dict | None = None) -> dict:
    for command in commands:
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    times = []
    for _ in range(rounds):
        for command in commands:
            t0 = time.perf_counter()
            completed = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            times.append((time.perf_counter() - t0) * 1000)
            if completed.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed: {completed.stderr.decode()[:500]}")
    return {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95)}


def notmuch_setup(work: Path, maildir: Path) -> Path | None:
    if shutil.which("notmuch") is None:
        return None
    config = work / "notmuch-config"
    config.write_text(
        f"[database]\npath={work / 'notmuch-db'}\nmail_root={maildir}\n[new]\ntags=\nignore=\n"
        "[search]\nexclude_tags=\n[maildir]\nsynchronize_flags=false\n[user]\nname=bench\nprimary_email=bench@localhost\n",
        encoding="utf-8",
    )
    (work / "notmuch-db").mkdir(exist_ok=True)
    return config


def notmuch_new(config: Path, count: int) -> float:
    started = time.perf_counter()
    subprocess.run(["notmuch", f"--config={config}", "new", "--quiet"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="archive sizes to measure search at")
    parser.add_argument("--work", default=None, help="working directory (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--filing", type=int, default=200, help="posts filed one by one (without attachments)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds over the queries in-process")
    parser.add_argument("--command-rounds", type=int, default=3, help="rounds over the queries as commands")
    parser.add_argument("--single-up-to", type=int, default=10_000,
                        help="also time a one-process reindex (--workers 0) up to this archive size")
    parser.add_argument("--reuse", action="store_true",
                        help="reindex and search the corpus a kept run left in --work, at its size (no filing)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    work = Path(args.work or tempfile.mkdtemp(prefix="akn-bench-search-"))
    work.mkdir(parents=True, exist_ok=True)
    executable = shutil.which("akn-mail", path=str(Path(sys.executable).parent)) or "akn-mail"
    print(f"akn-mail archive benchmark ({os.cpu_count()} cores), work dir {work}", flush=True)
    print(f"baseline 'pass': {sys.executable} -c pass", flush=True)
    # Commands start from bytecode, as an installed package does (pip compiles it; an
    # editable install under PYTHONDONTWRITEBYTECODE would compile every module each time).
    compileall.compile_dir(str(HERE.parent / "akn_mail"), quiet=1)

    if not args.reuse:
        plain = bench_filing(work, args.filing, with_pdf=False)
        with_pdf = bench_filing(work, max(20, args.filing // 5), with_pdf=True)
        for name, result in (("without attachment", plain), ("with a 2-page PDF ", with_pdf)):
            print(f"filing {name}: {result['p50']:.1f} ms p50, {result['p95']:.1f} ms p95 per post, {result['rate']:.1f} posts/s filed, "
                  f"{result['indexed_rate']:.1f} posts/s filed and indexed ({result['posts']} posts)", flush=True)

    config_path, config, connection, archive = open_archive(work / "corpus")
    if args.reuse:
        sizes = [len(archive.maildir)]
    notmuch_config = notmuch_setup(work, config.maildir_path)
    if notmuch_config is None:
        print("notmuch: skipped (the notmuch command is not installed; apt-get install notmuch)", flush=True)
    rng = random.Random(42)
    have = 0
    print(f"{'posts':>7} | {'reindex/s':>9} {'cores':>5} {'1 proc/s':>8} {'nm new/s':>9} | {'in-proc p50':>11} {'p95':>6} | "
          f"{'command p50':>11} {'p95':>6} | {'served p50':>10} {'p95':>6} | {'pass p50':>8} {'p95':>6} | "
          f"{'notmuch p50':>11} {'p95':>6} | served/pass p95")
    for size in sizes:
        if args.reuse:
            notmuch_rate = single = float("nan")
            index_rate, cores = reindex_rate(archive)
        else:
            add_posts(archive, connection, have, size - have, rng)
            notmuch_rate = notmuch_new(notmuch_config, size - have) if notmuch_config else None
            have = size
            single = reindex_rate(archive, workers=0)[0] if size <= args.single_up_to else None
            index_rate, cores = reindex_rate(archive)
        inside = bench_in_process(archive, connection, args.rounds)
        commands = [[executable, "--config", str(config_path), "search", query] for query in QUERIES]
        ours = command_times(commands, args.command_rounds)
        # The same commands while a warm searcher answers them, as while `serve` runs.
        server = SearchServer(config).start()
        try:
            served = command_times(commands, args.command_rounds)
        finally:
            server.stop()
        baseline = command_times([[sys.executable, "-c", "pass"]] * len(QUERIES), args.command_rounds)
        theirs = None
        if notmuch_config:
            theirs = command_times([["notmuch", f"--config={notmuch_config}", "search", "--limit=10", query] for query in NOTMUCH_QUERIES],
                                   args.command_rounds)
        print(f"{size:>7} | {index_rate:>9.0f} {cores:>5} {single if single else float('nan'):>8.0f} "
              f"{notmuch_rate if notmuch_rate else float('nan'):>9.0f} | "
              f"{inside['p50']:>9.1f}ms {inside['p95']:>4.1f}ms | {ours['p50']:>9.0f}ms {ours['p95']:>4.0f}ms | "
              f"{served['p50']:>8.0f}ms {served['p95']:>4.0f}ms | {baseline['p50']:>6.0f}ms {baseline['p95']:>4.0f}ms | "
              + (f"{theirs['p50']:>9.0f}ms {theirs['p95']:>4.0f}ms" if theirs else "    skipped")
              + f" | {served['p95'] / baseline['p95']:.1f}x", flush=True)
        print(f"          hits per query (akn-mail, top 10): {inside['hits']}", flush=True)
    connection.close()
    if not args.keep and args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
