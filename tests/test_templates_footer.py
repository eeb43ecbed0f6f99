"""The footer: appended to plain text, a part of its own in multipart mail, signed mail untouched."""

from __future__ import annotations

import email
from email.policy import SMTP

from service_support import Relay, ThreadedService, configure, load_roster, post, send

from akn_mail.config import Config
from akn_mail.notices.footer import add_footer, footer_text

SIGNED_CONTENT = (
    b"--sig42\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Gr=C3=BC=C3=9Fe aus Dormagen   \r\n"
    b"--sig42\r\n"
    b"Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n"
    b"\r\n"
    b"-----BEGIN PGP SIGNATURE-----\r\n"
    b"iQEzBAEBCAAdFiEE\r\n"
    b"-----END PGP SIGNATURE-----\r\n"
    b"--sig42--\r\n"
)
SIGNED = (
    b"From: Petra H\xc3\xbclsmann <klimaschutz@dormagen.example>\r\n"
    b"To: akn@lists.example\r\n"
    b"Subject: signiert\r\n"
    b"Message-ID: <signed-1@dormagen.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\";\r\n"
    b" boundary=\"sig42\"\r\n"
    b"\r\n" + SIGNED_CONTENT
)
MIXED = (
    b"From: a@dormagen.example\r\nSubject: Anlage\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
    b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nanbei\r\n"
    b"--XX\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
    b"--XX--\r\n"
)


def test_footer_text_is_the_rendered_template():
    text = footer_text(Config())
    assert text == (
        "_______________________________________________\n"
        "Allianz für Klima und Nachhaltigkeit im Rhein-Kreis Neuss – akn@lists.example\n"
        "Abmelden und Fragen: akn-owner@lists.example\n"
    )


def test_plain_latin1_text_gets_footer_appended_as_utf8():
    raw = ("From: a@b.example\nSubject: x\nContent-Type: text/plain; charset=iso-8859-1; format=flowed\n"
           "Content-Transfer-Encoding: 8bit\n\nGrüße aus Kaarst\n").encode("latin-1")
    out = email.message_from_bytes(add_footer(raw, Config()), policy=SMTP)
    assert out.get_content_type() == "text/plain"
    assert out.get_content_charset() == "utf-8"
    assert out.get_param("format") == "flowed"
    assert out.get_content() == "Grüße aus Kaarst\n\n" + footer_text(Config())
    assert out["Subject"] == "x"


def test_multipart_mixed_gets_a_footer_part_and_keeps_its_parts_byte_for_byte():
    out = add_footer(MIXED, Config())
    parsed = email.message_from_bytes(out, policy=SMTP)
    parts = [part.get_content_type() for part in parsed.iter_parts()]
    assert parts == ["text/plain", "application/pdf", "text/plain"]
    assert list(parsed.iter_parts())[-1].get_content().replace("\r\n", "\n") == footer_text(Config())
    assert MIXED[: MIXED.index(b"\r\n--XX--")] in out
    assert not parsed.defects


def test_signed_mail_is_wrapped_and_its_signed_content_is_untouched():
    out = add_footer(SIGNED, Config())
    parsed = email.message_from_bytes(out, policy=SMTP)
    assert parsed.get_content_type() == "multipart/mixed"
    signed, footer = list(parsed.iter_parts())
    assert signed.get_content_type() == "multipart/signed"
    assert signed.get_param("protocol") == "application/pgp-signature"
    assert footer.get_content().replace("\r\n", "\n") == footer_text(Config())
    assert SIGNED_CONTENT in out  # every byte the signature covers, trailing blanks included
    assert parsed["Subject"] == "signiert" and parsed["Message-ID"] == "<signed-1@dormagen.example>"
    assert not parsed.defects


def test_html_only_mail_is_wrapped_not_edited():
    raw = b"From: a@b.example\r\nSubject: h\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hallo</p>\r\n"
    parsed = email.message_from_bytes(add_footer(raw, Config()), policy=SMTP)
    html, footer = list(parsed.iter_parts())
    assert html.get_content_type() == "text/html" and html.get_content().strip() == "<p>Hallo</p>"
    assert footer.get_content_type() == "text/plain"


def test_footer_reaches_contacts_through_the_service(config: Config):
    relay = Relay().start()
    configure(config, relay)
    config.list.footer = True
    addresses = load_roster(config)
    service = ThreadedService(config).start()
    try:
        send(service.port, "klimaschutz@dormagen.example", [config.list.address], SIGNED)
        send(service.port, "klimaschutz@dormagen.example", [config.list.address],
             post(subject="Radverkehr", message_id="<plain-1@dormagen.example>"))
        relay.sink.wait_for(2 * len(addresses))
    finally:
        service.stop()
        relay.stop()
    messages = [email.message_from_bytes(m, policy=SMTP) for m in relay.sink.messages_to("m.schaefer@juechen.example")]
    by_subject = {str(m["Subject"]): m for m in messages}
    signed = by_subject["[AKN] signiert"]
    assert signed.get_content_type() == "multipart/mixed"
    raw_signed = relay.sink.messages_to("m.schaefer@juechen.example")[messages.index(signed)]
    assert SIGNED_CONTENT in raw_signed
    plain = by_subject["[AKN] Radverkehr"]
    assert plain.get_content().replace("\r\n", "\n").endswith(footer_text(config))
