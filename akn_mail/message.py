"""Reading and changing one message.

Reading uses mail-parser (decoded From, Subject, Message-ID; parser defects), with the
standard library as a fallback when mail-parser gives up. Changing works on the raw bytes:
only the header fields that the list changes are cut out or added (each new field rendered
by the standard library's ``email`` package with ``policy.SMTP``, which RFC 2047-encodes and
folds it); everything else, and the whole body, stays byte-identical.
"""

from __future__ import annotations

import base64
import binascii
import email
import hashlib
import logging
import re
from dataclasses import dataclass, field
from email import policy
from email import quoprimime
from email.headerregistry import Address, UnstructuredHeader
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

log = logging.getLogger("akn_mail.message")

# Headers longer than this are not handed to mail-parser (a 10,000-line header is
# refused at the SMTP edge anyway; see ingress.MAX_HEADER_BYTES).
_MAILPARSER_LIMIT = 2 * 1024 * 1024


@dataclass
class Parsed:
    """A message read once: the stdlib object the steps see, plus decoded key headers."""

    message: EmailMessage
    message_id: str = ""           # without angle brackets
    subject: str = ""
    from_address: str = ""         # lower-cased
    from_name: str = ""
    defects: list[str] = field(default_factory=list)


def parse(raw: bytes) -> Parsed:
    """Parse ``raw``; never raises for bad input (problems end up in ``defects``)."""
    message = email.message_from_bytes(raw, policy=policy.SMTP)
    parsed = Parsed(message)
    parsed.defects.extend(type(defect).__name__ for defect in message.defects)
    try:
        if len(raw) > _MAILPARSER_LIMIT and b"\n\n" not in raw[:_MAILPARSER_LIMIT] and b"\r\n\r\n" not in raw[:_MAILPARSER_LIMIT]:
            raise ValueError("header too large for mail-parser")
        import mailparser

        mail = mailparser.parse_from_bytes(raw)
        parsed.subject = _clean(mail.subject or "")
        parsed.message_id = normalise_message_id(mail.message_id or "")
        senders = mail.from_ or []
        if senders:
            parsed.from_name, parsed.from_address = senders[0][0] or "", (senders[0][1] or "")
        for defect in mail.defects_categories or ():
            if defect not in parsed.defects:
                parsed.defects.append(defect)
    except Exception as error:  # mail-parser raises many kinds on hostile input
        parsed.defects.append(f"mail-parser: {type(error).__name__}")
        parsed.subject = _clean(header_str(message, "Subject"))
        parsed.message_id = normalise_message_id(header_str(message, "Message-ID"))
        name, address = parseaddr(header_str(message, "From"))
        parsed.from_name, parsed.from_address = name, address
    # Subject and the From name as mail clients show them (8-bit bytes, WHATWG charset
    # labels, undecodable encoded words kept); mail-parser drops or mangles those.
    subject = raw_header_bytes(raw, "Subject")
    if subject is not None:
        parsed.subject = _clean(decode_header(subject))
    sender = decoded_sender(raw)
    if sender is not None and sender[0]:
        parsed.from_name = sender[0]
    parsed.from_address = _clean(parsed.from_address).strip().lower()
    parsed.from_name = _clean(parsed.from_name).strip()
    if "@" not in parsed.from_address:
        parsed.from_address = ""
    return parsed


_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def message_ids(value: str) -> list[str]:
    """Every Message-ID in a header value (References, In-Reply-To), without angle brackets."""
    value = _clean(value or "")
    found = _MESSAGE_ID.findall(value)
    if not found and value and "<" not in value:
        found = value.split()[:1]
    return found


def normalise_message_id(value: str) -> str:
    """The one form a Message-ID is stored, compared and logged in: no angle brackets, no spaces.

    ``<a@b>``, ``  a@b `` and ``<a@b> (comment)`` all become ``a@b``; "" when there is none.
    """
    ids = message_ids(str(value or ""))
    return ids[0] if ids else ""


def raw_header(raw: bytes, name: str) -> str:
    """A header's raw value read without any MIME parser (for mail the parser cannot read)."""
    fields, _ = split(raw[:1024 * 1024])
    wanted = name.lower()
    for raw_field in fields:
        if field_name(raw_field) == wanted:
            value = raw_field.split(b":", 1)[1]
            return " ".join(value.decode("utf-8", "replace").split())
    return ""


def fallback_message_id(raw: bytes, domain: str) -> str:
    """A Message-ID for a message that has none: the same bytes always get the same one.

    Derived from the bytes, so a re-run after a crash, the archive and every distributed
    copy agree on it, and an identical retry by the sender's MTA is seen as a duplicate.
    """
    return f"archive-{hashlib.sha256(raw).hexdigest()[:24]}@{domain}"


