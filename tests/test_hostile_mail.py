"""No mail stays in the spool (issue 10): hostile structure is refused at DATA, anything that
still breaks processing is held with a German reason, and the machine's own trouble is retried.

Real components: the service's SMTP server and worker process, an aiosmtpd relay, smtplib,
SQLite files under tmp_path. The two parser-breaking mails live in tests/data/hostile/.
"""

from __future__ import annotations

import errno
import json
import logging
import smtplib
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from akn_mail import db as db_module
from akn_mail.cli import cli
from akn_mail.edge.spool import Entry, Spool
from akn_mail.pipeline.processor import Processor, is_transient
from akn_mail.services import Services

from service_support import (WAIT, Relay, StaticResolver, ThreadedService, configure, load_roster, post, send,
                             wait_until)

HOSTILE = Path(__file__).parent / "data" / "hostile"
NESTED_MULTIPART = (HOSTILE / "nested-multipart.eml").read_bytes()
NESTED_COMMENTS = (HOSTILE / "nested-comments.eml").read_bytes()
ADMIN = "admin@rhein-kreis-neuss.example"


@pytest.fixture
def relay():
    relay = Relay().start()
    yield relay
    relay.stop()


@pytest.fixture
def running(config, relay, tmp_path):
    load_roster(config)
    configure(config, relay)
    config.list.admins = [ADMIN]
    config.logging.file = str(tmp_path / "akn-mail.log")
    service = ThreadedService(config, resolver=StaticResolver(), setup_logging=True).start()
    yield service
    service.stop()


def held_json(config) -> list[dict]:
    result = CliRunner().invoke(cli, ["--config", str(config.path), "held", "list", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("raw, problem", [
    (NESTED_MULTIPART, "MIME parts nested deeper than 50 levels"),
    (NESTED_COMMENTS, "header comments nested deeper than 20 levels (content-type)"),
])
def test_parser_breaking_mail_is_refused_at_data_with_554(running, config, raw, problem):
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(running.port, "mallory@evil.example", ["akn@lists.example"], raw)
    assert refused.value.smtp_code == 554
    assert refused.value.smtp_error.decode() == (
        f"5.6.0 Message structure not accepted: {problem}; please send it flatter")
    assert Spool(config.spool_dir).segments() == []
    # A normal post right after it goes through as always.
    send(running.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())


def test_mail_that_breaks_processing_is_held_once_with_a_german_reason(running, relay, config, tmp_path):
    # As if accepted before the edge checked the structure (or by an older version):
    # written straight into the spool, where the worker finds it.
    Spool(config.spool_dir).write([Entry("mallory@evil.example", ["akn@lists.example"], "post", NESTED_COMMENTS)])
    # And one deeper than the parser copes with, accepted because the limit was raised.
    config_path = Path(config.path)
    config_path.write_text(config_path.read_text() + "\n[ingress]\nmax_mime_depth = 5000\n", encoding="utf-8")
    running.service.config.ingress.max_mime_depth = 5000
    send(running.port, "mallory@evil.example", ["akn@lists.example"], NESTED_MULTIPART)

    held = wait_until(lambda: len(held_json(config)) == 2 and held_json(config))
    by_id = {entry["message_id"]: entry for entry in held}
    assert set(by_id) == {"nested-comments@evil.example", "nested-multipart@evil.example"}
    for entry in held:
        assert entry["reason"].startswith("konnte nicht verarbeitet werden: RecursionError")
        assert entry["from"] == "mallory@evil.example" and entry["status"] == "held"
    # The admins are told once per mail (the moderation notice goes to them too).
    notices = wait_until(lambda: len(relay.sink.messages_to(ADMIN)) >= 2 and relay.sink.messages_to(ADMIN))
    assert len(notices) == 2
    assert Spool(config.spool_dir).segments() == []  # nothing stays in the spool
    log = (tmp_path / "akn-mail.log").read_text(encoding="utf-8")
    failed = [line for line in log.splitlines() if "processing_failed" in line]
    assert len(failed) == 2 and all("error=RecursionError" in line and "transient=no" in line for line in failed)
    assert "Traceback" not in log
    time.sleep(0.5)  # a (wrong) retry would show up as a second line or notice
    assert len(relay.sink.messages_to(ADMIN)) == 2


def test_database_locked_is_retried_with_back_off_and_logged_as_transient(config, caplog):
    load_roster(config)
    connection = db_module.connect(config.database_path)
    connection.execute("PRAGMA busy_timeout=50")
    spool = Spool(config.spool_dir)
    processor = Processor(Services(config, connection, resolver=StaticResolver()), spool)
    processor.retry_seconds = 0.05
    name = spool.write([Entry("klimaschutz@dormagen.example", ["akn@lists.example"], "post", post())])
    blocker = sqlite3.connect(config.database_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    with caplog.at_level(logging.WARNING, logger="akn_mail.processor"):
        assert processor.submit(name)
        processor.drain()
    [line] = [record.getMessage() for record in caplog.records if "processing_deferred" in record.getMessage()]
    assert "transient=yes" in line and "error=OperationalError" in line and "retry_in=0.05s" in line
    assert spool.segments() == [name]
    assert connection.execute("SELECT count(*) FROM held").fetchone()[0] == 0
    blocker.execute("ROLLBACK")
    blocker.close()
    entries = processor.inbox.get(timeout=WAIT)  # the back-off timer hands the segment back
    processor.process_segment(entries)
    assert spool.segments() == []
    assert connection.execute("SELECT action FROM received").fetchone()[0] == "accept"


def test_disk_full_and_locked_database_are_transient_bad_mail_is_not():
    assert is_transient(OSError(errno.ENOSPC, "No space left on device"))
    assert is_transient(sqlite3.OperationalError("database is locked"))
    assert not is_transient(RecursionError("maximum recursion depth exceeded"))
    assert not is_transient(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))
    assert not is_transient(OSError(errno.ENOENT, "No such file"))
