"""Reading an archived message: headers, the text a person reads, and its attachments.

From, Subject and Message-ID come from the one reading of a message
(``akn_mail.message.parse``, mail-parser), handed in by the pipeline or made here, so the
archive never disagrees with the pipeline about them. The body and the attachments are
walked with the standard library's ``email`` package (``policy.default`` decodes charsets).
Broken headers or parts never stop filing: what cannot be read is left empty. Attachment names are made safe here (no directories, no control characters),
because they end up as file names on the disk of whoever exports them.
"""

from __future__ import annotations

import datetime
import email
import email.utils
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import EmailMessage

from akn_mail.archive.extract import html_text, text_headings
from akn_mail.message import Parsed, decode_text, message_ids, normalise_message_id, parse

MAX_FILENAME = 120
_RESERVED = re.compile(r'[<>:"/\\|?*]')


@dataclass
class Attachment:
    position: int
    filename: str          # safe
    original_name: str
    content_type: str
    data: bytes
    charset: str | None = None


@dataclass
class ParsedMail:
    message_id: str
    date: datetime.datetime
    from_address: str
    from_name: str
    subject: str
    in_reply_to: str
    references: list[str]
    body: str
    headings: list[str]
    attachments: list[Attachment] = field(default_factory=list)
    message: EmailMessage | None = None


def header(message: EmailMessage, name: str) -> str:
    """A decoded header as one line, or "" when missing or unreadable."""
    try:
        value = message.get(name)
    except Exception:  # a malformed header the parser cannot decode
        value = None
        for key, raw in message.raw_items():
            if key.lower() == name.lower():
                value = str(raw)
                break
    if value is None:
        return ""
    return " ".join(str(value).split())


def message_date(message: EmailMessage, fallback: datetime.datetime) -> datetime.datetime:
    try:
        parsed = email.utils.parsedate_to_datetime(header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        return fallback
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def safe_filename(name: str, position: int, content_type: str = "") -> str:
    """A file name that cannot leave its directory or confuse a terminal.

    ``../../etc/passwd`` -> ``passwd``; control characters and reserved characters are
    dropped; an empty or dot-only name becomes ``attachment-N.ext``.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _RESERVED.sub("_", name)
    name = " ".join(name.split()).strip(" .")
    if not name or set(name) <= {"."}:
        extension = mimetypes.guess_extension(content_type or "") or ".bin"
        name = f"attachment-{position}{extension}"
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: MAX_FILENAME - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILENAME]
    return name


def unique_names(names: list[str]) -> list[str]:
    """The same names, with " (2)", " (3)" added where a name repeats (case-insensitive)."""
    seen: set[str] = set()
    result = []
    for name in names:
        candidate, number = name, 1
        while candidate.lower() in seen:
            number += 1
            stem, dot, extension = name.rpartition(".")
            candidate = f"{stem} ({number}).{extension}" if dot and stem else f"{name} ({number})"
        seen.add(candidate.lower())
        result.append(candidate)
    return result


def _payload(part: EmailMessage) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        payload = part.get_payload()
        data = payload.encode("utf-8", "replace") if isinstance(payload, str) else b""
    return data


def _text_of(part: EmailMessage) -> str:
    data = _payload(part)
    for charset in (part.get_content_charset(), "utf-8", "windows-1252"):
        if charset:
            text = decode_text(data, charset)  # iso-8859-1/us-ascii read as Windows-1252 (WHATWG)
            if text is not None:
                return text
    return data.decode("cp1252", errors="replace")


def read(raw: bytes, fallback_date: datetime.datetime | None = None, parsed: Parsed | None = None) -> ParsedMail:
    """Everything the archive keeps about a message, from its bytes (and its one parse, if made)."""
    parsed = parsed if parsed is not None else parse(raw)
    message = parsed.message  # walked for the body and attachments; not parsed a second time
    fallback_date = fallback_date or datetime.datetime.now(datetime.timezone.utc)
    body_part = None
    try:
        body_part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        body_part = None
    body, headings = "", []
    skipped = set()
    if body_part is not None:
        skipped.add(id(body_part))
        text = _text_of(body_part)
        if body_part.get_content_subtype() == "html":
            body, headings = html_text(text)
        else:
            body, headings = text, text_headings(text)
        # The HTML twin of a text/plain body is the same text: not an attachment.
        try:
            alternative = message.get_body(preferencelist=("html",))
        except Exception:
            alternative = None
        if alternative is not None and alternative is not body_part and _is_inline(alternative):
            skipped.add(id(alternative))
            if not body.strip():  # an empty text part beside the real HTML one
                body, headings = html_text(_text_of(alternative))
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart() or id(part) in skipped or part is message and body_part is message:
            continue
        if part.get_content_type() == "message/rfc822":
            continue
        position = len(attachments) + 1
        original = ""
        try:
            original = part.get_filename() or ""
        except Exception:
            original = ""
        content_type = part.get_content_type()
        attachments.append(
            Attachment(position, safe_filename(original, position, content_type), original, content_type,
                       _payload(part), part.get_content_charset())
        )
    names = unique_names([attachment.filename for attachment in attachments])
    for attachment, name in zip(attachments, names):
        attachment.filename = name
    references = message_ids(header(message, "References"))
    return ParsedMail(
        message_id=parsed.message_id,
        date=message_date(message, fallback_date),
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        subject=parsed.subject,
        in_reply_to=normalise_message_id(header(message, "In-Reply-To")),
        references=references,
        body=body,
        headings=headings,
        attachments=attachments,
        message=message,
    )


def _is_inline(part: EmailMessage) -> bool:
    try:
        return part.get_content_disposition() != "attachment" and not part.get_filename()
    except Exception:
        return False