def _clean(value: str) -> str:
    """One line, no control characters (hostile headers must not break logs or the CLI)."""
    value = str(value)
    return re.sub(r"[\x00-\x1f\x7f]+", " ", value).strip()


def header_str(message: EmailMessage, name: str) -> str:
    """A header's decoded value, or "" (also when the header cannot be parsed)."""
    try:
        value = message.get(name)
    except Exception:  # the stdlib raises on some broken headers when decoding them
        return ""
    return "" if value is None else str(value)


def header_all(message: EmailMessage, name: str) -> list[str]:
    try:
        return [str(value) for value in message.get_all(name, [])]
    except Exception:
        return []


def addresses(message: EmailMessage, name: str) -> list[str]:
    return [address for _, address in getaddresses(header_all(message, name)) if address]


# --- decoding header text as mail clients do ---------------------------------------

# WHATWG Encoding Standard: these labels mean windows-1252 in every browser and mail client,
# because Outlook and others label Windows-1252 text (the en dash =96, the euro sign =80)
# as iso-8859-1. Read literally, =96 is the invisible control U+0096.
_WINDOWS_1252_LABELS = frozenset({
    "iso-8859-1", "iso8859-1", "iso_8859-1", "iso88591", "iso_8859-1:1987", "latin1", "latin-1", "l1",
    "us-ascii", "ascii", "ansi_x3.4-1968", "cp819", "ibm819", "csisolatin1", "iso-ir-100", "x-cp1252",
    "windows-1252", "cp1252",
})
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)[ \t\r\n]+(?==\?[^?\s]+\?[bBqQ]\?)")


def _windows_1252(data: bytes) -> str:
    """Windows-1252 as WHATWG defines it: the five bytes cp1252 leaves open map to U+0081…."""
    return "".join(chunk.decode("cp1252") if len(chunk) > 1 or chunk not in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
                   else chr(chunk[0]) for chunk in re.findall(rb"[\x81\x8d\x8f\x90\x9d]|[^\x81\x8d\x8f\x90\x9d]+", data))


def decode_text(data: bytes, charset: str | None = "utf-8") -> str:
    """Bytes in ``charset`` (a MIME label) as text; None when they cannot be read in it.

    The labels iso-8859-1, latin1 and us-ascii are read as Windows-1252 (WHATWG), which
    never fails; an unknown label or bytes invalid in the charset give None.
    """
    label = (charset or "utf-8").strip().strip('"').lower().partition("*")[0]  # RFC 2231 language tag
    if label in _WINDOWS_1252_LABELS:
        return _windows_1252(data)
    try:
        return data.decode(label)
    except (LookupError, UnicodeDecodeError):
        return None


def decode_header(value: bytes | str) -> str:
    """A header field's value as a person reads it in Thunderbird or Outlook, on one line.

    - Raw 8-bit bytes (no RFC 2047) are UTF-8 where they are valid UTF-8, else Windows-1252.
    - Encoded words (``=?charset?Q/B?…?=``) are decoded, with the WHATWG labels above read
      as Windows-1252; white space between two encoded words is dropped (RFC 2047 6.2).
    - An encoded word that cannot be decoded (unknown charset, broken base64, bytes invalid
      in its charset) is kept as its text, never dropped.
    """
    if isinstance(value, bytes):
        text = decode_text(value, "utf-8")
        if text is None:
            text = _windows_1252(value)
    else:
        text = value
    text = re.sub(r"\r?\n(?=[ \t])", "", text)  # unfold (RFC 5322 2.2.3)
    text = _BETWEEN_WORDS.sub("", text)

    # Adjacent encoded words in one charset are decoded together, as Thunderbird does: a
    # broken encoder may split one character's UTF-8 bytes across two words.
    out: list[str] = []
    run: list[tuple[str, bytes | None, str]] = []  # (charset, bytes or None if unreadable, text)
    position = 0

    def flush() -> None:
        if not run:
            return
        charset = run[0][0]
        if all(data is not None and label == charset for label, data, _ in run):
            decoded = decode_text(b"".join(data for _, data, _ in run), charset)
            if decoded is not None:
                out.append(decoded)
                run.clear()
                return
        for label, data, original in run:  # decode word by word; keep what cannot be read
            decoded = decode_text(data, label) if data is not None else None
            out.append(original if decoded is None else decoded)
        run.clear()

    for match in _ENCODED_WORD.finditer(text):
        if match.start() != position:
            flush()
            out.append(text[position:match.start()])
        position = match.end()
        charset, kind, payload = match.group(1).lower(), match.group(2).upper(), match.group(3)
        try:
            if kind == "B":
                data = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
            else:
                data = quoprimime.header_decode(payload).encode("latin-1")
        except (binascii.Error, ValueError, UnicodeEncodeError):
            data = None
        run.append((charset, data, match.group(0)))
    flush()
    out.append(text[position:])
    return "".join(out)


