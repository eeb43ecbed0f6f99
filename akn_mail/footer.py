"""The list footer: the ``footer.txt`` template added to every post when [list] footer = true.

Called by the decorate step. How it is added depends on the message, so that nothing a
reader or a signature checker relies on breaks:

- a plain-text single part gets the footer appended to its text (re-encoded as utf-8);
- multipart/mixed gets the footer as one more text/plain part at the end;
- multipart/signed and multipart/encrypted are never touched inside (that would break
  the signature): the whole message becomes the first part of a new multipart/mixed,
  the footer the second (what Mailman does for signed mail);
- anything else (HTML only, multipart/alternative, ...) is wrapped the same way.
"""

from __future__ import annotations

from email.generator import _make_boundary  # the boundary maker the library itself uses
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP

from .config import Config
from .templating import Templates

# Serialise without refolding any header, so that signed content keeps its bytes.
_VERBATIM = SMTP.clone(refold_source="none", max_line_length=0)

# Headers that describe the content and stay on the wrapped part; all others move to the wrapper.
_CONTENT_HEADERS = ("content-type", "content-transfer-encoding", "content-disposition", "content-description",
                    "content-id", "content-language", "mime-version")


def footer_text(config: Config) -> str:
    """The rendered footer of this list, in its language (site override wins)."""
    return Templates(config).render("footer").body


def add_footer(message: EmailMessage, config: Config, text: str | None = None) -> EmailMessage:
    """Return MESSAGE with the footer added (the same object, or a new multipart/mixed wrapper)."""
    text = footer_text(config) if text is None else text
    content_type = message.get_content_type()
    if content_type == "text/plain" and not message.is_attachment() and _appendable(message):
        _append_to_text(message, text)
        return message
    if content_type == "multipart/mixed":
        message.attach(_footer_part(text))
        return message
    return _wrap(message, text)


def _appendable(message: EmailMessage) -> bool:
    """A text part we can decode and re-encode without losing anything."""
    try:
        message.get_content()
    except (LookupError, UnicodeDecodeError, ValueError):
        return False
    return True


def _append_to_text(message: EmailMessage, text: str) -> None:
    body = message.get_content()
    if not body.endswith("\n"):
        body += "\n"
    params = {key: value for key, value in message.get_params(header="content-type")[1:]
              if key.lower() in ("format", "delsp")}
    message.set_content(body + "\n" + text, subtype="plain", charset="utf-8", cte="quoted-printable", params=params)


def _footer_part(text: str) -> MIMEPart:
    part = MIMEPart(policy=SMTP)
    part.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable", disposition="inline")
    return part


def _wrap(message: EmailMessage, text: str) -> EmailMessage:
    """Make MESSAGE's content the first part of a new multipart/mixed, its body kept byte for byte.

    The body is serialised once without refolding and carried as a string payload, which
    the generator writes verbatim: a signature over the inner parts stays valid.
    """
    raw = message.as_bytes(policy=_VERBATIM)
    separator = raw.find(b"\r\n\r\n")
    body = raw[separator + 4:] if separator >= 0 else b""
    inner = MIMEPart(policy=SMTP)
    for name, value in message.items():
        if name.lower() in _CONTENT_HEADERS and name.lower() != "mime-version":
            inner[name] = value
    if inner.get("Content-Type") is None:
        inner["Content-Type"] = "text/plain; charset=us-ascii"
    inner.set_payload(body.decode("ascii", "surrogateescape"))
    wrapper = EmailMessage(policy=SMTP)
    for name, value in message.items():
        if name.lower() not in _CONTENT_HEADERS:
            wrapper[name] = value
    wrapper["MIME-Version"] = "1.0"
    wrapper["Content-Type"] = "multipart/mixed"
    wrapper.set_payload([inner, _footer_part(text)])
    wrapper.set_boundary(_make_boundary())
    return wrapper
