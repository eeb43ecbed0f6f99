"""DKIM signing of what the list sends (issue 10): keygen, one signature per stored message that
every copy carries and dkimpy verifies, the refusal of an unusable key, and doctor's checks."""

from __future__ import annotations

import os
import re
import stat

import dkim
import pytest
from click.testing import CliRunner

from akn_mail import config as config_module
from akn_mail import db as db_module
from akn_mail import doctor
from akn_mail.cli import cli
from akn_mail.config import ConfigError

from service_support import Relay, ThreadedService, configure, load_roster, post, send, wait_until
from test_auth import TxtRecords
from test_doctor import LoopbackDNS

SELECTOR = "akn2026"


def keygen(config_file, out, *extra: str):
    return CliRunner().invoke(cli, ["--config", str(config_file), "dkim", "keygen", "--selector", SELECTOR,
                                    "--out", str(out), *extra])


def record_of(output: str) -> tuple[str, str]:
    """(name, TXT value) from keygen's zone-file line."""
    line = next(line for line in output.splitlines() if "IN TXT" in line)
    name = line.split()[0].rstrip(".")
    value = "".join(re.findall(r'"([^"]*)"', line))
    return name, value


@pytest.fixture
def key(config_file, tmp_path):
    out = tmp_path / "dkim.key"
    result = keygen(config_file, out)
    assert result.exit_code == 0, result.output
    return out, record_of(result.output)


def test_keygen_writes_a_private_key_only_its_owner_reads_and_prints_the_record(key, config_file):
    out, (name, value) = key
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert out.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert name == f"{SELECTOR}._domainkey.lists.example"
    assert value.startswith("v=DKIM1; k=rsa; p=MIIBIjAN")  # an RSA-2048 SubjectPublicKeyInfo


def test_keygen_never_overwrites_a_key(key, config_file):
    out, _ = key
    before = out.read_bytes()
    result = keygen(config_file, out)
    assert result.exit_code == 1
    assert result.output == (f"Error: {out} already exists; keygen never overwrites a key. "
                             "Choose another --out, or remove the old key first.\n")
    assert out.read_bytes() == before


def test_dkim_settings_come_together(config_file):
    config_file.write_text('[storage]\ndata_dir = "data"\n[dkim]\ndomain = "lists.example"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^\[dkim\] needs domain, selector and key_file together; selector, key_file missing"):
        config_module.load(config_file)


def sign_with(config, key_path) -> None:
    config.dkim.domain = "lists.example"
    config.dkim.selector = SELECTOR
    config.dkim.key_file = str(key_path)


def verified(data: bytes, resolver: TxtRecords) -> bool:
    return dkim.verify(data, dnsfunc=lambda name, timeout=5: (resolver.txt(name.decode().rstrip(".")) or [""])[0].encode() or None)


def test_every_copy_of_a_post_and_every_notice_carries_one_valid_signature(config, key, tmp_path):
    out, (name, value) = key
    resolver = TxtRecords({name: value})
    contacts = load_roster(config)
    relay = Relay().start()
    configure(config, relay)
    sign_with(config, out)
    config.list.admins = ["admin@lists.example"]
    service = ThreadedService(config, resolver=resolver).start()
    try:
        send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
        relay.sink.wait_for(len(contacts))
        # A stranger's post is held, and the moderators get a notice: mail the list writes itself.
        send(service.port, "offer@shop.example", ["akn@lists.example"],
             post(sender="offer@shop.example", message_id="<spam@shop.example>", subject="Angebot"))
        notices = wait_until(lambda: relay.sink.messages_to("admin@lists.example"))
    finally:
        service.stop()
        relay.stop()
    copies = [data for _, recipients, data in relay.sink.transactions if recipients[0] in contacts]
    assert len(copies) == len(contacts)
    assert notices
    for data in copies + notices:
        assert data.count(b"DKIM-Signature:") == 1
        assert b"d=lists.example" in data and f"s={SELECTOR}".encode() in data
        assert verified(data, resolver)
    # Signed once, when queued: every copy is the same bytes, which are the bytes stored in the queue.
    assert len(set(copies)) == 1
    connection = db_module.connect(config.database_path)
    try:
        stored = bytes(connection.execute("SELECT body FROM outbound WHERE kind = 'post'").fetchone()["body"])
    finally:
        connection.close()
    assert stored == copies[0]


def test_a_changed_copy_no_longer_verifies(config, key):
    out, (name, value) = key
    from akn_mail.delivery.signing import DkimSigner

    sign_with(config, out)
    signed = DkimSigner.from_config(config).sign(post())
    resolver = TxtRecords({name: value})
    assert verified(signed, resolver)
    assert not verified(signed.replace(b"bis bald", b"bis morgen"), resolver)


def test_serve_refuses_to_start_without_its_key(config_file, tmp_path):
    missing = tmp_path / "nokey.pem"
    config_file.write_text(
        '[storage]\ndata_dir = "data"\n'
        f'[dkim]\ndomain = "lists.example"\nselector = "{SELECTOR}"\nkey_file = "{missing}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config_file), "serve"])
    assert result.exit_code == 1
    assert result.output == (f"Error: [dkim] key_file {missing} does not exist; create it with: "
                             f"akn-mail dkim keygen --selector SELECTOR --out {missing}\n")


def test_doctor_checks_the_key_file(config, tmp_path, key):
    out, _ = key
    assert doctor.check_dkim(config)[0].status == "skip"  # signing off
    sign_with(config, out)
    checks = doctor.check_dkim(config)
    assert [check.status for check in checks] == ["ok", "skip"]  # lists.example is never looked up
    assert checks[0].detail == f"{out}: RSA key for {SELECTOR}._domainkey.lists.example"
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN RSA PRIVATE KEY-----\nnonsense\n-----END RSA PRIVATE KEY-----\n")
    config.dkim.key_file = str(broken)
    check = doctor.check_dkim(config)[0]
    assert check.status == "fail" and check.detail.startswith(f"[dkim] key_file {broken} is not an unencrypted PEM private key")


def test_doctor_compares_the_published_record_with_the_key(config, config_file, tmp_path, key):
    out, (_, value) = key
    sign_with(config, out)
    config.dkim.domain = "lists.akn-rkn.de"
    name = f"{SELECTOR}._domainkey.lists.akn-rkn.de"
    chunks = " ".join(f'"{value[i:i + 200]}"' for i in range(0, len(value), 200))
    other = keygen(config_file, tmp_path / "other.key")
    other_value = record_of(other.output)[1]
    for records, expected in (
        ({(name, "TXT"): [chunks]}, "ok"),
        ({(name, "TXT"): ['"' + other_value[:200] + '" "' + other_value[200:] + '"']}, "fail"),
        ({("lists.akn-rkn.de", "MX"): ["10 mx.example.org."]}, "fail"),
    ):
        server = LoopbackDNS(records)
        try:
            checks = doctor.check_dkim(config, resolver=server.resolver())
        finally:
            server.close()
        assert [check.status for check in checks] == ["ok", expected], checks
    assert checks[1].fix.startswith(f"publish: {name}. IN TXT (")


def test_doctor_says_when_no_authentication_results_are_trusted(config):
    assert doctor.check_auth(config).status == "warn"
    config.auth.authserv_id = "mx.lists.example"
    assert doctor.check_auth(config).line() == (
        "ok    auth       verdict from Authentication-Results of mx.lists.example; posts without one: accept")
