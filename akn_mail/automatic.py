"""Is this mail automatic? The one rule that loop protection, -request, bounces and held mail share.

A message is automatic (never distributed, never answered, never told about a rejection)
when any of these hold (RFC 3834 and the habits of real mail systems):

- the envelope sender is null (``<>``: bounces and DSNs);
- the envelope sender's or From's local part is MAILER-DAEMON, postmaster or a noreply
  variant (``noreply``, ``no-reply``, ``do-not-reply`` …);
- ``Auto-Submitted`` is present and not ``no``;
- ``Precedence`` is bulk, junk or list;
- it carries ``X-Autoreply``/``X-Autorespond`` (vacation programs that predate RFC 3834);
- it carries the ``List-Id`` of another list (list traffic is nobody's personal mail).

Our own List-Id is a loop, which the loop step reports before asking this module.
"""

from __future__ import annotations

import re
from email.message import Message

AUTOMATIC_LOCAL_PARTS = re.compile(
    r"^(mailer[-_]?daemon|mail-daemon|mdaemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply)([+-].*)?$",
    re.IGNORECASE,
)


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the parser cannot decode
        return ""
    return "" if value is None else " ".join(str(value).split())


def _headers(message: Message, name: str) -> list[str]:
    try:
        return [str(value) for value in message.get_all(name, []) or []]
    except Exception:
        return []


def is_automatic_address(address: str) -> bool:
    """MAILER-DAEMON@, postmaster@, noreply@ and friends: a machine, never a person to answer."""
    address = (address or "").strip().strip("<>")
    local = address.rpartition("@")[0] if "@" in address else address
    return bool(local) and bool(AUTOMATIC_LOCAL_PARTS.match(local))


def auto_submitted(message: Message) -> str:
    """The RFC 3834 keyword (``auto-replied``, ``auto-generated`` …), or "" when absent or ``no``."""
    keyword = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    return "" if keyword in ("", "no") else keyword


def header_reason(message: Message, list_id: str = "") -> str | None:
    """Why the headers alone mark MESSAGE as automatic, or None."""
    keyword = auto_submitted(message)
    if keyword:
        return f"Auto-Submitted: {keyword} (RFC 3834)"
    precedence = _header(message, "Precedence").lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if _header(message, name):
            return f"{name} present"
    own = f"<{list_id.lower()}>" if list_id else None
    for value in _headers(message, "List-Id"):
        lowered = value.lower()
        if own is None or (own not in lowered and lowered.strip() != list_id.lower()):
            return f"List-Id of another list ({' '.join(value.split())})"
    return None


def automatic_reason(message: Message, envelope_sender: str, from_address: str = "", list_id: str = "") -> str | None:
    """Why MESSAGE is automatic (see the module docstring), or None when a person wrote it."""
    sender = (envelope_sender or "").strip()
    if not sender or sender == "<>":
        return "null envelope sender <> (a bounce or an automatic answer)"
    for address in (sender, from_address):
        if address and is_automatic_address(address):
            return f"sent by {address.strip('<>')}"
    return header_reason(message, list_id)
