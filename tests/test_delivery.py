"""Delivery: the queue, VERP/XVERP, batches, and crash safety with a real `akn-mail serve` process."""

from __future__ import annotations

import re
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from akn_mail import db as db_module
from akn_mail.delivery.deliverer import Deliverer
from akn_mail.delivery.queue import DeliveryQueue

from conftest import free_port, verp_of
from service_support import WAIT, Relay, load_roster, post, send


@pytest.fixture
def relay():
    relay = Relay().start()
    yield relay
    relay.stop()


def test_verp_address_names_the_recipient_with_a_check_code(config):
    address = verp_of(config, "anna@dormagen.example")
    assert re.fullmatch(r"akn-bounces\+[0-9a-f]{10}\+anna=dormagen\.example@lists\.example", address), address


def queue_with(config, database, recipients, **enqueue_args):
    queue = DeliveryQueue(database, config)
    queue.enqueue(post(), recipients, message_id="<q1@dormagen.example>", **enqueue_args)
    return queue


def use_relay(config, relay):
    config.relay.host = "127.0.0.1"
    config.relay.port = relay.port
    config.relay.timeout = 5


def test_verp_off_sends_batches_with_the_plain_bounce_address(config, database, relay):
    use_relay(config, relay)
    config.delivery.verp = "off"
    config.delivery.batch_size = 3
    config.delivery.connections = 1
    recipients = [f"r{n}@x.example" for n in range(7)]
    queue = queue_with(config, database, recipients)
    assert Deliverer(queue, config).deliver_due() == 7
    assert [len(rcpts) for _, rcpts, _ in relay.sink.transactions] == [3, 3, 1]
    assert {sender for sender, _, _ in relay.sink.transactions} == {"akn-bounces@lists.example"}
    assert queue.counts() == {"sent": 7}


def test_verp_on_sends_one_transaction_per_recipient(config, database, relay):
    use_relay(config, relay)
    config.delivery.verp = "on"
    queue = queue_with(config, database, ["anna@dormagen.example", "bob@kaarst.example"])
    Deliverer(queue, config).deliver_due()
    assert sorted(((sender, tuple(rcpts)) for sender, rcpts, _ in relay.sink.transactions), key=lambda t: t[1]) == [
        (verp_of(config, "anna@dormagen.example"), ("anna@dormagen.example",)),
        (verp_of(config, "bob@kaarst.example"), ("bob@kaarst.example",)),
    ]


class XverpSink:
    """A relay that offers XVERP (as Postfix does) and records the MAIL parameters."""

    def __init__(self):
        self.transactions = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses[:-1] + ["250-XVERP", responses[-1]]

    async def handle_DATA(self, server, session, envelope):
        options = ["XVERP"] if getattr(session, "xverp", False) else []
        self.transactions.append((envelope.mail_from, options, list(envelope.rcpt_tos)))
        return "250 OK"


