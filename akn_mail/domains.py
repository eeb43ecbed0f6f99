"""Names that are never looked up in DNS: the reserved TLDs and documentation domains.

RFC 2606 / RFC 6761 reserve ``.example``, ``.test``, ``.invalid`` and ``.localhost`` and the
second-level names example.com/.net/.org. Tests and examples use them, so neither the
DMARC check of the decorate step nor ``akn-mail doctor`` sends a query for them.
"""

from __future__ import annotations

RESERVED_TLDS = ("example", "test", "invalid", "localhost")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")


def reserved_name(domain: str) -> str | None:
    """The reserved suffix a name lives under (".example", "example.org"), or None for a real name."""
    domain = domain.lower().rstrip(".")
    for name in RESERVED_DOMAINS:
        if domain == name or domain.endswith("." + name):
            return name
    tld = domain.rpartition(".")[2]
    return f".{tld}" if tld in RESERVED_TLDS else None