def raw_header_bytes(raw: bytes, name: str) -> bytes | None:
    """The raw bytes of the first header field ``name`` (after the colon, unfolding left to the reader), or None."""
    wanted = name.lower()
    fields, _ = split(raw[:1024 * 1024])
    for raw_field in fields:
        if field_name(raw_field) == wanted:
            return raw_field.partition(b":")[2].strip()
    return None


def decoded_sender(raw: bytes) -> tuple[str, str] | None:
    """(display name, address) of From, decoded as ``decode_header`` does; None without From."""
    value = raw_header_bytes(raw, "From")
    if value is None:
        return None
    text = decode_text(value, "utf-8")
    if text is None:
        text = _windows_1252(value)
    name, address = parseaddr(re.sub(r"\r?\n(?=[ \t])", "", text))
    return decode_header(name), address


# --- changing headers on the raw bytes --------------------------------------------

_FIELD_NAME = re.compile(rb"^([!-9;-~]+)[ \t]*:")


def split(raw: bytes) -> tuple[list[bytes], bytes]:
    """The header fields (each with its continuation lines and line ending) and the rest.

    The rest starts with the empty line that ends the header, so ``b"".join(fields) + rest``
    is ``raw`` again, byte for byte.
    """
    fields: list[bytes] = []
    position = 0
    length = len(raw)
    while position < length:
        end = raw.find(b"\n", position)
        end = length if end == -1 else end + 1
        line = raw[position:end]
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
        position = end
    return fields, raw[position:]


def field_name(raw_field: bytes) -> str:
    match = _FIELD_NAME.match(raw_field)
    return match.group(1).decode("ascii").lower() if match else ""


class HeaderPolicy(policy.EmailPolicy):
    """``policy.SMTP``, except for non-ASCII free-text headers (Subject, List-Id).

    The folder of Python 3.11 (and ``email.header.Header``) can split such a header at a
    space between two encoded words, where decoders drop it: "Wärmeplanung – Frist" came out
    as "Wärmeplanung –Frist". Here the whole text is encoded and split between characters,
    never at a space, so every space stays inside an encoded word.
    """

    def _fold(self, name, value, refold_binary=False):
        if isinstance(value, UnstructuredHeader) and not str(value).isascii():
            return fold_encoded(name, str(value), self.linesep)
        return super()._fold(name, value, refold_binary)


def fold_encoded(name: str, text: str, linesep: str = "\r\n") -> str:
    """``Name: =?utf-8?q?…?=`` + linesep, folded between characters into lines of ≤ 78."""
    words, chunk = [], ""
    for character in text:
        # RFC 2047: an encoded word is at most 75 characters; the first line also holds "Name: ".
        limit = min(75, 76 - len(name)) if not words else 75
        if chunk and len(quoprimime.header_encode((chunk + character).encode("utf-8"), "utf-8")) > limit:
            words.append(chunk)
            chunk = ""
        chunk += character
    words.append(chunk)
    encoded = (linesep + " ").join(quoprimime.header_encode(word.encode("utf-8"), "utf-8") for word in words)
    return f"{name}: {encoded}{linesep}"


SMTP_POLICY = HeaderPolicy(linesep="\r\n")


def render(name: str, value: str, linesep: str = "\r\n") -> bytes:
    """One header field as bytes, RFC 2047-encoded and folded by ``SMTP_POLICY``."""
    smtp = SMTP_POLICY.clone(linesep=linesep)
    return smtp.fold(name, smtp.header_factory(name, value)).encode("ascii", "surrogateescape")


def edit_headers(raw: bytes, *, remove: set[str] = frozenset(), replace: dict[str, str] | None = None,
                 prepend: list[tuple[str, str]] | None = None) -> bytes:
    """Return ``raw`` with header fields removed, replaced in place, or added at the top.

    ``replace`` keeps the position of the first field of that name (and drops the others);
    a name not present is added at the end of the header. Field names are case-insensitive.
    """
    replace = {name.lower(): (name, value) for name, value in (replace or {}).items()}
    remove = {name.lower() for name in remove}
    fields, rest = split(raw)
    linesep = "\r\n" if (fields[0].endswith(b"\r\n") if fields else raw.find(b"\r\n") != -1) else "\n"
    out: list[bytes] = [render(name, value, linesep) for name, value in (prepend or [])]
    done: set[str] = set()
    for raw_field in fields:
        name = field_name(raw_field)
        if name in remove:
            continue
        if name in replace:
            if name not in done:
                out.append(render(*replace[name], linesep))
                done.add(name)
            continue
        if not raw_field.endswith(b"\n"):  # a header without a body and no final newline
            raw_field += linesep.encode()
        out.append(raw_field)
    for name, (original, value) in replace.items():
        if name not in done:
            out.append(render(original, value, linesep))
    if not rest:
        rest = linesep.encode()
    return b"".join(out) + rest