def xverp_controller(sink: XverpSink):
    """aiosmtpd does not know XVERP; this server takes the parameter off and remembers it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    class XverpSMTP(SMTP):
        async def smtp_MAIL(self, arg):
            if arg and arg.upper().endswith(" XVERP"):
                arg = arg[: -len(" XVERP")]
                self.session.xverp = True
            await super().smtp_MAIL(arg)

    class XverpController(Controller):
        def factory(self):
            return XverpSMTP(self.handler, hostname="relay.localhost")

    return XverpController(sink, hostname="127.0.0.1", port=free_port())


def test_verp_auto_uses_the_relays_xverp_and_keeps_batches(config, database):
    sink = XverpSink()
    controller = xverp_controller(sink)
    controller.start()
    try:
        config.relay.host, config.relay.port = "127.0.0.1", controller.port
        config.delivery.verp = "auto"
        config.delivery.connections = 1
        queue = queue_with(config, database, ["anna@dormagen.example", "bob@kaarst.example"])
        Deliverer(queue, config).deliver_due()
    finally:
        controller.stop()
    [(sender, options, recipients)] = sink.transactions
    assert (options, recipients) == (["XVERP"], ["anna@dormagen.example", "bob@kaarst.example"])
    # Postfix appends +anna=dormagen.example to our local part: it carries the signed outbound id.
    [outbound_id] = [row[0] for row in database.execute("SELECT id FROM outbound")]
    assert re.fullmatch(rf"akn-bounces\+m{outbound_id}\.[0-9a-f]{{10}}@lists\.example", sender), sender
    local, _, domain = sender.partition("@")
    from akn_mail.delivery import verp

    assert verp.check(verp.load_key(config), config.bounce_address, f"{local}+anna=dormagen.example@{domain}") == \
        verp.Verp("anna@dormagen.example", outbound_id)


def test_explicit_sender_is_used_as_is(config, database, relay):
    use_relay(config, relay)
    queue = queue_with(config, database, ["anna@dormagen.example"], sender="akn-owner@lists.example", kind="notice")
    Deliverer(queue, config).deliver_due()
    assert relay.sink.transactions[0][0] == "akn-owner@lists.example"


def test_temporary_failures_back_off_and_expire_into_a_failure_record(config, database):
    config.relay.host, config.relay.port = "127.0.0.1", free_port()  # nobody listens
    config.relay.timeout = 2
    config.delivery.first_retry_seconds = 60
    config.delivery.retry_for_hours = 0
    queue = queue_with(config, database, ["anna@dormagen.example"])
    Deliverer(queue, config).deliver_due()
    [entry] = queue.entries()
    assert entry["status"] == "expired" and "cannot connect to relay" in entry["last_error"]
    row = database.execute("SELECT recipient, kind FROM delivery_failures").fetchone()
    assert tuple(row) == ("anna@dormagen.example", "expired")


def test_deferred_delivery_waits_for_its_backoff(config, database):
    config.relay.host, config.relay.port = "127.0.0.1", free_port()
    config.relay.timeout = 2
    config.delivery.first_retry_seconds = 60
    queue = queue_with(config, database, ["anna@dormagen.example"])
    deliverer = Deliverer(queue, config)
    assert deliverer.deliver_due() == 1
    [entry] = queue.entries()
    assert entry["status"] == "deferred" and entry["attempts"] == 1
    assert deliverer.deliver_due() == 0  # not due yet
    assert queue.retry() == 1
    assert deliverer.deliver_due() == 1


# --- a real `akn-mail serve` process, killed with SIGKILL ------------------------------

def write_config(tmp_path, port: int, relay_port: int):
    path = tmp_path / "serve.toml"
    path.write_text(
        "[storage]\ndata_dir = \"data\"\n"
        f"[ingress]\nhost = \"127.0.0.1\"\nport = {port}\n"
        f"[relay]\nhost = \"127.0.0.1\"\nport = {relay_port}\ntimeout = 5\n"
        "[delivery]\npoll_seconds = 0.1\nfirst_retry_seconds = 1\nmax_retry_seconds = 1\n"
        "[list]\ndmarc_rewrite = \"never\"\n",
        encoding="utf-8",
    )
    return path


def start_serve(config_path, port: int) -> subprocess.Popen:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AKN_MAIL_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "akn_mail", "--config", str(config_path), "serve"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment,
    )
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stdout.read().decode())
            time.sleep(0.05)
    process.kill()
    raise AssertionError("akn-mail serve did not start listening")


def kill_hard(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(WAIT)


def test_kill_9_after_250_delivers_after_restart(tmp_path, config):
    contacts = load_roster(config)
    relay = Relay()  # down: the message must survive in the spool/queue
    port = free_port()
    config_path = write_config(tmp_path, port, relay.port)
    process = start_serve(config_path, port)
    send(port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
    kill_hard(process)  # right after the 250
    relay.start()
    process = start_serve(config_path, port)
    try:
        assert sorted(relay.sink.wait_for(len(contacts))) == sorted(contacts)
        time.sleep(0.5)
        assert sorted(relay.sink.recipients()) == sorted(contacts)
    finally:
        process.terminate()
        process.wait(WAIT)
        relay.stop()


def test_kill_9_mid_delivery_never_sends_anyone_twice(tmp_path, config):
    contacts = load_roster(config)
    relay = Relay().start()
    late = contacts[:4]
    for address in late:  # these wait (4xx) while the others get the post
        relay.sink.refuse[address] = "451 4.3.0 try later"
    port = free_port()
    config_path = write_config(tmp_path, port, relay.port)
    process = start_serve(config_path, port)
    try:
        send(port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
        relay.sink.wait_for(len(contacts) - len(late))
        connection = db_module.connect(config.database_path)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            counts = DeliveryQueue(connection, config).counts()
            if counts.get("sent") == len(contacts) - len(late) and counts.get("deferred") == len(late):
                break
            time.sleep(0.05)
        connection.close()
        kill_hard(process)
        relay.sink.refuse.clear()
        process = start_serve(config_path, port)
        relay.sink.wait_for(len(contacts))
        time.sleep(0.5)
        recipients = relay.sink.recipients()
        assert sorted(recipients) == sorted(contacts)  # everyone once, nobody twice
    finally:
        process.terminate()
        process.wait(WAIT)
        relay.stop()


def test_sigterm_stops_cleanly_and_says_where_mail_goes(tmp_path, config):
    port = free_port()
    path = tmp_path / "outbox.toml"
    path.write_text(f"[storage]\ndata_dir = \"data\"\n[ingress]\nhost = \"127.0.0.1\"\nport = {port}\n", encoding="utf-8")
    process = start_serve(path, port)
    process.send_signal(signal.SIGTERM)
    assert process.wait(WAIT) == 0
    output = process.stdout.read().decode()
    outbox = tmp_path / "data" / "outbox"
    assert f"no relay configured ([relay] host is empty); outbound mail is written to the Maildir {outbox}" in output
    assert "stopped" in output


def test_pipelined_transactions_keep_per_recipient_results(config, database):
    """A relay offering PIPELINING gets MAIL/RCPT/DATA in one write; refusals stay per recipient."""
    from aiosmtpd.controller import Controller

    from service_support import Sink

    class PipeliningSink(Sink):
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            return responses[:-1] + ["250-PIPELINING", responses[-1]]

    sink = PipeliningSink()
    sink.refuse["gone@kaarst.example"] = "550 5.1.1 <gone@kaarst.example>: user unknown"
    sink.refuse["later@kaarst.example"] = "451 4.3.0 try later"
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), server_hostname="relay.localhost")
    controller.start()
    try:
        config.relay.host, config.relay.port = "127.0.0.1", controller.port
        config.delivery.verp = "off"
        config.delivery.connections = 1
        queue = queue_with(config, database, ["anna@dormagen.example", "gone@kaarst.example", "later@kaarst.example",
                                              "bob@kaarst.example"])
        Deliverer(queue, config).deliver_due()
    finally:
        controller.stop()
    assert sink.transactions[0][1] == ["anna@dormagen.example", "bob@kaarst.example"]
    assert sink.transactions[0][2] == post()  # the message arrives byte for byte
    statuses = {entry["to"]: (entry["status"], entry["last_code"]) for entry in queue.entries(include_sent=True)}
    assert statuses == {
        "anna@dormagen.example": ("sent", 250), "bob@kaarst.example": ("sent", 250),
        "gone@kaarst.example": ("failed", 550), "later@kaarst.example": ("deferred", 451),
    }


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_relay_auth_takes_the_password_from_the_environment(config, database, monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from service_support import Sink

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"geheim")

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), server_hostname="relay.localhost",
                            authenticator=authenticator, auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        config.relay.host, config.relay.port = "127.0.0.1", controller.port
        config.relay.username = "akn"
        config.relay.password_env = "AKN_TEST_RELAY_PASSWORD"
        monkeypatch.delenv("AKN_TEST_RELAY_PASSWORD", raising=False)
        queue = queue_with(config, database, ["anna@dormagen.example"])
        Deliverer(queue, config).deliver_due()
        [entry] = queue.entries()
        assert entry["status"] == "deferred"
        assert entry["last_error"] == ("[relay] username is set but the environment variable "
                                       "AKN_TEST_RELAY_PASSWORD is not; put the relay password there")
        monkeypatch.setenv("AKN_TEST_RELAY_PASSWORD", "geheim")
        queue.retry()
        Deliverer(queue, config).deliver_due()
    finally:
        controller.stop()
    assert logins == [(b"akn", b"geheim")]
    assert sink.recipients() == ["anna@dormagen.example"]


def test_sigterm_during_fan_out_requeues_what_was_not_sent(tmp_path, config):
    contacts = load_roster(config)
    relay = Relay().start()
    relay.sink.delay = 0.3  # a slow relay: the fan-out takes a few seconds
    port = free_port()
    config_path = write_config(tmp_path, port, relay.port)
    text = config_path.read_text(encoding="utf-8").replace("[delivery]\n", "[delivery]\nconnections = 1\n")
    config_path.write_text(text, encoding="utf-8")
    process = start_serve(config_path, port)
    try:
        send(port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
        relay.sink.wait_for(1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT) == 0
        delivered = relay.sink.recipients()
        assert 1 <= len(delivered) < len(contacts)
        connection = db_module.connect(config.database_path)
        counts = DeliveryQueue(connection, config).counts()
        connection.close()
        assert counts == {"sent": len(delivered), "pending": len(contacts) - len(delivered)}
        relay.sink.delay = 0
        process = start_serve(config_path, port)
        relay.sink.wait_for(len(contacts))
        time.sleep(0.3)
        assert sorted(relay.sink.recipients()) == sorted(contacts)
    finally:
        process.terminate()
        process.wait(WAIT)
        relay.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is needed to make a test certificate")
def test_relay_starttls_verifies_the_relay_certificate(config, database, tmp_path, monkeypatch):
    import ssl

    from aiosmtpd.controller import Controller

    from service_support import Sink

    key, certificate = tmp_path / "relay.key", tmp_path / "relay.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), server_hostname="relay.localhost",
                            tls_context=context, require_starttls=True)
    controller.start()
    try:
        config.relay.host, config.relay.port, config.relay.starttls = "127.0.0.1", controller.port, True
        queue = queue_with(config, database, ["anna@dormagen.example"])
        # Not trusted yet: the delivery waits instead of going out unprotected.
        Deliverer(queue, config).deliver_due()
        [entry] = queue.entries()
        assert entry["status"] == "deferred" and "CERTIFICATE_VERIFY_FAILED" in entry["last_error"]
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # the system trust store, for this test
        queue.retry()
        Deliverer(queue, config).deliver_due()
    finally:
        controller.stop()
    assert sink.recipients() == ["anna@dormagen.example"]


def test_a_relay_that_is_down_is_asked_once_per_round(config, database):
    """A relay that hangs up at once: one connection attempt per round, not one per batch."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    attempts = []

    def hang_up():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            attempts.append(1)
            connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    config.relay.host, config.relay.port = "127.0.0.1", listener.getsockname()[1]
    config.relay.timeout = 2
    config.delivery.verp = "off"
    config.delivery.batch_size = 2
    config.delivery.connections = 1
    queue = queue_with(config, database, [f"r{n}@x.example" for n in range(10)])
    try:
        Deliverer(queue, config).deliver_due()
    finally:
        listener.close()
    assert len(attempts) == 1
    assert queue.counts() == {"deferred": 10}
    assert "cannot connect to relay" in queue.entries()[0]["last_error"]


