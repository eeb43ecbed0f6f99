"""DKIM signing of every mail the list sends ([dkim] domain, selector, key_file).

The delivery queue signs a message once, when it stores it (``DeliveryQueue.enqueue``):
the bytes in the queue are the signed bytes, every recipient, every retry and every VERP
copy carry the same signature, and a resend after a crash sends exactly what was stored.
Signing per recipient at send time would cost an RSA operation per copy and make the bytes
sent differ from the bytes stored. The envelope (VERP sender, recipients) and the
``Return-Path`` the outbox writer adds are not signed, so they may differ per copy.

Canonicalisation relaxed/relaxed survives what relays commonly do (re-folding header
fields, trailing whitespace). The key is RSA-2048, written by ``akn-mail dkim keygen``
together with the TXT record to publish at ``<selector>._domainkey.<domain>``.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path

from akn_mail.errors import AknError

# Header fields signed when present: those a reader sees and a list changes. Signed once
# more than they occur (dkimpy's default oversigning of From and Subject) nobody can add one.
SIGNED_FIELDS = (
    b"from", b"to", b"cc", b"reply-to", b"subject", b"date", b"message-id", b"in-reply-to", b"references",
    b"mime-version", b"content-type", b"content-transfer-encoding", b"list-id", b"list-post", b"list-help",
    b"list-unsubscribe", b"list-archive", b"precedence", b"auto-submitted",
)
SELECTOR = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
KEY_BITS = 2048


class DkimError(AknError):
    """The DKIM key cannot be used (missing, unreadable, not an RSA key) or not written."""


@dataclass(frozen=True)
class DkimSigner:
    """Signs messages for one domain and selector with one private key."""

    domain: str
    selector: str
    key: bytes  # PEM

    @classmethod
    def from_config(cls, config) -> "DkimSigner | None":
        """The signer of [dkim], or None when signing is off (domain empty)."""
        settings = config.dkim
        if not settings.domain:
            return None
        path = config.resolve(settings.key_file)
        key = read_key(path)
        if not SELECTOR.match(settings.selector):
            raise DkimError(f"[dkim] selector {settings.selector!r} is not a DNS label (letters, digits, '-', '.').")
        return cls(settings.domain.lower(), settings.selector, key)

    def sign(self, message: bytes) -> bytes:
        """``message`` with a DKIM-Signature field on top (CRLF line ends)."""
        import dkim

        message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        try:
            signature = dkim.sign(
                message, self.selector.encode("ascii"), self.domain.encode("ascii"), self.key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[name for name in SIGNED_FIELDS if _has_field(message, name)] or [b"from"],
            )
        except dkim.DKIMException as error:
            raise DkimError(f"DKIM signing failed: {error}") from None
        return signature.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + message


def _has_field(message: bytes, name: bytes) -> bool:
    header = message.split(b"\r\n\r\n", 1)[0]
    return re.search(rb"(?im)^" + re.escape(name) + rb"[ \t]*:", header) is not None


def read_key(path: Path) -> bytes:
    """The PEM private key in ``path``, checked to be an RSA key; DkimError says what is wrong."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DkimError(f"[dkim] key_file {path} does not exist; create it with: akn-mail dkim keygen --selector SELECTOR --out {path}") from None
    except OSError as error:
        raise DkimError(f"[dkim] key_file {path} cannot be read ({error.strerror}); it must be readable by the service user.") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise DkimError(f"[dkim] key_file {path} is not an unencrypted PEM private key ({error}).") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise DkimError(f"[dkim] key_file {path} holds a {type(key).__name__}, not an RSA key.")
    if key.key_size < 1024:
        raise DkimError(f"[dkim] key_file {path} is a {key.key_size}-bit key; receivers need at least 1024 bits (use 2048).")
    # dkimpy reads the traditional (PKCS#1) form; store whatever was given in that form.
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def public_key_base64(private_pem: bytes) -> str:
    """The p= value of the TXT record: the public key, DER SubjectPublicKeyInfo, base64."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem, password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def txt_value(private_pem: bytes) -> str:
    return f"v=DKIM1; k=rsa; p={public_key_base64(private_pem)}"


def zone_line(selector: str, domain: str, private_pem: bytes) -> str:
    """The record as a zone-file line; the value split into strings of at most 255 characters."""
    value = txt_value(private_pem)
    chunks = " ".join(f'"{value[i:i + 250]}"' for i in range(0, len(value), 250))
    return f"{selector}._domainkey.{domain}. IN TXT ( {chunks} )"


def published_key(records: list[str]) -> str | None:
    """The p= value of the DKIM record among ``records`` (TXT strings), or None."""
    for text in records:
        tags = {}
        for part in text.split(";"):
            name, _, value = part.partition("=")
            tags[name.strip().lower()] = re.sub(r"\s+", "", value)
        if "p" in tags and tags.get("v", "DKIM1").upper() == "DKIM1":
            return tags["p"]
    return None


def generate_key(path: Path) -> bytes:
    """Write a new RSA-2048 private key to ``path`` (mode 0600, never over an existing file)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise DkimError(f"{path} already exists; keygen never overwrites a key. Choose another --out, or remove the old key first.") from None
    except OSError as error:
        raise DkimError(f"cannot create {path}: {error.strerror}.") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, 0o600)  # whatever the umask said
    return pem