# --- structure checks that need no parser (the SMTP edge runs them before 250) ---------

# Real mail nests header comments a level or two ("(Central European Time)"); the
# standard library's header parser recurses once per level.
MAX_COMMENT_DEPTH = 20
_CONTAINER = re.compile(rb"^\s*(multipart/|message/(rfc822|global)\b)", re.IGNORECASE)
_BOUNDARY = re.compile(rb"boundary\s*=\s*(?:\"([^\"\r\n]+)\"|([^\s;\"]+))", re.IGNORECASE)


def comment_depth(value: bytes) -> int:
    """How deeply the (comments) of a header value nest, counted without recursion."""
    depth = deepest = 0
    quoted = escaped = False
    for byte in value:
        if escaped:
            escaped = False
        elif byte == 0x5C:  # backslash
            escaped = True
        elif byte == 0x22 and depth == 0:  # a quoted string (no comments inside)
            quoted = not quoted
        elif quoted:
            continue
        elif byte == 0x28:
            depth += 1
            deepest = max(deepest, depth)
        elif byte == 0x29 and depth:
            depth -= 1
    return deepest


def _container(fields: list[bytes]) -> tuple[str, bytes | None] | None:
    """("multipart", boundary) or ("message", None) from a part's header fields, else None."""
    for raw_field in fields:
        if field_name(raw_field) != "content-type":
            continue
        value = b" ".join(raw_field.split(b":", 1)[1].split())
        match = _CONTAINER.match(value)
        if not match:
            return None
        if match.group(1).lower().startswith(b"multipart"):
            boundary = _BOUNDARY.search(value)
            return ("multipart", (boundary.group(1) or boundary.group(2)).strip()) if boundary else None
        return ("message", None)
    return None


def _fields_at(raw: bytes, start: int) -> tuple[list[bytes], int]:
    """The header fields from START (continuation lines joined) and the position after the blank line."""
    fields: list[bytes] = []
    position, length = start, len(raw)
    while position < length:
        end = raw.find(b"\n", position)
        end = length if end == -1 else end + 1
        line = raw[position:end].rstrip(b"\r\n")
        position = end
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b" " + line.strip()
        else:
            fields.append(line)
    return fields, position


def _comment_problem(fields: list[bytes]) -> str | None:
    for raw_field in fields:
        if comment_depth(raw_field) > MAX_COMMENT_DEPTH:
            return f"header comments nested deeper than {MAX_COMMENT_DEPTH} levels ({field_name(raw_field) or 'a header'})"
    return None


def structure_problem(raw: bytes, max_depth: int) -> str | None:
    """Why RAW would drive a MIME parser too deep, in words for an SMTP reply, or None.

    One pass with a stack of open multipart boundaries (and attached messages), looking
    only at header blocks and at lines that start with ``--``: no parser runs, so no
    nesting can make this recurse, and a 25 MB attachment costs a few ``bytes.find``.
    """
    stack: list[bytes | None] = []
    position, expect_header = 0, True
    while True:
        if expect_header:
            fields, position = _fields_at(raw, position)
            problem = _comment_problem(fields)
            if problem is not None:
                return problem
            container = _container(fields)
            expect_header = False
            if container is not None:
                stack.append(container[1])
                if len(stack) > max_depth:
                    return f"MIME parts nested deeper than {max_depth} levels"
                expect_header = container[0] == "message"  # an attached message's header follows
                continue
        if all(boundary is None for boundary in stack):
            return None  # what follows is the body of a single part: parsers never look inside
        found = raw.find(b"\n--", position - 1)
        if found == -1:
            return None
        end = raw.find(b"\n", found + 1)
        end = len(raw) if end == -1 else end
        text = raw[found + 1:end].rstrip()
        position = end + 1
        for index in range(len(stack) - 1, -1, -1):
            boundary = stack[index]
            if boundary is None:
                continue
            if text == b"--" + boundary + b"--":
                del stack[index:]
                break
            if text == b"--" + boundary:
                del stack[index + 1:]
                expect_header = True
                break


def format_address(name: str, address: str) -> str:
    """``"Anna Example" <anna@example.org>`` with the quoting the header needs."""
    try:
        local, _, domain = address.rpartition("@")
        return str(Address(display_name=name, username=local, domain=domain))
    except (ValueError, IndexError):
        return f"{name} <{address}>" if name else address
