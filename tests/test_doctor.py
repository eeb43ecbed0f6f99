"""``akn-mail doctor``: real files, a real aiosmtpd relay and a real DNS server on loopback."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading

import dns.message
import dns.rdatatype
import dns.resolver
import dns.rrset
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from akn_mail.domains import reserved_name
from akn_mail import config as config_module
from akn_mail import db, doctor
from akn_mail.cli import cli

from conftest import free_port


def write_config(tmp_path, extra: str = "") -> str:
    path = tmp_path / "akn-mail.toml"
    path.write_text(
        '[list]\naddress = "akn@lists.example"\nadmins = ["admin@rhein-kreis-neuss.example"]\n'
        f'[storage]\ndata_dir = "data"\n[ingress]\nport = {free_port()}\n' + extra,
        encoding="utf-8",
    )
    return str(path)


def initialised(tmp_path, extra: str = "") -> str:
    path = write_config(tmp_path, extra)
    config = config_module.load(path)
    config.data_dir.mkdir(mode=0o750)
    db.connect(config.database_path).close()
    return path


def run(path: str, *args: str):
    return CliRunner().invoke(cli, ["--config", path, "doctor", *args])


def lines(result) -> dict[str, str]:
    return {line[6:17].strip(): line for line in result.output.splitlines()}


class Relay:
    """An aiosmtpd relay that records the envelope and may refuse the sender."""

    def __init__(self, refuse_sender: bool = False):
        self.refuse_sender = refuse_sender
        self.senders: list[str] = []
        self.data_seen = False

    async def handle_MAIL(self, server, session, envelope, address, options):
        self.senders.append(address)
        if self.refuse_sender:
            return "553 5.7.1 Sender address rejected: not owned by you"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_seen = True
        return "250 OK"


@pytest.fixture
def relay():
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), server_hostname="relay.localhost")
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def test_data_directory_made_by_init_passes_the_permission_check(tmp_path):
    path = write_config(tmp_path)
    assert CliRunner().invoke(cli, ["--config", path, "init"]).exit_code == 0
    line = lines(run(path, "--no-dns"))["data dir"]
    assert line.startswith(f"ok    data dir   {tmp_path / 'data'} (owner ") and line.endswith(", mode drwxr-x---)"), line


def test_fresh_installation_passes_with_warnings(tmp_path):
    result = run(initialised(tmp_path), "--no-dns")
    assert result.exit_code == 0, result.output
    found = lines(result)
    assert found["config"].startswith("ok    config     ")
    assert found["data dir"].startswith("ok    data dir   ")
    assert f"schema version {db.latest_version()} (current)" in found["database"]
    assert "(nothing archived)" in found["index"]
    assert found["templates"].startswith("ok    templates  all render; 0 site override(s)")
    assert found["ingress"].startswith("warn  ingress    nothing answers on 127.0.0.1:")
    assert found["ingress"].endswith("Fix: systemctl start akn-mail (journalctl -u akn-mail says why it stopped).")
    assert found["relay"].startswith("warn  relay      no relay configured")
    assert found["queue"] == "ok    queue      0 waiting (0 deferred), 0 failed, 0 expired, 0 held for moderation"
    assert found["contacts"] == ("warn  contacts   the roster has no contacts, so posts reach nobody. "
                                 "Fix: akn-mail roster import roster.csv (or akn-mail member add / contact add).")
    assert found["dns"] == "skip  dns        lists.example is under the reserved name .example; DNS checks skipped."
    assert found["auth"].startswith("warn  auth       [auth] verify = \"headers\" but authserv_id is empty")
    assert found["dkim"].startswith("skip  dkim       [dkim] domain is empty, so the list's mail goes out unsigned")


def test_mail_waiting_for_hours_and_disabled_contacts_are_warned_about(tmp_path):
    from akn_mail.delivery.queue import DeliveryQueue
    from akn_mail.roster.members import Roster

    path = initialised(tmp_path)
    config = config_module.load(path)
    connection = db.connect(config.database_path)
    roster = Roster(connection)
    roster.add_member("Kaarst")
    roster.add_contact("Kaarst", "klima@kaarst.example")
    roster.add_contact("Kaarst", "alt@kaarst.example")
    roster.set_delivery("alt@kaarst.example", False, "bounces: score 5 reached 5 within 14 days")
    DeliveryQueue(connection, config).enqueue(b"Subject: x\r\n\r\nx\r\n", ["klima@kaarst.example"], message_id="m@x")
    connection.execute("UPDATE deliveries SET status = 'deferred', created_at = created_at - 7200")
    connection.close()
    found = lines(run(path, "--no-dns"))
    assert found["queue"] == (
        "warn  queue      1 waiting (1 deferred), 0 failed, 0 expired, 0 held for moderation; the oldest has waited "
        "2.0 hours. Fix: see why with 'akn-mail queue list' (the relay's answer is shown) and the relay's log."
    )
    assert found["contacts"] == (
        "warn  contacts   1 of 2 contacts get no list mail (delivery off): alt@kaarst.example. "
        "Fix: akn-mail contact list shows why; akn-mail contact enable ADDRESS once the address works."
    )


def test_missing_data_directory_fails_with_a_fix(tmp_path):
    result = run(write_config(tmp_path), "--no-dns")
    assert result.exit_code == 1
    data = tmp_path / "data"
    assert lines(result)["data dir"] == (
        f"FAIL  data dir   {data} does not exist. Fix: run 'akn-mail init' as the service user, "
        f"or: install -d -o akn-mail -g akn-mail -m 750 {data}"
    )
    assert lines(result)["database"] == (
        f"FAIL  database   {data}/akn-mail.sqlite3 does not exist. Fix: run 'akn-mail init' as the service user."
    )
    assert not data.exists()  # doctor creates nothing


def test_broken_config_is_one_failed_check(tmp_path):
    path = tmp_path / "akn-mail.toml"
    path.write_text("[relay]\nprot = 1\n", encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"FAIL  config     {path}: unknown key 'prot' in [relay]; known keys are host, port, starttls, username, "
        "password_env, timeout, helo_name. Fix: correct the file (akn-mail init --path NEW writes a fresh commented one)."
    ]


def test_world_writable_data_directory_fails(tmp_path):
    path = initialised(tmp_path)
    (tmp_path / "data").chmod(0o777)
    result = run(path, "--no-dns")
    assert result.exit_code == 1
    assert f"FAIL  data dir   {tmp_path / 'data'} is writable by every user (mode drwxrwxrwx). Fix: chmod o-rwx" in result.output


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_file_owned_by_another_user_fails(tmp_path):
    path = initialised(tmp_path)
    os.chown(tmp_path / "data" / "akn-mail.sqlite3", 65534, 65534)
    result = run(path, "--no-dns")
    assert result.exit_code == 1
    assert "not writable by the service or owned by another user: akn-mail.sqlite3 (owner nobody)" in lines(result)["data dir"]
    assert "Fix: chown -R root: " in lines(result)["data dir"]


@pytest.mark.parametrize(
    "version, message",
    [
        (3, "has schema version 3; this akn-mail needs {latest}. Fix: take a backup, then restart the service"),
        (99, "has schema version 99, newer than this akn-mail ({latest}). Fix: install the akn-mail version"),
    ],
)
def test_schema_version_mismatch_fails(tmp_path, version, message):
    path = initialised(tmp_path)
    connection = sqlite3.connect(tmp_path / "data" / "akn-mail.sqlite3")
    connection.execute(f"PRAGMA user_version = {version}")
    connection.close()
    result = run(path, "--no-dns")
    assert result.exit_code == 1
    assert message.format(latest=db.latest_version()) in lines(result)["database"]


def test_damaged_index_fails(tmp_path):
    path = initialised(tmp_path)
    index = tmp_path / "data" / "index"
    index.mkdir()
    (index / "_archive_1.toc").write_bytes(b"not a whoosh table of contents")
    result = run(path, "--no-dns")
    assert result.exit_code == 1
    assert lines(result)["index"].startswith(f"FAIL  index      the search index in {index} does not open: ")
    assert lines(result)["index"].endswith("Fix: akn-mail archive reindex (rebuilds it from the Maildir)")
    assert lines(result)["index"].count("search index in") == 1  # the cause, not a second sentence about it


def test_broken_template_override_fails(tmp_path):
    site = tmp_path / "site-templates" / "de"
    site.mkdir(parents=True)
    (site / "welcome.txt").write_text("Subject: Willkommen {{ contact.email \n\nKaputt.\n", encoding="utf-8")
    path = initialised(tmp_path, f'[templates]\ndirectory = "{tmp_path / "site-templates"}"\n')
    result = run(path, "--no-dns")
    assert result.exit_code == 1
    line = lines(result)["templates"]
    assert line.startswith(f"FAIL  templates  broken template {site / 'welcome.txt'}:3: expected token")
    assert line.endswith("Fix: fix or remove the override; 'akn-mail templates check' lists them all.")


def test_ingress_answering(tmp_path, relay):
    config = config_module.load(None, environ={"AKN_MAIL_INGRESS_PORT": str(relay.port)})
    check = doctor.check_ingress(config)
    assert check.line().startswith(f"ok    ingress    SMTP on 127.0.0.1:{relay.port}: 220 relay.localhost")


def test_ingress_port_taken_by_something_else(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def greet():
        connection, _ = listener.accept()
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        connection.close()

    thread = threading.Thread(target=greet, daemon=True)
    thread.start()
    try:
        config = config_module.load(None, environ={"AKN_MAIL_INGRESS_PORT": str(port)})
        check = doctor.check_ingress(config)
    finally:
        thread.join(5)
        listener.close()
    assert check.status == "fail"
    assert check.detail == f"127.0.0.1:{port} answers, but not as a mail server: 'HTTP/1.1 400 Bad Request'."


def test_relay_accepting_our_envelope_sender(tmp_path, relay):
    path = initialised(tmp_path, f'[relay]\nhost = "127.0.0.1"\nport = {relay.port}\n')
    result = run(path, "--no-dns")
    assert result.exit_code == 0, result.output
    assert lines(result)["relay"] == (
        f"ok    relay      127.0.0.1:{relay.port} accepts MAIL FROM:<akn-bounces@lists.example>, "
        "relays to admin@rhein-kreis-neuss.example"
    )
    assert relay.senders == ["akn-bounces@lists.example"]
    assert relay.data_seen is False


def test_relay_refusing_our_envelope_sender(tmp_path, relay):
    relay.refuse_sender = True
    path = initialised(tmp_path, f'[relay]\nhost = "127.0.0.1"\nport = {relay.port}\n')
    result = run(path, "--no-dns")
    assert result.exit_code == 1
    assert lines(result)["relay"] == (
        f"FAIL  relay      127.0.0.1:{relay.port} refused our envelope sender akn-bounces@lists.example: "
        "553 5.7.1 Sender address rejected: not owned by you. Fix: allow the list host to send with this sender "
        "(Postfix: mynetworks, smtpd_sender_restrictions)."
    )


def test_relay_not_listening(tmp_path):
    port = free_port()
    path = initialised(tmp_path, f'[relay]\nhost = "127.0.0.1"\nport = {port}\n')
    result = run(path, "--no-dns")
    assert result.exit_code == 1
    assert lines(result)["relay"] == (
        f"FAIL  relay      cannot connect to 127.0.0.1:{port}: Connection refused. "
        "Fix: start the relay (systemctl status postfix) or correct [relay] host and port."
    )


def test_json_output(tmp_path):
    result = run(initialised(tmp_path), "--no-dns", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["ok"] is True
    assert [check["name"] for check in data["checks"]] == [
        "config", "data dir", "database", "index", "templates", "ingress", "relay", "queue", "contacts", "retention",
        "auth", "dns", "dkim"]
    assert set(data["checks"][0]) == {"name", "status", "detail", "fix"}


@pytest.mark.parametrize(
    "domain, reserved",
    [("lists.example", ".example"), ("akn.test", ".test"), ("x.invalid", ".invalid"), ("mail.localhost", ".localhost"),
     ("lists.example.org", "example.org"), ("lists.akn-rkn.de", None), ("examples.de", None)],
)
def test_reserved_names(domain, reserved):
    assert reserved_name(domain) == reserved


def test_no_dns_flag_skips_a_real_domain(tmp_path):
    path = initialised(tmp_path)
    text = open(path, encoding="utf-8").read().replace("akn@lists.example", "akn@lists.akn-rkn.de")
    open(path, "w", encoding="utf-8").write(text)
    result = run(path, "--no-dns")
    assert lines(result)["dns"] == "skip  dns        DNS checks of lists.akn-rkn.de skipped (--no-dns)."


class LoopbackDNS:
    """A tiny authoritative DNS server on 127.0.0.1 (UDP) answering from a dict of records."""

    def __init__(self, records: dict[tuple[str, str], list[str]]):
        self.records = records
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                wire, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            kind = dns.rdatatype.to_text(question.rdtype)
            known_names = {key[0] for key in self.records}
            if name not in known_names:
                response.set_rcode(dns.rcode.NXDOMAIN)
            for text in self.records.get((name, kind), []):
                response.answer.append(dns.rrset.from_text(question.name, 300, "IN", kind, text))
            self.sock.sendto(response.to_wire(), peer)

    def resolver(self) -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.lifetime = 2.0
        return resolver

    def close(self) -> None:
        self.sock.close()


def test_dns_records_of_a_real_domain_from_a_loopback_server(tmp_path):
    server = LoopbackDNS({
        ("lists.akn-rkn.de", "MX"): ["10 mx.rhein-kreis-neuss.de."],
        ("lists.akn-rkn.de", "TXT"): ['"v=spf1 mx -all"'],
        ("_dmarc.lists.akn-rkn.de", "TXT"): ['"v=DMARC1; p=quarantine"'],
    })
    try:
        config = config_module.load(None, environ={"AKN_MAIL_LIST_ADDRESS": "akn@lists.akn-rkn.de"})
        checks = doctor.check_dns(config, resolver=server.resolver())
    finally:
        server.close()
    assert [check.line() for check in checks] == [
        "ok    dns mx     lists.akn-rkn.de MX mx.rhein-kreis-neuss.de",
        "ok    dns spf    lists.akn-rkn.de v=spf1 mx -all",
        "ok    dns dmarc  _dmarc.lists.akn-rkn.de v=DMARC1; p=quarantine",
    ]


def test_missing_spf_and_dmarc_come_with_a_fix(tmp_path):
    server = LoopbackDNS({("lists.akn-rkn.de", "MX"): ["10 mx.rhein-kreis-neuss.de."]})
    try:
        config = config_module.load(None, environ={"AKN_MAIL_LIST_ADDRESS": "akn@lists.akn-rkn.de"})
        checks = doctor.check_dns(config, resolver=server.resolver())
    finally:
        server.close()
    assert [check.status for check in checks] == ["ok", "fail", "warn"]
    assert checks[1].fix == 'add TXT "v=spf1 mx -all" to lists.akn-rkn.de (include the relay\'s addresses if it sends).'
    assert doctor.exit_code(checks) == 1


def test_no_resolver_answering_skips_dns(tmp_path):
    # A loopback UDP port that nobody reads: the query times out and DNS is skipped, said so.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = silent.getsockname()[1]
        resolver.lifetime = 0.3
        config = config_module.load(None, environ={"AKN_MAIL_LIST_ADDRESS": "akn@lists.akn-rkn.de"})
        checks = doctor.check_dns(config, resolver=resolver)
    finally:
        silent.close()
    assert [check.line() for check in checks] == [
        "skip  dns        no DNS resolver answered for lists.akn-rkn.de (LifetimeTimeout); DNS checks skipped."
    ]
