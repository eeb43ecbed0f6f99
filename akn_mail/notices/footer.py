"""The list footer: the ``footer.txt`` template added to every post when [list] footer = true.

Called by the decorate step on the raw bytes of the decorated post. How the footer goes in
depends on the message, so that nothing a reader or a signature checker relies on breaks:

- a plain-text single part gets the footer appended to its text (re-encoded as utf-8,
  quoted-printable; ``format=flowed`` is kept);
- multipart/mixed gets the footer as one more text/plain part before its closing boundary;
- multipart/signed and multipart/encrypted are never touched inside (that would break the
  signature): the whole content becomes the first part of a new multipart/mixed, the
  footer the second (what Mailman does for signed mail);
- anything else (HTML only, multipart/alternative, an attachment alone) is wrapped the same way.

Everything outside the place where the footer goes stays byte for byte as it came in.
"""

from __future__ import annotations

import secrets
from email import message_from_bytes
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP

from akn_mail.config import Config
from akn_mail.message import field_name, render, split
from akn_mail.notices.templating import Templates

# Header fields that describe the content: they move with it into the wrapped part.
_CONTENT_FIELDS = ("content-type", "content-transfer-encoding", "content-disposition", "content-description",
                   "content-id", "content-language", "content-md5")


def footer_text(config: Config) -> str:
    """The rendered footer of this list, in its language (a site override wins)."""
    return Templates(config).render("footer").body


def add_footer(raw: bytes, config: Config, text: str | None = None) -> bytes:
    """Return RAW (a whole message) with the footer added; see the module docstring for how."""
    text = footer_text(config) if text is None else text
    fields, rest = split(raw)
    linesep = b"\r\n" if raw.find(b"\r\n") != -1 else b"\n"
    header = message_from_bytes(b"".join(fields) + linesep, policy=SMTP)
    content_type = header.get_content_type()
    disposition = (header.get_content_disposition() or "inline")
    if content_type == "text/plain" and disposition == "inline":
        appended = _append_to_text(raw, text, fields, linesep)
        if appended is not None:
            return appended
    boundary = header.get_boundary() if header.get_content_maintype() == "multipart" else None
    if content_type == "multipart/mixed" and boundary:
        inserted = _insert_part(fields, rest, boundary, text, linesep)
        if inserted is not None:
            return inserted
    return _wrap(fields, rest, text, linesep)


def _footer_part(text: str, linesep: bytes) -> bytes:
    part = MIMEPart(policy=SMTP.clone(linesep=linesep.decode()))
    part.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable", disposition="inline")
    return part.as_bytes()


def _append_to_text(raw: bytes, text: str, fields: list[bytes], linesep: bytes) -> bytes | None:
    """Decode the text, append the footer, re-encode; None if the text cannot be decoded safely."""
    message = message_from_bytes(raw, policy=SMTP, _class=EmailMessage)
    try:
        body = message.get_content()
    except (LookupError, UnicodeDecodeError, ValueError, AssertionError):
        return None
    if message.defects:
        return None
    if not body.endswith("\n"):
        body += "\n"
    params = {key: value for key, value in message.get_params(header="content-type")[1:]
              if key.lower() in ("format", "delsp")}
    part = MIMEPart(policy=SMTP.clone(linesep=linesep.decode()))
    part.set_content(body + "\n" + text, subtype="plain", charset="utf-8", cte="quoted-printable", params=params)
    new_fields, new_body = split(part.as_bytes())
    kept = [field for field in fields if field_name(field) not in ("content-type", "content-transfer-encoding")]
    if not any(field_name(field) == "mime-version" for field in fields):
        kept.append(render("MIME-Version", "1.0", linesep.decode()))
    return b"".join(kept) + b"".join(new_fields) + new_body


def _insert_part(fields: list[bytes], rest: bytes, boundary: str, text: str, linesep: bytes) -> bytes | None:
    """Put the footer part just before the closing ``--boundary--`` of a multipart/mixed body."""
    closing = b"--" + boundary.encode("ascii", "surrogateescape") + b"--"
    position = rest.rfind(linesep + closing)
    if position == -1:
        return None  # no proper end: wrap instead of guessing
    delimiter = linesep + b"--" + boundary.encode("ascii", "surrogateescape") + linesep
    return b"".join(fields) + rest[:position] + delimiter + _footer_part(text, linesep) + rest[position:]


def _wrap(fields: list[bytes], rest: bytes, text: str, linesep: bytes) -> bytes:
    """The message's content becomes the first part of a new multipart/mixed, unchanged."""
    content = [field for field in fields if field_name(field) in _CONTENT_FIELDS]
    others = [field for field in fields if field_name(field) not in _CONTENT_FIELDS + ("mime-version",)]
    if not any(field_name(field) == "content-type" for field in content):
        content.insert(0, b"Content-Type: text/plain; charset=us-ascii" + linesep)
    boundary = "===============" + secrets.token_hex(12) + "=="
    sep = linesep.decode()
    head = b"".join(others) + render("MIME-Version", "1.0", sep) + render(
        "Content-Type", f'multipart/mixed; boundary="{boundary}"', sep)
    body = rest[len(linesep):] if rest.startswith(linesep) else rest.lstrip(b"\r\n")
    if not body.endswith(linesep):
        body += linesep
    delimiter = b"--" + boundary.encode() + linesep
    # The line break before a delimiter belongs to the delimiter (RFC 2046), hence the extra one.
    return (head + linesep + delimiter + b"".join(content) + linesep + body + linesep + delimiter
            + _footer_part(text, linesep) + linesep + b"--" + boundary.encode() + b"--" + linesep)
