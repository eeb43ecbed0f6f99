"""Loop and auto-reply protection: mail that must never be fanned out (RFC 3834).

Discards (and logs) mail that already went through this list (our List-Id or X-Loop),
and every automatic mail as ``akn_mail.automatic`` defines it: bounces (null sender,
MAILER-DAEMON, postmaster, noreply), automatic replies (``Auto-Submitted`` other than
``no``, vacation headers), bulk mail (``Precedence: bulk|junk|list``) and mail from other
lists. Bounces sent to the -bounces address never reach this step; the processor routes them.
"""

from __future__ import annotations

from akn_mail.automatic import automatic_reason
from akn_mail.message import header_all
from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services


def check_loop(post: Post, services: Services) -> Decision:
    """Discard looping mail, bounces and automatic replies instead of distributing them."""
    config = services.config
    list_id = config.list_id.lower()
    for value in header_all(post.message, "List-Id"):
        if f"<{list_id}>" in value.lower() or value.strip().lower() == list_id:
            return Decision.discard(f"loop: already distributed by this list (List-Id {config.list_id})")
    for value in header_all(post.message, "X-Loop"):
        if config.list.address.lower() in value.lower():
            return Decision.discard(f"loop: X-Loop {config.list.address} present")
    reason = automatic_reason(post.message, post.envelope_sender, post.from_address, config.list_id)
    if reason:
        return Decision.discard(f"automatic mail: {reason}")
    return Decision.next()