def test_a_refused_envelope_sender_is_retried_not_counted_as_a_bounce(config, database, relay):
    use_relay(config, relay)
    config.delivery.verp = "off"

    async def refuse_sender(server, session, envelope, address, mail_options):
        return "553 5.7.1 <akn-bounces@lists.example>: Sender address rejected: not owned by user"

    relay.sink.handle_MAIL = refuse_sender
    queue = queue_with(config, database, ["anna@dormagen.example"])
    Deliverer(queue, config).deliver_due()
    [entry] = queue.entries()
    assert entry["status"] == "deferred"
    assert entry["last_error"] == ("the relay refused the envelope sender: 553 5.7.1 <akn-bounces@lists.example>: "
                                   "Sender address rejected: not owned by user")
    assert database.execute("SELECT count(*) FROM delivery_failures").fetchone()[0] == 0


def test_a_sent_row_is_never_changed_by_a_later_failure(config, database):
    from akn_mail.delivery.deliverer import Result

    queue = queue_with(config, database, ["anna@dormagen.example"])
    [entry] = queue.entries()
    queue.record([Result(entry["id"], "anna@dormagen.example", 250, "ok")])
    queue.record([Result(entry["id"], "anna@dormagen.example", 550, "late error")])
    queue.record([Result(entry["id"], "anna@dormagen.example", None, "connection lost")])
    assert queue.entries(include_sent=True)[0]["status"] == "sent"
    assert database.execute("SELECT count(*) FROM delivery_failures").fetchone()[0] == 0
