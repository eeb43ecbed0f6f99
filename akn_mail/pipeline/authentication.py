"""Sender authentication: does a post really come from the domain in its From?

The answer is one of three verdicts, stored with the archived message:

- ``pass``: DMARC passed, or (no DMARC result) a valid DKIM signature, or an SPF pass, of
  the From domain (relaxed alignment: the same organisational domain).
- ``fail``: DMARC failed, or (no DMARC result) a signature of the From domain is broken
  and none is valid.
- ``none``: nothing says either (the domain signs nothing and publishes no DMARC).

Two sources ([auth] verify):

- ``headers``: the ``Authentication-Results`` header fields (RFC 8601, read with the
  ``authres`` library) that the MTA in front wrote, recognised by their authserv-id
  ([auth] authserv_id). Only fields above the second ``Received`` field count: the
  front MTA's milters write theirs above (or just below) its own ``Received``; anything
  further down came with the mail from outside. The MTA should also drop incoming fields
  that claim its authserv-id (RFC 8601 section 5; deploy/ shows the Postfix line). Every other Authentication-Results field is
  removed before the post is archived or distributed (``strip_foreign``).
- ``builtin``: akn-mail verifies the DKIM signatures itself (``dkimpy``) and looks up the
  From domain's DMARC record, through the resolver of ``Services`` (``txt(name)``, see
  ``akn_mail.pipeline.dmarc``; tests hand in their own, reserved names are never asked). It
  cannot check SPF: behind a front MTA, the connecting address it sees is the MTA's.
  So a domain that publishes DMARC but only authorises by SPF gets ``fail`` here.

The organisational domain is the last two labels of a name (no public suffix list); the
municipalities' domains (dormagen.de, rhein-kreis-neuss.de) fit that.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Protocol

from akn_mail.message import edit_headers, field_name, split
from akn_mail.pipeline.dmarc import DnsTemporaryError

log = logging.getLogger("akn_mail.authentication")

PASS, FAIL, NONE = "pass", "fail", "none"
VERDICTS = (PASS, FAIL, NONE)
HEADER = "authentication-results"


class TxtResolver(Protocol):
    """What builtin needs: the TXT strings at a name ([] for none); ``DmarcResolver`` is one."""

    def txt(self, name: str) -> list[str]: ...


@dataclass(frozen=True)
class Verdict:
    """A verdict and, for people, how it was reached (English, for the log and CLI)."""

    result: str = NONE
    method: str = ""      # dmarc, dkim, spf: what decided
    detail: str = ""      # e.g. "dmarc=fail header.from=dormagen.example"

    def __str__(self) -> str:
        return f"{self.result} ({self.detail})" if self.detail else self.result


def organisational_domain(domain: str) -> str:
    labels = domain.lower().rstrip(".").split(".")
    return ".".join(labels[-2:])


def aligned(domain: str, from_domain: str, strict: bool = False) -> bool:
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not domain or not from_domain:
        return False
    if strict:
        return domain == from_domain
    return organisational_domain(domain) == organisational_domain(from_domain)


# --- headers --------------------------------------------------------------------------------


def _trusted_fields(raw: bytes) -> list[tuple[int, bytes]]:
    """(position, field) of each Authentication-Results field above the second Received."""
    fields, _ = split(raw)
    received = 0
    trusted = []
    for position, raw_field in enumerate(fields):
        name = field_name(raw_field)
        if name == "received":
            received += 1
            if received >= 2:
                break
        elif name == HEADER:
            trusted.append((position, raw_field))
    return trusted


def _parse(raw_field: bytes):
    """The authres object of one field, or None when it is not RFC 8601 (Exchange Online's is not)."""
    import authres

    text = raw_field.decode("utf-8", "replace").replace("\r\n", "\n").replace("\n", "")
    try:
        return authres.AuthenticationResultsHeader.parse(text)
    except Exception:
        return None


def _ours(header, authserv_id: str) -> bool:
    return header is not None and bool(authserv_id) and str(header.authserv_id).lower() == authserv_id.lower()


def strip_foreign(raw: bytes, authserv_id: str) -> bytes:
    """``raw`` without every Authentication-Results field not written by our MTA."""
    keep = {position for position, raw_field in _trusted_fields(raw) if _ours(_parse(raw_field), authserv_id)}
    fields, rest = split(raw)
    foreign = [position for position, raw_field in enumerate(fields)
               if field_name(raw_field) == HEADER and position not in keep]
    if not foreign:
        return raw
    return b"".join(raw_field for position, raw_field in enumerate(fields) if position not in foreign) + rest


def _property(result, type_: str, name: str) -> str:
    for prop in result.properties:
        if prop.type == type_ and prop.name == name:
            return str(prop.value or "")
    return ""


def from_headers(raw: bytes, from_domain: str, authserv_id: str) -> Verdict:
    """The verdict of the Authentication-Results our MTA wrote (see the module docstring)."""
    results = []
    for _, raw_field in _trusted_fields(raw):
        header = _parse(raw_field)
        if _ours(header, authserv_id):
            results.extend(header.results)
    # The front MTA's own fields are the topmost; should a copy claiming our authserv-id
    # still have come in from outside (see the deploy example's header_checks), a failure
    # anywhere among them wins over a pass.
    dmarc = {}
    for result in results:
        if result.method == "dmarc":
            header_from = (_property(result, "header", "from") or from_domain).lower()
            if header_from == from_domain.lower():
                dmarc.setdefault(result.result, header_from)
    if FAIL in dmarc:
        return Verdict(FAIL, "dmarc", f"dmarc=fail header.from={dmarc[FAIL]}")
    if PASS in dmarc:
        return Verdict(PASS, "dmarc", f"dmarc=pass header.from={dmarc[PASS]}")
    broken = ""
    for result in results:
        if result.method == "dkim":
            domain = _property(result, "header", "d") or _property(result, "header", "i").rpartition("@")[2]
            if aligned(domain, from_domain):
                if result.result == PASS:
                    return Verdict(PASS, "dkim", f"dkim=pass header.d={domain}")
                if result.result == FAIL:
                    broken = broken or f"dkim=fail header.d={domain}"
        elif result.method == "spf" and result.result == PASS:
            domain = _property(result, "smtp", "mailfrom").rpartition("@")[2]
            if aligned(domain, from_domain):
                return Verdict(PASS, "spf", f"spf=pass smtp.mailfrom={domain}")
    if broken:
        return Verdict(FAIL, "dkim", broken)
    return Verdict(NONE)


# --- builtin --------------------------------------------------------------------------------


def _tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        key, _, value = part.partition("=")
        if key.strip():
            tags[key.strip().lower()] = value.strip()
    return tags


def dmarc_record(domain: str, resolver: TxtResolver) -> dict[str, str] | None:
    """The DMARC tags of ``domain`` (or of its organisational domain, RFC 7489 6.6.3), or None."""
    for name in dict.fromkeys([domain, organisational_domain(domain)]):
        for text in resolver.txt(f"_dmarc.{name}"):
            if re.match(r"\s*v\s*=\s*DMARC1\s*(;|$)", text, re.IGNORECASE):
                return _tags(text)
    return None


def _signature_domain(raw_field: bytes) -> str:
    match = re.search(rb"(?:^|;)\s*d\s*=\s*([^;\s]+)", raw_field.partition(b":")[2].replace(b"\r\n", b"").replace(b"\n", b""))
    return match.group(1).decode("ascii", "replace").lower() if match else ""


def builtin(raw: bytes, from_domain: str, resolver: TxtResolver) -> Verdict:
    """Verify DKIM with dkimpy and DMARC alignment ourselves (no SPF; see the module docstring)."""
    import dkim

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        records = resolver.txt(name.decode("ascii", "replace").rstrip("."))
        return records[0].encode("ascii", "replace") if records else None

    try:
        policy = dmarc_record(from_domain, resolver) if from_domain else None
        fields, _ = split(raw)
        signatures = [field_ for field_ in fields if field_name(field_) == "dkim-signature"]
        strict = bool(policy) and policy.get("adkim", "r").lower() == "s"
        valid, broken = "", ""
        for index, signature in enumerate(signatures):
            domain = _signature_domain(signature)
            if not aligned(domain, from_domain, strict):
                continue
            try:
                ok = dkim.DKIM(raw, minkey=1024).verify(idx=index, dnsfunc=dnsfunc)
            except dkim.DnsTimeoutError:
                raise DnsTemporaryError(f"DNS timeout for the key of {domain}") from None
            except Exception as error:  # a malformed signature is a failed one
                log.info("dkim verify error domain=%s error=%s", domain, error)
                ok = False
            if ok:
                valid = domain
                break
            broken = broken or domain
    except DnsTemporaryError as error:
        return Verdict(NONE, "dns", str(error))
    if valid:
        return Verdict(PASS, "dmarc" if policy else "dkim", f"dkim=pass header.d={valid}")
    if policy is not None:
        why = f"dkim=fail header.d={broken}" if broken else "no aligned DKIM signature"
        return Verdict(FAIL, "dmarc", f"dmarc=fail header.from={from_domain} ({why}; p={policy.get('p', 'none')})")
    if broken:
        return Verdict(FAIL, "dkim", f"dkim=fail header.d={broken}")
    return Verdict(NONE)


def verify(raw: bytes, from_address: str, config, resolver: TxtResolver) -> Verdict:
    """The verdict for one post, by [auth] verify."""
    from_domain = from_address.rpartition("@")[2].lower()
    mode = config.auth.verify
    if mode == "off" or not from_domain:
        return Verdict(NONE)
    if mode == "builtin":
        return builtin(raw, from_domain, resolver)
    return from_headers(raw, from_domain, config.auth.authserv_id)
