"""The list service end to end: a real server, a real relay (aiosmtpd sink), smtplib clients."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from akn_mail import db as db_module
from akn_mail import message as message_module
from akn_mail.cli import cli
from akn_mail.delivery.queue import DeliveryQueue
from akn_mail.notices.held import HeldStore

from conftest import verp_of
from service_support import (WAIT, Relay, StaticResolver, ThreadedService, configure, load_roster, post, send,
                             wait_until)


@pytest.fixture
def relay():
    relay = Relay().start()
    yield relay
    relay.stop()


@pytest.fixture
def contacts(config):
    return load_roster(config)


@pytest.fixture
def service(config, relay, contacts):
    configure(config, relay)
    service = ThreadedService(config, resolver=StaticResolver()).start()
    yield service
    service.stop()


def received_rows(config):
    connection = db_module.connect(config.database_path)
    try:
        return [dict(row) for row in connection.execute("SELECT * FROM received ORDER BY id")]
    finally:
        connection.close()


def test_member_post_reaches_every_contact_with_the_list_headers(service, relay, contacts, config):
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
    assert sorted(relay.sink.wait_for(len(contacts))) == sorted(contacts)
    for mail_from, recipients, data in relay.sink.transactions:
        assert mail_from == verp_of(config, recipients[0])  # VERP
        headers = message_module.parse(data).message
        assert headers["Subject"] == "[AKN] Treffen im Mai"
        assert headers["List-Id"] == "Allianz für Klima und Nachhaltigkeit im Rhein-Kreis Neuss <akn.lists.example>"
        assert headers["List-Post"] == "<mailto:akn@lists.example>"
        assert headers["List-Unsubscribe"] == "<mailto:akn-request@lists.example?subject=unsubscribe>"
        assert headers["Precedence"] == "list"
        assert data.endswith(b"\r\n\r\nHallo zusammen,\r\nbis bald.\r\n")


def test_each_recipient_gets_the_post_exactly_once(service, relay, contacts):
    send(service.port, "klima@kaarst.example", ["akn@lists.example"], post(sender="klima@kaarst.example"))
    relay.sink.wait_for(len(contacts))
    time.sleep(0.3)  # give a (wrong) second copy the chance to show up
    recipients = relay.sink.recipients()
    assert len(recipients) == len(set(recipients)) == len(contacts)


def test_non_member_post_is_held_and_reaches_nobody_until_approved(service, relay, contacts, config):
    send(service.port, "offer@shop.example", ["akn@lists.example"],
         post(sender="offer@shop.example", message_id="<spam-1@shop.example>", subject="Angebot"))
    rows = wait_until(lambda: received_rows(config))
    assert rows[0]["action"] == "hold"
    assert rows[0]["reason"] == "offer@shop.example is not a contact on the roster"
    # No contact gets it; only its author may get the notice that it waits (post_held).
    assert set(relay.sink.recipients()) <= {"offer@shop.example"}

    connection = db_module.connect(config.database_path)
    held = HeldStore(connection, config)
    [entry] = held.entries()
    connection.close()
    assert entry["from"] == "offer@shop.example" and entry["subject"] == "Angebot"
    # The CLI, a separate process in real life, only hands the post back through the spool.
    approved = CliRunner().invoke(cli, ["--config", str(config.path), "held", "approve", str(entry["id"])])
    assert (approved.exit_code, approved.output) == (0, f"Approved {entry['id']}; the running service distributes it.\n")
    # Every contact gets it (the author also got the notice that it waited).
    delivered = relay.sink.wait_for(len(contacts) + 1)
    assert sorted(set(delivered) - {"offer@shop.example"}) == sorted(contacts)
    # The serve worker archived and indexed it: search finds it within seconds.
    found = wait_until(lambda: json.loads(CliRunner().invoke(
        cli, ["--config", str(config.path), "search", "Angebot", "--json"]).output or "[]"))
    assert [hit["message_id"] for hit in found] == ["spam-1@shop.example"]
    again = CliRunner().invoke(cli, ["--config", str(config.path), "held", "approve", str(entry["id"])])
    assert (again.exit_code, again.output) == (
        1, f"Error: held message {entry['id']} is already decided (approved); nothing to do.\n")
    rows = wait_until(lambda: [row for row in received_rows(config) if row["action"] == "accept"])
    assert rows[0]["message_id"] == "spam-1@shop.example"


def test_loop_auto_reply_and_bounce_are_never_fanned_out(service, relay, contacts, config):
    looped = post(message_id="<loop@dormagen.example>", extra="List-Id: AKN <akn.lists.example>\r\n")
    vacation = post(message_id="<vacation@dormagen.example>", subject="Abwesenheit",
                    extra="Auto-Submitted: auto-replied\r\n")
    bulk = post(message_id="<bulk@dormagen.example>", extra="Precedence: bulk\r\n")
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], looped)
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], vacation)
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], bulk)
    send(service.port, "", ["akn@lists.example"], post(message_id="<dsn@dormagen.example>"))
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post(message_id="<real@dormagen.example>"))
    relay.sink.wait_for(len(contacts))
    rows = wait_until(lambda: len(received_rows(config)) == 5 and received_rows(config))
    actions = {row["message_id"]: (row["action"], row["reason"]) for row in rows}
    assert actions["loop@dormagen.example"][0] == "discard"
    assert actions["vacation@dormagen.example"] == ("discard", "automatic mail: Auto-Submitted: auto-replied (RFC 3834)")
    assert actions["bulk@dormagen.example"] == ("discard", "automatic mail: Precedence: bulk")
    assert actions["dsn@dormagen.example"][1].startswith("automatic mail: null envelope sender")
    assert actions["real@dormagen.example"][0] == "accept"
    ids = {message_module.parse(data).message_id for _, _, data in relay.sink.transactions}
    assert ids == {"real@dormagen.example"}


def test_same_message_id_twice_is_distributed_once(service, relay, contacts, config):
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
    rows = wait_until(lambda: len(received_rows(config)) == 2 and received_rows(config))
    assert [row["action"] for row in rows] == ["accept", "discard"]
    assert rows[1]["reason"].startswith("duplicate: Message-ID <post-1@dormagen.example> was already distributed")
    relay.sink.wait_for(len(contacts))
    time.sleep(0.3)
    assert len(relay.sink.recipients()) == len(contacts)


def test_relay_outage_defers_and_delivers_once_it_is_back(config, contacts):
    relay = Relay()  # not started: the relay is down
    configure(config, relay)
    service = ThreadedService(config).start()
    try:
        send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
        connection = db_module.connect(config.database_path)
        queue = DeliveryQueue(connection, config)
        # Each sending connection records its own recipients: wait for all of them.
        wait_until(lambda: len([e for e in queue.entries() if e["status"] == "deferred"]) == len(contacts))
        deferred = [e for e in queue.entries() if e["status"] == "deferred"]
        assert len(deferred) == len(contacts)
        assert "cannot connect to relay" in deferred[0]["last_error"]
        assert relay.sink.recipients() == []
        relay.start()
        assert sorted(relay.sink.wait_for(len(contacts))) == sorted(contacts)
        wait_until(lambda: queue.counts().get("sent") == len(contacts))
        connection.close()
        time.sleep(0.3)
        assert len(relay.sink.recipients()) == len(contacts)
    finally:
        service.stop()
        relay.stop()


def test_permanent_refusal_is_recorded_per_recipient_for_bounce_scoring(service, relay, contacts, config):
    relay.sink.refuse["klima@kaarst.example"] = "550 5.1.1 <klima@kaarst.example>: user unknown"
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
    relay.sink.wait_for(len(contacts) - 1)
    connection = db_module.connect(config.database_path)
    queue = DeliveryQueue(connection, config)
    [failed] = wait_until(lambda: queue.entries("failed"))
    assert failed["to"] == "klima@kaarst.example"
    assert failed["last_code"] == 550
    failures = connection.execute("SELECT recipient, kind, code, message_id FROM delivery_failures").fetchall()
    assert [tuple(row) for row in failures] == [("klima@kaarst.example", "hard", 550, "post-1@dormagen.example")]
    connection.close()


def test_temporary_refusal_is_retried_and_not_resent_to_others(service, relay, contacts, config):
    relay.sink.refuse["klima@kaarst.example"] = "451 4.3.0 try again later"
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
    relay.sink.wait_for(len(contacts) - 1)
    connection = db_module.connect(config.database_path)
    queue = DeliveryQueue(connection, config)
    wait_until(lambda: queue.entries("deferred"))
    del relay.sink.refuse["klima@kaarst.example"]
    relay.sink.wait_for(len(contacts))
    wait_until(lambda: queue.counts().get("sent") == len(contacts))
    connection.close()
    recipients = relay.sink.recipients()
    assert sorted(recipients) == sorted(contacts)


def test_no_relay_writes_the_outbox_maildir(config, contacts):
    configure(config, None)
    service = ThreadedService(config).start()
    try:
        send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
        outbox = config.outbox_path / "new"
        files = wait_until(lambda: outbox.exists() and len(list(outbox.iterdir())) == len(contacts) and list(outbox.iterdir()))
    finally:
        service.stop()
    recipients = []
    for path in files:
        data = path.read_bytes()
        headers = message_module.parse(data).message
        recipients.append(headers["X-Original-To"])
        assert headers["Return-Path"] == f"<{verp_of(config, headers['X-Original-To'])}>"
        assert headers["Subject"] == "[AKN] Treffen im Mai"
    assert sorted(recipients) == sorted(contacts)


def test_a_dead_worker_is_replaced_and_nothing_is_lost(service, relay, contacts):
    import os
    import signal

    old = service.service.worker
    os.kill(old.pid, signal.SIGKILL)
    old.join(WAIT)
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
    assert sorted(relay.sink.wait_for(len(contacts))) == sorted(contacts)
    assert service.service.worker.pid != old.pid


def test_the_same_held_mail_twice_is_held_once(service, relay, contacts, config):
    spam = post(sender="offer@shop.example", message_id="<spam-2@shop.example>", subject="Angebot")
    send(service.port, "offer@shop.example", ["akn@lists.example"], spam)
    send(service.port, "offer@shop.example", ["akn@lists.example"], spam)
    rows = wait_until(lambda: len(received_rows(config)) == 2 and received_rows(config))
    assert [row["action"] for row in rows] == ["hold", "hold"]
    connection = db_module.connect(config.database_path)
    assert len(HeldStore(connection, config).entries()) == 1
    connection.close()


def without_message_id(body: str) -> bytes:
    return post(body=body).replace(b"Message-ID: <post-1@dormagen.example>\r\n", b"")


def test_posts_without_message_id_are_each_distributed_under_the_id_the_archive_keeps(service, relay, contacts, config):
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], without_message_id("Erste Nachricht\r\n"))
    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], without_message_id("Zweite Nachricht\r\n"))
    relay.sink.wait_for(2 * len(contacts))
    copies = relay.sink.messages_to("umwelt@grevenbroich.example")
    ids = [message_module.parse(copy).message_id for copy in copies]
    assert len(ids) == 2 and len(set(ids)) == 2 and all(ids)
    connection = db_module.connect(config.database_path)
    try:
        archived = {row["message_id"] for row in connection.execute("SELECT message_id FROM archived_messages")}
    finally:
        connection.close()
    assert set(ids) <= archived
