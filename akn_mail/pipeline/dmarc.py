"""DMARC policy lookups for the decorate step, cached with a lifetime.

``DmarcResolver.policy(domain)`` answers the ``p=`` of ``_dmarc.<domain>`` (falling back to
the organisational domain, RFC 7489 6.6.3), ``None`` when the domain publishes no policy,
or ``"unknown"`` when DNS did not answer (the decorate step then rewrites From to be safe).
Answers are kept for an hour, failures only for a few minutes, so one DNS timeout does
not rewrite a domain's From until the next restart. The TXT lookup itself is injected
(``lookup``): the service passes dnspython's, tests pass their own. Names under the
reserved top-level domains (RFC 2606/6761) are never looked up.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Callable

from akn_mail.domains import reserved_name

log = logging.getLogger("akn_mail.dmarc")

ANSWER_SECONDS = 3600.0
FAILURE_SECONDS = 300.0


class NoRecord(Exception):
    """The name has no TXT record (NXDOMAIN, no answer): the domain publishes no policy."""


class DnsTemporaryError(Exception):
    """DNS did not answer (timeout, SERVFAIL): the answer is unknown, not empty."""


def dns_txt(name: str, timeout: float = 2.0) -> list[str]:
    """The TXT strings of NAME via dnspython; ``NoRecord`` when there are none."""
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=timeout)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
        raise NoRecord(name) from None
    return [b"".join(record.strings).decode("ascii", "replace") for record in answer]


class DmarcResolver:
    """Looks up DMARC policies through ``lookup`` and caches them (see the module docstring)."""

    def __init__(self, lookup: Callable[[str], list[str]] = dns_txt, *, answer_seconds: float = ANSWER_SECONDS,
                 failure_seconds: float = FAILURE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.lookup = lookup
        self.answer_seconds = answer_seconds
        self.failure_seconds = failure_seconds
        self.clock = clock
        self.cache: dict[str, tuple[float, str | None]] = {}
        self.lock = threading.Lock()

    def policy(self, domain: str) -> str | None:
        domain = domain.lower().rstrip(".")
        if not domain or reserved_name(domain):
            return None
        now = self.clock()
        with self.lock:
            cached = self.cache.get(domain)
        if cached is not None and cached[0] > now:
            return cached[1]
        result = self._lookup(domain)
        if result is None and domain.count(".") > 1:
            result = self._lookup(".".join(domain.split(".")[-2:]))
        lifetime = self.failure_seconds if result == "unknown" else self.answer_seconds
        with self.lock:
            self.cache[domain] = (now + lifetime, result)
        return result

    def txt(self, name: str) -> list[str]:
        """The TXT strings at NAME, for sender authentication (DKIM keys, DMARC records).

        [] when there are none and for reserved names (never looked up); not cached (dkimpy
        asks once per signature). ``DnsTemporaryError`` when DNS did not answer.
        """
        name = name.lower().rstrip(".")
        if not name or reserved_name(name):
            return []
        try:
            return list(self.lookup(name))
        except NoRecord:
            return []
        except Exception as error:
            log.warning("dns lookup failed name=%s error=%s", name, type(error).__name__)
            raise DnsTemporaryError(f"no DNS answer for {name} ({type(error).__name__})") from None

    def _lookup(self, domain: str) -> str | None:
        try:
            records = self.lookup(f"_dmarc.{domain}")
        except NoRecord:
            return None
        except Exception as error:  # timeout, refused, broken answer: unknown for a few minutes
            log.warning("dmarc lookup failed domain=%s error=%s", domain, type(error).__name__)
            return "unknown"
        for text in records:
            if text.lower().startswith("v=dmarc1"):
                match = re.search(r"(?:^|;)\s*p\s*=\s*(\w+)", text, re.IGNORECASE)
                return match.group(1).lower() if match else "none"
        return None
