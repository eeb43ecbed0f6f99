"""akn_mail.message: reading never raises; changing headers keeps every other byte."""

from __future__ import annotations

import pytest

from akn_mail import message

HOSTILE = {
    "empty": b"",
    "binary": bytes(range(256)) * 10,
    "garbage addresses": b"From: <<<@@@>>>, \"unterminated\r\nSubject: =?utf-8?b?////?=\r\n\r\nx\r\n",
    "unknown charset": (b"From: a@b.example\r\nContent-Type: text/plain; charset=x-unknown\r\n"
                        b"Content-Transfer-Encoding: base64\r\n\r\n!!!\r\n"),
    "8-bit header": "From: Jürgen <j@b.example>\r\nSubject: Grüße\r\n\r\nä\r\n".encode("latin-1"),
    "control characters": b"From: a@b.example\r\nSubject: line\x1b[31m red \x07\r\n\r\nx\r\n",
    # Larger than mail-parser is given: the standard library reads it alone.
    "huge header": b"".join(b"X-F%d: y\r\n" % n for n in range(300000)) + b"From: z@b.example\r\n\r\nx\r\n",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_parse_never_raises(name):
    parsed = message.parse(HOSTILE[name])
    assert "\x1b" not in parsed.subject and "\n" not in parsed.subject
    assert parsed.from_address == "" or "@" in parsed.from_address


def test_parse_falls_back_to_the_standard_library_for_a_huge_header():
    parsed = message.parse(HOSTILE["huge header"])
    assert "mail-parser: ValueError" in parsed.defects
    assert parsed.from_address == "z@b.example"


def test_parse_decodes_the_key_headers():
    parsed = message.parse(
        b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <J.Mueller@Juechen.Example>\r\n"
        b"Subject: =?utf-8?q?[Protokoll]_W=C3=A4rmeplanung?=\r\nMessage-ID: <abc@juechen.example>\r\n\r\nx\r\n"
    )
    assert (parsed.from_name, parsed.from_address) == ("Jürgen Müller", "j.mueller@juechen.example")
    assert parsed.subject == "[Protokoll] Wärmeplanung"
    assert parsed.message_id == "abc@juechen.example"


def test_split_and_join_give_the_same_bytes():
    raw = b"A: 1\r\nB: 2\r\n folded\r\n\r\nbody\r\n\r\nmore\r\n"
    fields, rest = message.split(raw)
    assert fields == [b"A: 1\r\n", b"B: 2\r\n folded\r\n"]
    assert b"".join(fields) + rest == raw


def test_edit_headers_changes_only_what_it_is_told():
    raw = b"From: a@b.example\r\nSubject: alt\r\nX-Keep:  odd   spacing \r\nsubject: second\r\n\r\n\xe4 8-bit body\r\n"
    out = message.edit_headers(raw, remove={"x-gone"}, replace={"Subject": "neu"}, prepend=[("List-Id", "<a.b>")])
    assert out == (b"List-Id: <a.b>\r\nFrom: a@b.example\r\nSubject: neu\r\nX-Keep:  odd   spacing \r\n"
                   b"\r\n\xe4 8-bit body\r\n")


def test_edit_headers_keeps_lf_messages_lf():
    out = message.edit_headers(b"From: a@b.example\nSubject: x\n\nbody\n", replace={"Subject": "Grüße"})
    assert out == b"From: a@b.example\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n\nbody\n"
