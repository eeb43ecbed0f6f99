"""Measure akn-mail backup, backup --verify and restore against baselines in the same run.

Builds a data directory with N archived posts (default 2000, German text, some with a PDF),
then times:
  tar czf (baseline)   the same files with GNU tar and gzip, no manifest, no SQLite backup API
  backup               akn_mail.records.backup.create
  backup --verify      reading the archive again and checking every checksum and the database
  reindex (baseline)   rebuilding the search index of the original (what restore must do)
  restore              verify + write the files + rebuild the index
Run:  .venv/bin/python bench/backup.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import datetime
import email.utils
import shutil
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from akn_mail import config as config_module  # noqa: E402
from akn_mail import db as db_module  # noqa: E402
from akn_mail.archive.filing import Archive  # noqa: E402
from akn_mail.archive.store import Maildir  # noqa: E402
from akn_mail.records import backup  # noqa: E402

WORDS = ("Wärmeplanung Radverkehr Förderprogramm Klimaanpassung Photovoltaik Quartierskonzept "
         "Energieberatung Starkregen Hitzeschutz Ladeinfrastruktur Sitzung Protokoll Beschluss").split()


def message(number: int) -> bytes:
    post = EmailMessage()
    post["From"] = f"Kontakt {number % 12} <kontakt{number % 12}@kommune{number % 9}.example>"
    post["To"] = "akn@lists.example"
    post["Subject"] = f"{WORDS[number % len(WORDS)]} – Beitrag {number}"
    post["Date"] = email.utils.format_datetime(
        datetime.datetime(2020, 1, 1, 10, tzinfo=datetime.timezone.utc) + datetime.timedelta(hours=number * 7))
    post["Message-ID"] = f"<bench-{number}@akn.example>"
    text = " ".join(WORDS[(number + k) % len(WORDS)] for k in range(300))
    post.set_content(f"Liebe Alle,\n\n{text}\n\nViele Grüße\n")
    return post.as_bytes()


def timed(label: str, action, results: list) -> object:
    start = time.perf_counter()
    value = action()
    results.append((label, time.perf_counter() - start))
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="akn-bench-backup-"))
    try:
        (work / "akn-mail.toml").write_text('[storage]\ndata_dir = "data"\n', encoding="utf-8")
        config = config_module.load(work / "akn-mail.toml", environ={})
        connection = db_module.connect(config.database_path)
        maildir = Maildir(config.maildir_path)
        for number in range(arguments.messages):
            maildir.add(message(number))
        archive = Archive(config, connection)
        archive.reindex()  # files metadata and builds the index: the installation to back up
        data_bytes = sum(path.stat().st_size for path in config.data_dir.rglob("*")
                         if path.is_file() and "index" not in path.parts)
        results: list = []
        timed("tar czf (baseline)", lambda: subprocess.run(
            ["tar", "-C", str(config.data_dir), "-czf", str(work / "baseline.tar.gz"), "--exclude=./index", "."],
            check=True), results)
        timed("backup", lambda: backup.create(config, work / "backup.tar.gz"), results)
        timed("backup --verify", lambda: backup.verify(work / "backup.tar.gz"), results)
        timed("reindex (baseline)", lambda: archive.reindex(), results)
        timed("restore", lambda: backup.restore(work / "backup.tar.gz", work / "restored"), results)
        connection.close()
        print(f"{arguments.messages} archived messages, {data_bytes / 1e6:.1f} MB of data (index excluded); "
              f"backup file {(work / 'backup.tar.gz').stat().st_size / 1e6:.1f} MB, "
              f"tar baseline {(work / 'baseline.tar.gz').stat().st_size / 1e6:.1f} MB")
        for label, seconds in results:
            print(f"  {label:<20} {seconds:7.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
