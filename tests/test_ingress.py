"""The SMTP/LMTP edge: who may be a recipient, SIZE, LMTP replies, hostile input."""

from __future__ import annotations

import smtplib
import socket
import time
from pathlib import Path

import pytest

from akn_mail import db as db_module
from akn_mail.delivery.queue import normalize_line_endings
from akn_mail.edge.ingress import route_of

from conftest import verp_of
from service_support import WAIT, Relay, ThreadedService, configure, load_roster, post

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"


@pytest.fixture
def relay():
    relay = Relay().start()
    yield relay
    relay.stop()


@pytest.fixture
def contacts(config):
    return load_roster(config)


def start(config, relay, **changes):
    configure(config, relay)
    for key, value in changes.items():
        section, name = key.split("__")
        setattr(getattr(config, section), name, value)
    return ThreadedService(config).start()


@pytest.fixture
def service(config, relay, contacts):
    service = start(config, relay)
    yield service
    service.stop()


def client(port: int) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", port, local_hostname="client.localhost", timeout=WAIT)


def test_route_of_knows_the_list_addresses(config):
    assert route_of("akn@lists.example", config) == "post"
    assert route_of("AKN@Lists.Example", config) == "post"
    assert route_of("akn-bounces@lists.example", config) == "bounces"
    assert route_of("akn-bounces+anna=dormagen.example@lists.example", config) == "bounces"
    assert route_of("akn-owner@lists.example", config) == "owner"
    assert route_of("akn-request@lists.example", config) == "request"
    assert route_of("akn@other.example", config) is None
    assert route_of("bob@lists.example", config) is None


def test_rcpt_to_a_foreign_domain_is_refused_550(service, config):
    with client(service.port) as smtp:
        smtp.ehlo()
        smtp.mail("klimaschutz@dormagen.example")
        code, text = smtp.rcpt("victim@elsewhere.example")
        assert code == 550
        assert text.decode() == ("5.1.1 <victim@elsewhere.example>: no such list here (this server is not a relay; "
                                 "it accepts mail for akn@lists.example only)")
        assert smtp.rcpt("akn-owner@lists.example")[0] == 250
        assert smtp.rcpt(verp_of(config, "anna@dormagen.example"))[0] == 250


def test_size_is_advertised_and_enforced_552(config, relay, contacts):
    service = start(config, relay, ingress__max_message_size=20000)
    try:
        with client(service.port) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("size") and smtp.esmtp_features["size"] == "20000"
            big = post(body=("x" * 70 + "\r\n") * 400)
            with pytest.raises(smtplib.SMTPSenderRefused) as declared:
                smtp.sendmail("klimaschutz@dormagen.example", ["akn@lists.example"], big, mail_options=[f"SIZE={len(big)}"])
            assert declared.value.smtp_code == 552
        with client(service.port) as smtp:
            smtp.ehlo()
            smtp.mail("klimaschutz@dormagen.example")  # no SIZE= given: refused after DATA
            smtp.rcpt("akn@lists.example")
            code, text = smtp.data(big)
            assert (code, text.decode()) == (552, "5.3.4 Message too big for this list (the limit is 20000 bytes)")
            assert smtp.noop()[0] == 250
    finally:
        service.stop()


def test_lmtp_answers_per_recipient(config, relay, contacts):
    service = start(config, relay, ingress__protocol="lmtp")
    try:
        lmtp = smtplib.LMTP("127.0.0.1", service.port, local_hostname="client.localhost", timeout=WAIT)
        lmtp.ehlo_or_helo_if_needed()
        lmtp.mail("klimaschutz@dormagen.example")
        assert lmtp.rcpt("akn@lists.example")[0] == 250
        assert lmtp.rcpt("nobody@lists.example")[0] == 550
        assert lmtp.rcpt("akn-owner@lists.example")[0] == 250
        code, first = lmtp.data(post())
        second_code, second = lmtp.getreply()
        assert code == 250 and first.decode().startswith("2.0.0 <akn@lists.example> queued as ")
        assert second_code == 250 and second.decode().startswith("2.0.0 <akn-owner@lists.example> queued as ")
        lmtp.quit()
        assert len(relay.sink.wait_for(len(contacts))) == len(contacts)
    finally:
        service.stop()


