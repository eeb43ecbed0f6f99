"""archive export --mbox writes mboxrd that other programs read; archive import reads mboxrd and mboxo.

The export is read back with Python's ``mailbox`` (every message byte for byte, also lines
that start with "From " or ">From " and CRLF line ends as received over SMTP) and with
Debian's mutt in batch mode (under ``script`` for the terminal mutt insists on): mutt finds
every message at its dated separator and pipes back the same lines.
"""

from __future__ import annotations

import mailbox
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from akn_mail.archive.exporting import mboxrd_quote, mboxrd_unquote
from akn_mail.archive.filing import Archive
from akn_mail.cli import cli

from archive_support import mail, setup_roster

MUTT = shutil.which("mutt")
SCRIPT = shutil.which("script")

TRICKY_BODY = "Liebe Alle,\nFrom now on we meet in Kaarst.\n>From the minutes:\n>>From Jüchen\nGruß\n"
CRLF_POST = (
    b"From: Petra H\xc3\xbclsmann <klimaschutz@dormagen.example>\r\n"
    b"To: akn@lists.example\r\nSubject: Treffen\r\nMessage-ID: <crlf-1@dormagen.example>\r\n"
    b"Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    b"Hallo,\r\nFrom Dormagen aus gr\xc3\xbc\xc3\x9fen wir.\r\n\r\n"
)


def run(config_file: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config_file), *args], catch_exceptions=False)


@pytest.fixture
def archived(config, database):
    """Three archived messages, in date order, and their bytes as stored."""
    setup_roster(database, start="2024-Q1")
    archive = Archive(config, database)
    raws = [
        mail("Radverkehr", TRICKY_BODY, sender="anna@dormagen.example", date="2024-10-01", message_id="tricky@dormagen.example"),
        CRLF_POST,
        mail("[Protokoll] Sitzung 2024-Q3", "TOP 1 Wärmeplanung", sender="clara@juechen.example", date="2026-12-01",
             message_id="protokoll@juechen.example"),
    ]
    for raw in raws:
        archive.file(raw)
    return raws


def test_export_is_mboxrd_with_dated_separators(archived, config_file, tmp_path):
    box = tmp_path / "archiv.mbox"
    result = run(config_file, "archive", "export", "--mbox", str(box))
    assert (result.exit_code, result.output) == (0, f"Wrote 3 messages to {box}.\n")
    data = box.read_bytes()
    separators = [line for line in data.split(b"\n") if line.startswith(b"From ")]
    assert separators == [
        b"From anna@dormagen.example Tue Oct  1 09:00:00 2024",
        b"From klimaschutz@dormagen.example Wed Nov 25 09:00:00 2026",
        b"From clara@juechen.example Tue Dec  1 09:00:00 2026",
    ]
    assert b"\r\n>From now on we meet in Kaarst.\r\n>>From the minutes:\r\n>>>From J" in data
    assert b"\r\n>From Dormagen aus" in data


def test_python_mailbox_reads_every_message_back_byte_for_byte(archived, config_file, tmp_path):
    box = tmp_path / "archiv.mbox"
    run(config_file, "archive", "export", "--mbox", str(box))
    read = [mboxrd_unquote(message) for message in (mailbox.mbox(str(box)).get_bytes(key) for key in mailbox.mbox(str(box)).keys())]
    assert read == archived


@pytest.mark.skipif(MUTT is None or SCRIPT is None,
                    reason="Debian's mutt (and util-linux script) not installed; .ci/run installs them with apt-get")
def test_mutt_reads_every_message_back_byte_for_byte(archived, config_file, tmp_path):
    box = tmp_path / "archiv.mbox"
    run(config_file, "archive", "export", "--mbox", str(box))
    out = tmp_path / "piped"
    out.mkdir()
    saver = tmp_path / "save-one"
    # mutt pipes each tagged message (with its separator line) to this, one after another.
    saver.write_text('#!/bin/sh\nn=$(ls "$OUT" | wc -l)\ncat > "$OUT/$(printf %04d "$n")"\n', encoding="utf-8")
    saver.chmod(0o755)
    muttrc = tmp_path / "muttrc"
    muttrc.write_text(
        "set pipe_split=yes\nset pipe_decode=no\nset wait_key=no\nset mbox_type=mbox\nset sort=mailbox-order\n"
        "set quit=yes\nset move=no\nset mark_old=no\nunset header_cache\n"
        f'set folder="{tmp_path}"\nset spoolfile="{box}"\n'  # else mutt asks to create ~/Mail
        f'push "<tag-pattern>~A<enter><tag-prefix><pipe-message>{saver}<enter><quit>"\n',
        encoding="utf-8",
    )
    environment = {**os.environ, "OUT": str(out), "TERM": "vt100", "HOME": str(tmp_path), "LC_ALL": "C.UTF-8"}
    # Batch mode: the commands come from the muttrc; script gives mutt the terminal it needs.
    subprocess.run([SCRIPT, "-qec", f"{MUTT} -n -F {muttrc} -R -f {box}", "/dev/null"],
                   env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60, check=True)
    piped = [path.read_bytes() for path in sorted(out.iterdir())]
    assert len(piped) == 3, "mutt did not see three messages: its separators were not accepted"
    for message, original in zip(piped, archived):
        separator, _, content = message.partition(b"\n")
        assert separator.startswith(b"From ")
        # mutt copies the header lines and body as stored, but writes the empty line between
        # them itself (a bare LF) and counts the body of a CRLF message one byte long; so
        # compare line by line. Python's mailbox above checks the exact bytes.
        assert lines(mboxrd_unquote(content)) == lines(original)


def lines(raw: bytes) -> list[bytes]:
    return raw.replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")


def test_import_reads_mboxo_and_mboxrd(config_file, tmp_path):
    body = b"Subject: Alt\nFrom: a@kaarst.example\nMessage-ID: <alt-1@kaarst.example>\nDate: Mon, 1 Jan 2024 10:00:00 +0100\n\nText\nFrom Kaarst\n>From zitiert\n"
    # mboxo quotes only "From " lines; mboxrd quotes ">From " lines too.
    mboxo = b"From a@kaarst.example Mon Jan  1 09:00:00 2024\n" + body.replace(b"\nFrom Kaarst", b"\n>From Kaarst") + b"\n"
    mboxrd = b"From a@kaarst.example Mon Jan  1 09:00:00 2024\n" + mboxrd_quote(body) + b"\n"
    for name, data, expected in (
        ("o.mbox", mboxo, body.replace(b">From zitiert", b"From zitiert")),  # mboxo is lossy here
        ("rd.mbox", mboxrd, body),
    ):
        (tmp_path / name).write_bytes(data)
        home = tmp_path / name.replace(".", "-")
        home.mkdir()
        (home / "akn-mail.toml").write_text('[storage]\ndata_dir = "data"\n', encoding="utf-8")
        result = run(home / "akn-mail.toml", "archive", "import", str(tmp_path / name))
        assert result.stdout.splitlines()[0] == "Imported 1 message (0 minutes).", result.output
        stored = list((home / "data" / "maildir" / "cur").iterdir())
        assert [path.read_bytes() for path in stored] == [expected]


def test_quoting_round_trip():
    raw = b"a\nFrom x\n>From y\n>>From z\nFromage\n From\n"
    assert mboxrd_quote(raw) == b"a\n>From x\n>>From y\n>>>From z\nFromage\n From\n"
    assert mboxrd_unquote(mboxrd_quote(raw)) == raw
    assert re.search(rb"^From ", mboxrd_quote(raw), re.MULTILINE) is None
