"""Decoration: what the list changes in a post before it goes out.

- Subject prefix (``[list] subject_prefix``): added when missing, never doubled; a reply
  such as ``Re: [AKN] Topic`` already carries it once and is left as it is.
- RFC 2919 ``List-Id``; RFC 2369 ``List-Post``, ``List-Help``, ``List-Owner``, ``List-Unsubscribe``
  (``mailto:<list>-request@...?subject=unsubscribe``), ``List-Archive`` when
  ``[list] archive_url`` is set; ``Precedence: list``; ``X-Loop: <list address>``.
- Reply-To (``[list] reply_to``): "list" sets it to the list address, so a plain reply
  reaches everyone; "author" leaves the author's own (replies reach the author).
- DMARC: when the author's domain would fail DMARC after these changes (its policy is
  quarantine or reject), From becomes ``"Name via AKN" <list address>`` and, with
  reply_to "author", the author is put into Reply-To. ``[list] dmarc_rewrite``: always, never, or auto (look the policy up
through ``services.resolver``, akn_mail/pipeline/dmarc.py).
The header fields are changed on the raw bytes (``message.edit_headers``), so the body and
every other field stay byte-identical.
"""

from __future__ import annotations

import logging
import re
from email.utils import getaddresses, make_msgid

from akn_mail import logs
from akn_mail.message import edit_headers, format_address, header_all, header_str, normalise_message_id
from akn_mail.notices.footer import add_footer
from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services
from akn_mail.web.addresses import archived_at

log = logging.getLogger("akn_mail.steps.decorate")

# Fields the list sets itself; copies from the incoming mail (e.g. from another list) go.
LIST_FIELDS = {
    "list-id", "list-post", "list-help", "list-unsubscribe", "list-unsubscribe-post",
    "list-archive", "list-subscribe", "list-owner", "precedence", "x-loop", "archived-at",
}


def needs_from_rewrite(post: Post, services: Services) -> bool:
    mode = services.config.list.dmarc_rewrite
    if mode == "never" or not post.from_address:
        return False
    if mode == "always":
        return True
    policy = services.resolver.policy(post.from_address.rpartition("@")[2])
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


def decorate(post: Post, services: Services) -> Decision:
    """Add the list's headers and subject prefix; rewrite From when DMARC needs it."""
    config = services.config
    message = post.message
    list_address = config.list.address
    request = config.list_alias("request")
    add: list[tuple[str, str]] = [
        ("List-Id", f"{config.list.description} <{config.list_id}>"),
        ("List-Post", f"<mailto:{list_address}>"),
        ("List-Help", f"<mailto:{request}?subject=help>"),
        ("List-Owner", f"<mailto:{config.list_alias('owner')}>"),
        ("List-Unsubscribe", f"<mailto:{request}?subject=unsubscribe>"),
    ]
    if config.list.archive_url:
        add.append(("List-Archive", f"<{config.list.archive_url}>"))
        # RFC 5064: where this very post is in the HTML archive (its thread page, #m<ID>).
        where = archived_at(config, services.db, post.archive_id)
        if where:
            add.append(("Archived-At", f"<{where}>"))
    add += [("Precedence", "list"), ("X-Loop", list_address)]

    replace: dict[str, str] = {}
    if not header_str(message, "Message-ID"):
        # Every copy needs the same Message-ID, for threading, the archive and duplicate checks
        # (the processor derives one from the bytes; a step run alone makes one up).
        if not post.message_id:
            post.message_id = normalise_message_id(make_msgid(domain=config.list_domain))
        replace["Message-ID"] = f"<{post.message_id}>"
    subject = prefixed_subject(post.subject, config.list.subject_prefix)
    if subject is not None:
        replace["Subject"] = subject
    rewrite = needs_from_rewrite(post, services)
    if rewrite:
        name = post.from_name or post.from_address.partition("@")[0]
        replace["From"] = format_address(f"{name} via {config.list.name}", list_address)
    if config.list.reply_to == "list":
        # "Antworten" reaches the whole list, as the welcome mail promises.
        replace["Reply-To"] = format_address(config.list.name, list_address)
    elif rewrite:
        reply_to = [address for _, address in getaddresses(header_all(message, "Reply-To")) if address]
        if post.from_address.lower() not in (address.lower() for address in reply_to):
            reply_to.append(post.from_address)
        replace["Reply-To"] = ", ".join(reply_to)
    if rewrite:
        logs.event(log, "decision", message_id=post.message_id, step="decorate", action="rewrite_from",
                   reason="DMARC", sender=post.from_address)
    post.outgoing = edit_headers(post.raw, remove=LIST_FIELDS, replace=replace, prepend=add)
    if config.list.footer:  # the footer template, as its own MIME part where needed (akn_mail/footer.py)
        post.outgoing = add_footer(post.outgoing, config)
    return Decision.next()
