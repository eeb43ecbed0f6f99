"""Sender authentication (issue 10): verdicts from Authentication-Results and from dkimpy, and
what the real server does with them: a forged contact is held, never distributed."""

from __future__ import annotations

import base64
import email
import json
import subprocess
import sys
from email import policy
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from akn_mail import db as db_module
from akn_mail.notices.held import HeldStore
from akn_mail.notices.reasons import hold_reason
from akn_mail.pipeline.authentication import builtin, from_headers, strip_foreign
from akn_mail.pipeline.context import Post
from akn_mail.pipeline.dmarc import DmarcResolver
from akn_mail.pipeline.steps.authenticate import authenticate
from akn_mail.services import Services

from service_support import Relay, ThreadedService, configure, load_roster, post, send, wait_until

DATA = Path(__file__).parent / "data" / "auth"
OURS = "mx.lists.example"


def sample(name: str) -> bytes:
    """A sample mail as it arrives over SMTP (CRLF line ends)."""
    return (DATA / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class TxtRecords:
    """TXT records from a dict: the resolver the tests hand in (no DNS query is ever sent)."""

    def __init__(self, records: dict[str, str] | None = None):
        self.records = dict(records or {})
        self.asked: list[str] = []

    def txt(self, name: str) -> list[str]:
        self.asked.append(name)
        return [self.records[name]] if name in self.records else []

    def policy(self, domain: str) -> str | None:  # the decorate step's DMARC question
        return None


def new_key() -> tuple[bytes, str]:
    """A fresh RSA-2048 key: (PEM private key, the DKIM TXT record of its public key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode("ascii")


@pytest.fixture(scope="module")
def dormagen_key() -> tuple[bytes, str]:
    return new_key()


def signed(raw: bytes, domain: str, key: bytes, selector: str = "mail") -> bytes:
    signature = dkim.sign(raw, selector.encode(), domain.encode(), key,
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return signature + raw


def records(domain: str, txt: str, dmarc: str | None = "v=DMARC1; p=reject") -> dict[str, str]:
    found = {f"mail._domainkey.{domain}": txt}
    if dmarc:
        found[f"_dmarc.{domain}"] = dmarc
    return found


# --- verdicts from the front MTA's Authentication-Results ----------------------------------------


def test_opendkim_and_opendmarc_pass_from_our_mta_is_a_pass():
    verdict = from_headers(sample("opendkim-opendmarc-pass.eml"), "dormagen.example", OURS)
    assert (verdict.result, verdict.method) == ("pass", "dmarc")


def test_opendmarc_fail_wins_over_a_forged_pass_claiming_our_name():
    verdict = from_headers(sample("opendmarc-fail-forged.eml"), "dormagen.example", OURS)
    assert (verdict.result, verdict.detail) == ("fail", "dmarc=fail header.from=dormagen.example")


def test_results_of_other_servers_and_exchange_online_count_for_nothing():
    # Exchange Online writes no authserv-id at all; the sender's own server is not ours.
    assert from_headers(sample("exchange-online.eml"), "kaarst.example", OURS).result == "none"
    assert from_headers(sample("opendkim-opendmarc-pass.eml"), "dormagen.example", "mx.other.example").result == "none"
    assert from_headers(sample("opendkim-opendmarc-pass.eml"), "dormagen.example", "").result == "none"


def test_a_pass_with_our_name_below_the_senders_received_line_is_not_trusted():
    raw = (
        b"Received: from smtp.evil.example by mx.lists.example (Postfix); Wed, 25 Nov 2026 11:00:02 +0100\r\n"
        b"Received: from laptop by smtp.evil.example; Wed, 25 Nov 2026 11:00:01 +0100\r\n"
        b"Authentication-Results: mx.lists.example; dmarc=pass header.from=dormagen.example\r\n"
        + post()
    )
    assert from_headers(raw, "dormagen.example", OURS).result == "none"


def test_a_broken_signature_of_the_from_domain_without_dmarc_is_a_fail():
    raw = b"Authentication-Results: mx.lists.example; dkim=fail (bad signature) header.d=dormagen.example\r\n" + post()
    verdict = from_headers(raw, "dormagen.example", OURS)
    assert (verdict.result, verdict.method) == ("fail", "dkim")
    raw = b"Authentication-Results: mx.lists.example; dkim=pass header.d=evil.example\r\n" + post()
    assert from_headers(raw, "dormagen.example", OURS).result == "none"  # not aligned


def test_every_authentication_results_field_not_ours_is_removed_and_nothing_else():
    raw = sample("opendmarc-fail-forged.eml")
    cleaned = strip_foreign(raw, OURS)
    fields = email.message_from_bytes(cleaned, policy=policy.SMTP).get_all("Authentication-Results")
    assert [str(value).split(";")[0] for value in fields] == [OURS, OURS, OURS, OURS]
    exchange = strip_foreign(sample("exchange-online.eml"), OURS)
    assert b"Authentication-Results:" not in exchange
    assert b"Authentication-Results-Original:" in exchange  # another field, left alone
    assert cleaned.endswith(raw.partition(b"\r\n\r\n")[2])  # the body is untouched
    assert strip_foreign(post(), OURS) == post()


# --- builtin: dkimpy and DMARC through an injected resolver ----------------------------------------


def test_builtin_passes_a_mail_signed_by_the_from_domain(dormagen_key):
    pem, txt = dormagen_key
    raw = signed(post(), "dormagen.example", pem)
    verdict = builtin(raw, "dormagen.example", TxtRecords(records("dormagen.example", txt)))
    assert (verdict.result, verdict.detail) == ("pass", "dkim=pass header.d=dormagen.example")


def test_builtin_fails_a_changed_body_and_an_unsigned_mail_of_a_dmarc_domain(dormagen_key):
    pem, txt = dormagen_key
    resolver = TxtRecords(records("dormagen.example", txt))
    tampered = signed(post(), "dormagen.example", pem).replace(b"bis bald", b"bis nie")
    verdict = builtin(tampered, "dormagen.example", resolver)
    assert (verdict.result, verdict.method) == ("fail", "dmarc")
    assert "dkim=fail header.d=dormagen.example" in verdict.detail
    assert builtin(post(), "dormagen.example", resolver).result == "fail"


def test_builtin_fails_a_signature_of_another_domain_when_the_from_domain_publishes_dmarc(dormagen_key):
    pem, txt = dormagen_key
    resolver = TxtRecords({**records("dormagen.example", txt), **records("evil.example", txt, None)})
    raw = signed(post(), "evil.example", pem)
    assert builtin(raw, "dormagen.example", resolver).result == "fail"


def test_builtin_gives_none_when_the_domain_signs_nothing_and_publishes_no_dmarc(dormagen_key):
    assert builtin(post(), "dormagen.example", TxtRecords()).result == "none"
    pem, txt = dormagen_key
    # DKIM only, no DMARC: a valid signature is still a pass, a broken one a fail.
    resolver = TxtRecords(records("dormagen.example", txt, None))
    assert builtin(signed(post(), "dormagen.example", pem), "dormagen.example", resolver).result == "pass"
    broken = signed(post(), "dormagen.example", pem).replace(b"bis bald", b"bis nie")
    assert builtin(broken, "dormagen.example", resolver).result == "fail"


def test_the_dns_resolver_never_asks_about_reserved_names():
    asked = []
    resolver = DmarcResolver(lookup=lambda name: asked.append(name) or ["v=DKIM1; p=x"])
    for name in ("_dmarc.dormagen.example", "mail._domainkey.lists.example", "_dmarc.example.org", "x.test."):
        assert resolver.txt(name) == []
    assert resolver.txt("mail._domainkey.dormagen.de") == ["v=DKIM1; p=x"]
    assert asked == ["mail._domainkey.dormagen.de"]


# --- the step ------------------------------------------------------------------------------------


def step_post(raw: bytes) -> Post:
    return Post.read(raw, domain="lists.example")


def test_step_holds_a_dmarc_fail_with_a_german_reason_and_keeps_only_our_results(config, database):
    config.auth.authserv_id = OURS
    post = step_post(sample("opendmarc-fail-forged.eml"))
    decision = authenticate(post, Services(config, database, resolver=TxtRecords()))
    assert decision.action == "hold"
    assert decision.reason == ("die DMARC-Prüfung für dormagen.example ist fehlgeschlagen (dmarc=fail "
                               "header.from=dormagen.example): die Nachricht stammt wahrscheinlich nicht von "
                               "klimaschutz@dormagen.example")
    assert post.auth == "fail"
    assert b"compauth" not in post.raw


def test_unauthenticated_hold_holds_a_contact_without_verdict_but_accept_lets_it_pass(config, database):
    load_roster(config)
    config.auth.authserv_id = OURS
    services = Services(config, database, resolver=TxtRecords())
    accepted = step_post(post())
    assert authenticate(accepted, services).is_next
    assert accepted.auth == "none"
    config.auth.unauthenticated = "hold"
    decision = authenticate(step_post(post()), services)
    assert decision.action == "hold" and "weder eine gültige DKIM-Signatur noch ein DMARC-Ergebnis" in decision.reason
    assert hold_reason(decision.reason, "en") == (
        "klimaschutz@dormagen.example is a registered contact, but the message has neither a valid DKIM signature "
        "nor a DMARC result, and unauthenticated posts are held")
    # Not a contact: the sender check holds it with its own reason.
    assert authenticate(step_post(post(sender="someone@shop.example")), services).is_next
    # Approved by a moderator: read and cleaned, never held again.
    approved = Post.read(sample("opendmarc-fail-forged.eml"), domain="lists.example", approved=True)
    assert authenticate(approved, services).is_next and approved.auth == "fail"


# --- through the real server ---------------------------------------------------------------------


@pytest.fixture
def relay():
    relay = Relay().start()
    yield relay
    relay.stop()


@pytest.fixture
def contacts(config):
    return load_roster(config)


def start(config, relay, resolver=None) -> ThreadedService:
    configure(config, relay)
    config.auth.authserv_id = OURS
    return ThreadedService(config, resolver=resolver or TxtRecords()).start()


def held_rows(config) -> list[dict]:
    connection = db_module.connect(config.database_path)
    try:
        return HeldStore(connection, config).entries()
    finally:
        connection.close()


def archived(config) -> list[dict]:
    connection = db_module.connect(config.database_path)
    try:
        return [dict(row) for row in connection.execute("SELECT * FROM archived_messages ORDER BY id")]
    finally:
        connection.close()


def cli(config_file, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "akn_mail", "--config", str(config_file), *args],
                          capture_output=True, text=True, timeout=60)


def test_attacker_with_a_contacts_from_and_a_dmarc_fail_is_held_not_distributed(config, config_file, relay, contacts):
    service = start(config, relay)
    try:
        send(service.port, "attacker@evil.example", ["akn@lists.example"], sample("opendmarc-fail-forged.eml"))
        held = wait_until(lambda: [row for row in held_rows(config) if row["message_id"] == "forged-1@evil.example"])
        # A genuine post after it goes out, so the forged one had its chance to be distributed.
        send(service.port, "klima@kaarst.example", ["akn@lists.example"], post(sender="klima@kaarst.example"))
        relay.sink.wait_for(len(contacts))
    finally:
        service.stop()
    assert held[0]["reason"].startswith("die DMARC-Prüfung für dormagen.example ist fehlgeschlagen")
    # The moderators' notice carries it as a German sentence, not as "a technical reason".
    assert hold_reason(held[0]["reason"], "de") == held[0]["reason"]
    assert hold_reason(held[0]["reason"], "en").startswith("DMARC failed for dormagen.example (dmarc=fail")
    assert all(b"Kontoverbindung" not in data for _, _, data in relay.sink.transactions)
    assert [row["message_id"] for row in archived(config)] == ["post-1@dormagen.example"]
    listing = cli(config_file, "held", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    assert "DMARC-Prüfung" in listing.stdout


def test_a_pass_is_archived_with_its_verdict_and_only_our_results_go_out(config, config_file, relay, contacts):
    service = start(config, relay)
    try:
        send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], sample("opendkim-opendmarc-pass.eml"))
        relay.sink.wait_for(len(contacts))
        rows = wait_until(lambda: [row for row in archived(config) if row["indexed"]])
    finally:
        service.stop()
    assert [(row["message_id"], row["auth"]) for row in rows] == [("ar-pass@dormagen.example", "pass")]
    for _, _, data in relay.sink.transactions:
        results = email.message_from_bytes(data, policy=policy.SMTP).get_all("Authentication-Results")
        assert [str(value).split(";")[0] for value in results] == [OURS, OURS]
    shown = cli(config_file, "archive", "show", "ar-pass@dormagen.example")
    assert shown.returncode == 0, shown.stderr
    assert "Auth:        pass" in shown.stdout
    found = cli(config_file, "search", "Treffen", "--json")
    assert found.returncode == 0, found.stderr
    assert [(hit["message_id"], hit["auth"]) for hit in json.loads(found.stdout)] == [("ar-pass@dormagen.example", "pass")]


def minutes(message_id: str, sender: str = "klimaschutz@dormagen.example", extra: str = "") -> bytes:
    return post(subject="[Protokoll] Sitzung 2026-Q4", sender=sender, message_id=f"<{message_id}>", extra=extra,
                body="Protokoll der Sitzung.\r\nTOP 1 Wärmeplanung.\r\n")


PASS_RESULTS = f"Authentication-Results: {OURS}; dmarc=pass header.from=dormagen.example\r\n"


def test_a_forged_new_version_of_minutes_is_held_and_the_first_version_stays_current(config, relay, contacts):
    config.auth.unauthenticated = "accept"
    service = start(config, relay)
    try:
        send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"],
             PASS_RESULTS.encode() + minutes("v1@dormagen.example"))
        wait_until(lambda: archived(config))
        # The attacker's copy has no verdict at all (no results from our MTA): "none".
        send(service.port, "attacker@evil.example", ["akn@lists.example"], minutes("v2@evil.example"))
        held = wait_until(lambda: [row for row in held_rows(config) if row["message_id"] == "v2@evil.example"])
    finally:
        service.stop()
    assert held[0]["reason"] == ("die Nachricht würde als Fassung 2 das vorhandene Protokoll einer Sitzung ersetzen, "
                                 "doch ihr Absender ist nicht bestätigt (Prüfergebnis: none)")
    assert hold_reason(held[0]["reason"], "en").startswith("as version 2 it would replace the existing minutes")
    rows = archived(config)
    assert [(row["message_id"], row["minutes_version"], row["auth"]) for row in rows] == [("v1@dormagen.example", 1, "pass")]
    assert all(b"v2@evil.example" not in data for _, _, data in relay.sink.transactions)


def test_a_new_version_with_a_pass_replaces_the_minutes(config, relay, contacts):
    service = start(config, relay)
    try:
        for number in (1, 2):
            send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"],
                 PASS_RESULTS.encode() + minutes(f"v{number}@dormagen.example"))
            wait_until(lambda: len(archived(config)) == number)
    finally:
        service.stop()
    assert [(row["minutes_version"], row["auth"]) for row in archived(config)] == [(1, "pass"), (2, "pass")]


def test_builtin_on_the_real_server_distributes_a_signed_post_and_holds_the_unsigned_copy(
        config, relay, contacts, dormagen_key):
    pem, txt = dormagen_key
    config.auth.verify = "builtin"
    service = start(config, relay, TxtRecords(records("dormagen.example", txt)))
    try:
        send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"],
             signed(post(message_id="<signed@dormagen.example>"), "dormagen.example", pem))
        relay.sink.wait_for(len(contacts))
        send(service.port, "attacker@evil.example", ["akn@lists.example"], post(message_id="<unsigned@evil.example>"))
        held = wait_until(lambda: [row for row in held_rows(config) if row["message_id"] == "unsigned@evil.example"])
    finally:
        service.stop()
    assert "DMARC-Prüfung für dormagen.example ist fehlgeschlagen" in held[0]["reason"]
    assert "no aligned DKIM signature; p=reject" in held[0]["reason"]
    assert [(row["message_id"], row["auth"]) for row in archived(config)] == [("signed@dormagen.example", "pass")]
