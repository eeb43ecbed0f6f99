"""VERP bounce addresses that only this list can make, so forged delivery reports are refused.

Every post leaves with an envelope sender that names its recipient (VERP), so the report
that comes back says whom it is about. Anyone can write to such an address, though: five
forged DSNs to ``akn-bounces+anna=dormagen.example@…`` used to disable Anna. So the local
part also carries a short HMAC (10 hex digits, 40 bits) keyed with a secret that never
leaves the data directory (``<data_dir>/verp.key``, created once with mode 0600, never in
git; delete it and every address issued before is refused):

- We do VERP ourselves (one transaction per recipient): the tag is the HMAC of the
  recipient: ``akn-bounces+3f9a0c11de+anna=dormagen.example@lists.example``.
- The relay does it (Postfix XVERP, ``[delivery] verp = "auto"``): Postfix builds the
  address itself by appending ``+anna=dormagen.example`` to our MAIL FROM, so the HMAC
  cannot depend on the recipient. Our MAIL FROM then carries a tag for the outbound mail:
  ``akn-bounces+m42.5be0f2c7a1@…``, and Postfix makes
  ``akn-bounces+m42.5be0f2c7a1+anna=dormagen.example@…``. The tag proves the list sent
  outbound mail 42; the bounce handling then checks that Anna was one of its recipients.
  Weaker than a per-recipient tag against one contact forging reports about another (the
  tag is visible in every copy's Return-Path), which the per-day cap and the Message-ID
  match below bound; nobody else can forge one.

The ingress refuses a ``-bounces+…`` address whose tag does not verify with ``550 5.7.1``
at RCPT. The plain ``akn-bounces@`` address stays open (``verp = "off"`` and null-sender
reports use it); such reports count only when their returned Message-ID matches a mail
the list delivered to the recipient they name (``akn_mail.delivery.bounces``).
Settings: [delivery] verp; the key file <data_dir>/verp.key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from akn_mail.config import Config

KEY_FILE = "verp.key"
TAG_LENGTH = 10
_RECIPIENT_TAG = re.compile(rf"^[0-9a-f]{{{TAG_LENGTH}}}$")
_OUTBOUND_TAG = re.compile(rf"^m(\d{{1,18}})\.([0-9a-f]{{{TAG_LENGTH}}})$")


class ForgedAddress(ValueError):
    """A ``-bounces+…`` address this list did not issue (its tag does not verify)."""


@dataclass(frozen=True)
class Verp:
    """What a verified VERP address says: the recipient, and the outbound mail if XVERP made it."""

    recipient: str                 # lower-case
    outbound_id: int | None = None


def key_path(config: Config) -> Path:
    return config.data_dir / KEY_FILE


def load_key(config: Config) -> bytes:
    """The list's VERP secret; created (32 random bytes, hex, mode 0600) on first use."""
    path = key_path(config)
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


def _tag(key: bytes, text: str) -> str:
    return hmac.new(key, text.lower().encode("utf-8"), hashlib.sha256).hexdigest()[:TAG_LENGTH]


def recipient_address(key: bytes, bounce_address: str, recipient: str) -> str:
    """``akn-bounces@l.example`` + ``anna@d.example`` -> ``akn-bounces+TAG+anna=d.example@l.example``."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{_tag(key, 'r:' + recipient)}+{recipient.replace('@', '=')}@{domain}"


def xverp_sender(key: bytes, bounce_address: str, outbound_id: int) -> str:
    """MAIL FROM for a relay doing XVERP: ``akn-bounces+m42.TAG@l.example`` (Postfix appends ``+rcpt=domain``)."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+m{outbound_id}.{_tag(key, f'm:{outbound_id}')}@{domain}"


def check(key: bytes, bounce_address: str, address: str) -> Verp | None:
    """The verified content of a VERP address; None if ``address`` is no VERP address of ours.

    Raises ForgedAddress for a ``<bounce local>+…`` address whose tag is missing or wrong
    (addresses from before the tags, too).
    """
    address = address.strip().strip("<>")
    local, _, domain = address.rpartition("@")
    bounce_local, _, bounce_domain = bounce_address.rpartition("@")
    prefix = bounce_local.lower() + "+"
    if domain.lower() != bounce_domain.lower() or not local.lower().startswith(prefix):
        return None
    token, separator, encoded = local[len(prefix):].lower().partition("+")
    recipient_local, equals, recipient_domain = encoded.rpartition("=")
    if not separator or not equals or not recipient_local or "." not in recipient_domain:
        raise ForgedAddress("the bounce address does not have the form this list gives out")
    recipient = f"{recipient_local}@{recipient_domain}"
    outbound = _OUTBOUND_TAG.match(token)
    if outbound and hmac.compare_digest(outbound.group(2), _tag(key, f"m:{outbound.group(1)}")):
        return Verp(recipient, int(outbound.group(1)))
    if _RECIPIENT_TAG.match(token) and hmac.compare_digest(token, _tag(key, "r:" + recipient)):
        return Verp(recipient)
    raise ForgedAddress("the check code in the bounce address does not match")
