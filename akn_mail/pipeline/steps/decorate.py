"""Decoration: what the list changes in a post before it goes out.

- Subject prefix (``[list] subject_prefix``): added when missing, never doubled; a reply
  such as ``Re: [AKN] Topic`` already carries it once and is left as it is.
- RFC 2919 ``List-Id``; RFC 2369 ``List-Post``, ``List-Help``, ``List-Unsubscribe``
  (``mailto:<list>-request@...?subject=unsubscribe``), ``List-Archive`` when
  ``[list] archive_url`` is set; ``Precedence: list``; ``X-Loop: <list address>``.
- DMARC: when the author's domain would fail DMARC after these changes (its policy is
  quarantine or reject), From becomes ``"Name via AKN" <list address>`` and the author is
  put into Reply-To. ``[list] dmarc_rewrite``: always, never, or auto (look the policy up).
The header fields are changed on the raw bytes (``message.edit_headers``), so the body and
every other field stay byte-identical.
"""

from __future__ import annotations

import logging
import re
import threading
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid

from akn_mail import logs
from akn_mail.pipeline.context import Context, Decision
from akn_mail.domains import reserved_name
from akn_mail.notices.footer import add_footer
from akn_mail.message import edit_headers, format_address, header_all, header_str

log = logging.getLogger("akn_mail.steps.decorate")

# Names under these top-level domains are reserved (RFC 2606/6761) and never looked up.

# Fields the list sets itself; copies from the incoming mail (e.g. from another list) go.
LIST_FIELDS = {
    "list-id", "list-post", "list-help", "list-unsubscribe", "list-unsubscribe-post",
    "list-archive", "list-subscribe", "list-owner", "precedence", "x-loop",
}


class DnsDmarcResolver:
    """Looks up ``_dmarc.<domain>`` TXT with dnspython; short timeout; answers ``p=`` or None.

    Never queries names under the reserved TLDs. When DNS does not answer, it says
    ``"unknown"``, and decoration rewrites From to be safe (a rewritten From is only
    cosmetic, a rejected mail is lost for that recipient).
    """

    def __init__(self, timeout: float = 2.0):
        self.timeout = timeout
        self.cache: dict[str, str | None] = {}
        self.lock = threading.Lock()

    def policy(self, domain: str) -> str | None:
        domain = domain.lower().rstrip(".")
        if not domain or reserved_name(domain):
            return None
        with self.lock:
            if domain in self.cache:
                return self.cache[domain]
        result = self._lookup(domain)
        if result is None and domain.count(".") > 1:
            # No record at the subdomain: the organisational domain's policy applies (RFC 7489 6.6.3).
            result = self._lookup(".".join(domain.split(".")[-2:]))
        with self.lock:
            self.cache[domain] = result
        return result

    def _lookup(self, domain: str) -> str | None:
        try:
            import dns.exception
            import dns.resolver

            answer = dns.resolver.resolve(f"_dmarc.{domain}", "TXT", lifetime=self.timeout)
        except Exception as error:  # NXDOMAIN / no answer: no policy; anything else: unknown
            name = type(error).__name__
            if name in ("NXDOMAIN", "NoAnswer", "NoNameservers") or "NXDOMAIN" in name:
                return None
            log.warning("dmarc lookup failed domain=%s error=%s", domain, name)
            return "unknown"
        for record in answer:
            text = b"".join(record.strings).decode("ascii", "replace")
            if text.lower().startswith("v=dmarc1"):
                match = re.search(r"(?:^|;)\s*p\s*=\s*(\w+)", text, re.IGNORECASE)
                return match.group(1).lower() if match else "none"
        return None


DEFAULT_RESOLVER = DnsDmarcResolver()


def needs_from_rewrite(ctx: Context) -> bool:
    mode = ctx.config.list.dmarc_rewrite
    if mode == "never" or not ctx.from_address:
        return False
    if mode == "always":
        return True
    resolver = ctx.resolver if ctx.resolver is not None else DEFAULT_RESOLVER
    policy = resolver.policy(ctx.from_address.rpartition("@")[2])
    return policy in ("quarantine", "reject", "unknown")


def prefixed_subject(subject: str, prefix: str) -> str | None:
    """The subject with the list prefix exactly once, or None when it needs no change."""
    if not prefix:
        return None
    pattern = re.compile(re.escape(prefix), re.IGNORECASE)
    found = list(pattern.finditer(subject))
    if len(found) == 1:
        return None
    if not found:
        return f"{prefix} {subject}".rstrip()
    first = found[0]
    rest = pattern.sub("", subject[first.end():])
    return re.sub(r"\s{2,}", " ", subject[:first.end()] + rest).strip()


def decorate(message: EmailMessage, ctx: Context) -> Decision:
    """Add the list's headers and subject prefix; rewrite From when DMARC needs it."""
    config = ctx.config
    list_address = config.list.address
    request = config.list_alias("request")
    add: list[tuple[str, str]] = [
        ("List-Id", f"{config.list.description} <{config.list_id}>"),
        ("List-Post", f"<mailto:{list_address}>"),
        ("List-Help", f"<mailto:{request}?subject=help>"),
        ("List-Unsubscribe", f"<mailto:{request}?subject=unsubscribe>"),
    ]
    if config.list.archive_url:
        add.append(("List-Archive", f"<{config.list.archive_url}>"))
    add += [("Precedence", "list"), ("X-Loop", list_address)]

    replace: dict[str, str] = {}
    if not header_str(message, "Message-ID"):
        # Every copy needs the same Message-ID, for threading, the archive and duplicate checks
        # (the processor derives one from the bytes; a step run alone makes one up).
        if not ctx.message_id:
            ctx.message_id = make_msgid(domain=config.list_domain).strip("<>")
        replace["Message-ID"] = f"<{ctx.message_id}>"
    subject = prefixed_subject(ctx.subject, config.list.subject_prefix)
    if subject is not None:
        replace["Subject"] = subject
    if needs_from_rewrite(ctx):
        name = ctx.from_name or ctx.from_address.partition("@")[0]
        replace["From"] = format_address(f"{name} via {config.list.name}", list_address)
        reply_to = [address for _, address in getaddresses(header_all(message, "Reply-To")) if address]
        if ctx.from_address.lower() not in (address.lower() for address in reply_to):
            reply_to.append(ctx.from_address)
        replace["Reply-To"] = ", ".join(reply_to)
        logs.event(log, "decision", message_id=ctx.message_id, step="decorate", action="rewrite_from",
                   reason="DMARC", sender=ctx.from_address)
    ctx.outgoing = edit_headers(ctx.raw, remove=LIST_FIELDS, replace=replace, prepend=add)
    if config.list.footer:  # the footer template, as its own MIME part where needed (akn_mail/footer.py)
        ctx.outgoing = add_footer(ctx.outgoing, config)
    return Decision.next()
