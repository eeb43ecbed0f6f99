"""[retention]: what outlived its lifetime is removed (by the serve worker, daily); the archive stays."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from akn_mail import config as config_module
from akn_mail import db as db_module
from akn_mail.archive.filing import Archive
from akn_mail.cli import cli
from akn_mail.config import ConfigError
from akn_mail.delivery.queue import DeliveryQueue, Result
from akn_mail.notices.held import HeldStore
from akn_mail.records import retention

from archive_support import mail, setup_roster
from service_support import StaticResolver, ThreadedService, configure

DAY = 86400


@pytest.fixture
def records(config, database):
    """A sent post, a post still waiting for one recipient, decided and waiting held mail,
    bounce events, an open and a done task, and an archived post."""
    setup_roster(database, start="2024-Q1")
    queue = DeliveryQueue(database, config)
    sent = queue.enqueue(b"Subject: sent\r\n\r\nalt\r\n", ["a@kaarst.example", "b@kaarst.example"], message_id="sent@x")
    waiting = queue.enqueue(b"Subject: waiting\r\n\r\nalt\r\n", ["a@kaarst.example", "b@kaarst.example"], message_id="wait@x")
    rows = {row["recipient"] + str(row["outbound_id"]): row["id"]
            for row in database.execute("SELECT id, recipient, outbound_id FROM deliveries")}
    queue.record([Result(rows[f"a@kaarst.example{sent}"], "a@kaarst.example", 250, "ok"),
                  Result(rows[f"b@kaarst.example{sent}"], "b@kaarst.example", 550, "no such user"),
                  Result(rows[f"a@kaarst.example{waiting}"], "a@kaarst.example", 250, "ok")])
    held = HeldStore(database, config)
    decided = held.hold(b"Subject: spam\r\n\r\nx\r\n", reason="not a contact", message_id="spam@x", from_address="s@spam.example")
    held.discard(decided, "spam")
    held.hold(b"Subject: open\r\n\r\nx\r\n", reason="not a contact", message_id="open@x", from_address="o@x.example")
    database.execute("INSERT INTO bounce_events (email, kind, weight, source) VALUES ('b@kaarst.example', 'permanent', 1, 'relay')")
    database.execute("INSERT INTO admin_tasks (kind, requester, done_at) VALUES ('unsubscribe', 'c@x.example', '2026-01-01T00:00:00Z')")
    database.execute("INSERT INTO admin_tasks (kind, requester) VALUES ('unsubscribe', 'd@x.example')")
    Archive(config, database).file(mail("Radverkehr", "Radwege", date="2024-10-01", message_id="post@dormagen.example"))
    return {"sent": sent, "waiting": waiting}


def test_nothing_is_removed_before_its_lifetime(records, config, database):
    assert set(retention.enforce(config, database).values()) == {0}


def test_after_their_lifetime_records_go_but_the_archive_and_open_work_stay(records, config, database):
    held_files = len(list((config.data_dir / "held").iterdir()))
    removed = retention.enforce(config, database, now=time.time() + 400 * DAY)
    assert removed["delivered_bodies_days"] == 1  # the post still waiting for b@ keeps its copy
    assert removed["held_decided_days"] == 1 and removed["done_tasks_days"] == 1
    assert removed["bounce_events_days"] == 1
    bodies = dict(database.execute("SELECT message_id, length(body) FROM outbound").fetchall())
    assert bodies == {"wait@x": len(b"Subject: waiting\r\n\r\nalt\r\n")}  # sent@x: emptied, then its log removed
    assert [row[0] for row in database.execute("SELECT status FROM deliveries")] == ["pending"]
    assert [row[0] for row in database.execute("SELECT status FROM held")] == ["held"]
    assert len(list((config.data_dir / "held").iterdir())) == held_files - 1
    assert [row[0] for row in database.execute("SELECT requester FROM admin_tasks")] == ["d@x.example"]
    assert database.execute("SELECT count(*) FROM archived_messages").fetchone()[0] == 1
    assert len(list((config.maildir_path / "cur").iterdir())) == 1


def test_zero_keeps_for_ever(records, config, database):
    config.retention.bounce_events_days = 0
    removed = retention.enforce(config, database, now=time.time() + 4000 * DAY)
    assert "bounce_events_days" not in removed
    assert database.execute("SELECT count(*) FROM bounce_events").fetchone()[0] == 1


def test_bounce_lifetime_shorter_than_scoring_needs_is_refused(tmp_path):
    path = tmp_path / "akn.toml"
    path.write_text("[retention]\nbounce_events_days = 7\n[bounces]\ndecay_days = 14\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[retention\] bounce_events_days \(7\) must be at least \[bounces\] decay_days \(14\)"):
        config_module.load(path, environ={})


def test_doctor_shows_what_is_kept_and_warns_about_overdue_records(records, config, config_file, database):
    result = CliRunner().invoke(cli, ["--config", str(config_file), "doctor", "--no-dns", "--json"])
    check = next(check for check in json.loads(result.output)["checks"] if check["name"] == "retention")
    assert check["status"] == "ok"
    assert check["detail"].startswith("kept: 2 copies of sent mail (")
    assert "1 decided held mail (" in check["detail"] and ", 90 days)" in check["detail"]
    assert check["detail"].endswith("; archive 1 messages (" + check["detail"].rsplit("(", 1)[1])
    assert "for ever)" in check["detail"]
    database.execute("UPDATE bounce_events SET received_at = '2020-01-01T00:00:00Z'")
    result = CliRunner().invoke(cli, ["--config", str(config_file), "doctor", "--no-dns", "--json"])
    check = next(check for check in json.loads(result.output)["checks"] if check["name"] == "retention")
    assert check["status"] == "warn" and check["detail"].startswith("1 records are older than their [retention] lifetime")


def test_the_serve_worker_enforces_retention(records, config, database):
    database.execute("UPDATE bounce_events SET received_at = '2020-01-01T00:00:00Z'")
    configure(config, None)
    service = ThreadedService(config, resolver=StaticResolver()).start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and old_events(database):
            time.sleep(0.05)
    finally:
        service.stop()
    assert old_events(database) == 0


def old_events(database) -> int:
    return database.execute("SELECT count(*) FROM bounce_events WHERE received_at < '2021-01-01'").fetchone()[0]