def hostile_messages() -> dict[str, bytes]:
    header_bomb = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"a" * 40) for n in range(10000))
    return {
        "nul bytes": post(body="Hallo\x00Welt\r\n"),
        "10000-line header": header_bomb + post(),
        "8-bit headers": ("From: J\u00fcrgen M\u00fcller <klimaschutz@dormagen.example>\r\n"
                          "Subject: Gr\u00fc\u00dfe aus J\u00fcchen\r\nMessage-ID: <8bit@dormagen.example>\r\n\r\n"
                          "\u00e4\u00f6\u00fc\r\n").encode("latin-1"),
        "no from": b"Subject: anonym\r\nMessage-ID: <nofrom@x.example>\r\n\r\nwer bin ich\r\n",
        "no header at all": b"just a body line\r\n",
        "broken mime": (b"From: klimaschutz@dormagen.example\r\nSubject: kaputt\r\nMIME-Version: 1.0\r\n"
                        b"Content-Type: multipart/mixed; boundary=\"nope\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                        b"--other\r\nContent-Type: text/plain\r\n\r\n!!!not base64!!!\r\n--other--\r\n"),
        "garbage address headers": (b"From: <<<@@@>>>, \"unterminated\r\nTo: ;;;\r\nReply-To: =?x-unknown?q?a?=\r\n"
                                    b"Subject: =?utf-8?b?////?=\r\nMessage-ID: <<<>>>\r\n\r\nx\r\n"),
        "binary junk": bytes(range(1, 256)) * 20 + b"\r\n",
    }


def send_raw(port: int, data: bytes) -> tuple[int, str]:
    """Send one message; the final reply (250, or the 4xx/5xx that refused it)."""
    try:
        with client(port) as smtp:
            smtp.sendmail("someone@outside.example", ["akn@lists.example"], data)
        return 250, ""
    except smtplib.SMTPDataError as error:
        return error.smtp_code, error.smtp_error.decode("utf-8", "replace")
    except smtplib.SMTPResponseException as error:
        return error.smtp_code, str(error.smtp_error)


def test_hostile_and_real_world_messages_never_kill_the_server(service, relay, contacts, config):
    messages = dict(hostile_messages())
    for path in sorted(CORPUS.glob("*/*")):
        if path.name.startswith(("README", "LICENSE")):
            continue
        messages[f"corpus {path.parent.name}/{path.name}"] = normalize_line_endings(path.read_bytes())
    assert len(messages) > 50
    answers = {}
    for name, data in messages.items():
        code, text = send_raw(service.port, data)
        answers[name] = (code, text)
        assert code == 250 or 500 <= code < 600, (name, code, text)
    assert answers["nul bytes"] == (554, "5.6.0 Message contains NUL characters, which mail must not contain (RFC 5322); not accepted")
    assert answers["10000-line header"] == (554, "5.6.0 Message header is larger than 256 KB; not accepted")
    accepted = [name for name, (code, _) in answers.items() if code == 250]
    # The server still works: a normal post goes out to everyone.
    from service_support import send

    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post(message_id="<after@dormagen.example>"))
    relay.sink.wait_for(len(contacts))
    # Nothing accepted was lost: every 250 has its recorded outcome, and the spool is empty.
    connection = db_module.connect(config.database_path)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        count = connection.execute("SELECT count(*) FROM received").fetchone()[0]
        if count >= len(accepted) + 1:
            break
        time.sleep(0.1)
    rows = connection.execute("SELECT action, reason FROM received").fetchall()
    connection.close()
    assert len(rows) == len(accepted) + 1
    assert {row["action"] for row in rows} <= {"accept", "hold", "discard"}
    # The strangers' mail is held, not distributed; the contact's posts (also the one with
    # 8-bit headers and the one with broken MIME) went out.
    distributed = sorted(row["reason"] for row in rows if row["action"] == "accept")
    assert len(distributed) == 3
    relay.sink.wait_for(3 * len(contacts))
    assert len(relay.sink.recipients()) == 3 * len(contacts)
    spool = config.spool_dir
    assert wait_spool_empty(spool)


def wait_spool_empty(spool: Path) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if not [p for p in spool.iterdir() if p.name.endswith(".seg")]:
            return True
        time.sleep(0.05)
    return False


def test_a_client_that_hangs_up_mid_data_does_not_stop_the_server(service, relay, contacts):
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=WAIT)
    sock.recv(1024)
    for line in (b"EHLO client.localhost\r\n", b"MAIL FROM:<klimaschutz@dormagen.example>\r\n",
                 b"RCPT TO:<akn@lists.example>\r\n", b"DATA\r\n"):
        sock.sendall(line)
        time.sleep(0.05)
    sock.sendall(b"Subject: half\r\n\r\nonly half of a mess")
    sock.close()
    from service_support import send

    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
    assert len(relay.sink.wait_for(len(contacts))) == len(contacts)


def test_a_spool_that_cannot_be_written_gets_451_and_the_server_recovers(service, relay, contacts, config):
    spool = config.spool_dir
    moved = spool.with_name("spool-away")
    spool.rename(moved)
    spool.write_text("not a directory")  # every write into it fails, even for root
    try:
        code, text = send_raw(service.port, post())
        assert (code, text) == (451, "4.3.0 Temporary local problem (could not store the message), please retry")
    finally:
        spool.unlink()
        moved.rename(spool)
    from service_support import send

    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post())
    assert len(relay.sink.wait_for(len(contacts))) == len(contacts)


def test_mail_to_the_bounce_address_goes_to_bounce_handling_not_to_the_list(service, relay, contacts, config):
    report = normalize_line_endings((CORPUS.parent / "bounces" / "postfix_01.txt").read_bytes())
    with client(service.port) as smtp:
        smtp.sendmail("", [verp_of(config, "klima@kaarst.example")], report)
    from service_support import send

    send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], post(message_id="<after@dormagen.example>"))
    relay.sink.wait_for(len(contacts))
    connection = db_module.connect(config.database_path)
    deadline = time.monotonic() + WAIT
    rows = []
    while time.monotonic() < deadline and len(rows) < 2:
        rows = connection.execute("SELECT route, action, reason FROM received ORDER BY id").fetchall()
        time.sleep(0.05)
    connection.close()
    assert rows[0]["route"] == "bounces"
    assert rows[0]["action"] in ("accept", "discard") and rows[0]["reason"]
    # Only the post went out (the report was not distributed).
    assert len(relay.sink.recipients()) == len(contacts)
