"""Headers are read as mail clients read them (issue 10, item 5).

Raw 8-bit bytes are UTF-8 where valid, else Windows-1252; the labels iso-8859-1, latin1
and us-ascii mean Windows-1252 (WHATWG); an encoded word that cannot be decoded stays as
its text; the distributed copy carries the decoded text, correctly re-encoded.
"""

from __future__ import annotations

import email
import email.policy

import pytest

from akn_mail import db as db_module
from akn_mail.message import decode_header, parse

from service_support import Relay, StaticResolver, ThreadedService, configure, load_roster, send


@pytest.mark.parametrize("raw, text", [
    ("Grüße aus Jüchen".encode("latin-1"), "Grüße aus Jüchen"),
    ("Grüße aus Jüchen".encode("utf-8"), "Grüße aus Jüchen"),
    ("Frist – 5 €".encode("cp1252"), "Frist – 5 €"),
    (b"=?iso-8859-1?q?W=E4rmeplanung_=96_Frist?=", "Wärmeplanung – Frist"),
    (b"=?latin1?b?gCA1?=", "€ 5"),
    (b"=?us-ascii?q?=93Klima=94?=", "“Klima”"),
    (b"=?utf-8?b?R3LDvMOfZQ==?=  =?utf-8?q?_aus_J=C3=BCchen?=", "Grüße aus Jüchen"),
    (b"=?utf-8?q?Gr=C3=BC=C3?=\r\n =?utf-8?q?=9Fe?=", "Grüße"),  # one character split across two words
    (b"=?utf-8?q?Gr=FC=DFe?= aus =?utf-8?q?J=C3=BCchen?=", "=?utf-8?q?Gr=FC=DFe?= aus Jüchen"),
    (b"Vorher =?x-unknown-charset?q?abc?= nachher", "Vorher =?x-unknown-charset?q?abc?= nachher"),
    (b"Vorher =?utf-8?b?!!!?= nachher", "Vorher =?utf-8?b?!!!?= nachher"),
])
def test_decode_header_reads_like_a_mail_client(raw, text):
    assert decode_header(raw) == text


def test_parse_reads_8bit_subject_and_sender_name():
    parsed = parse("From: Jürgen Müller <j@juechen.example>\r\nSubject: Grüße aus Jüchen\r\n\r\nx\r\n".encode("latin-1"))
    assert (parsed.subject, parsed.from_name) == ("Grüße aus Jüchen", "Jürgen Müller")


POST = ("From: Petra Hülsmann <klimaschutz@dormagen.example>\r\nTo: akn@lists.example\r\n"
        "Subject: Grüße aus Jüchen\r\nMessage-ID: <latin1-1@dormagen.example>\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Hallo zusammen – bis bald.\r\n").encode("cp1252")


def test_8bit_latin1_subject_is_distributed_and_archived_intact(config):
    relay = Relay().start()
    contacts = load_roster(config)
    configure(config, relay)
    service = ThreadedService(config, resolver=StaticResolver()).start()
    try:
        send(service.port, "klimaschutz@dormagen.example", ["akn@lists.example"], POST)
        assert sorted(relay.sink.wait_for(len(contacts))) == sorted(contacts)
    finally:
        service.stop()
        relay.stop()
    for _, _, data in relay.sink.transactions:
        copy = email.message_from_bytes(data, policy=email.policy.default)
        assert str(copy["Subject"]) == "[AKN] Grüße aus Jüchen"
        header_block = data.split(b"\r\n\r\n", 1)[0]
        subject_line = next(line for line in header_block.split(b"\r\n") if line.lower().startswith(b"subject:"))
        assert subject_line.isascii()  # re-encoded (RFC 2047), not raw 8-bit
    connection = db_module.connect(config.database_path)
    try:
        stored = connection.execute("SELECT subject, from_name FROM archived_messages").fetchone()
    finally:
        connection.close()
    assert (stored["subject"], stored["from_name"]) == ("Grüße aus Jüchen", "Petra Hülsmann")
