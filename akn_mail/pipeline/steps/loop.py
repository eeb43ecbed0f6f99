"""Loop and auto-reply protection: mail that must never be fanned out (RFC 3834).

Discards (and logs) mail that already went through this list (our List-Id or X-Loop),
automatic replies (``Auto-Submitted`` other than ``no``, vacation headers), bulk mail
(``Precedence: bulk|junk|list``) and bounces (empty envelope sender, MAILER-DAEMON).
Bounces sent to the -bounces address never reach this step; the service routes them.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from akn_mail.pipeline.context import Context, Decision
from akn_mail.message import header_all, header_str

_DAEMONS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailer_daemon)@", re.IGNORECASE)


def check_loop(message: EmailMessage, ctx: Context) -> Decision:
    """Discard looping mail, bounces and automatic replies instead of distributing them."""
    list_id = ctx.config.list_id.lower()
    for value in header_all(message, "List-Id"):
        if f"<{list_id}>" in value.lower() or value.strip().lower() == list_id:
            return Decision.discard(f"loop: already distributed by this list (List-Id {ctx.config.list_id})")
    for value in header_all(message, "X-Loop"):
        if ctx.list_address.lower() in value.lower():
            return Decision.discard(f"loop: X-Loop {ctx.list_address} present")
    if not ctx.envelope_sender:
        return Decision.discard("bounce: empty envelope sender <> (bounces and DSNs are never distributed)")
    if _DAEMONS.match(ctx.envelope_sender) or _DAEMONS.match(ctx.from_address or ""):
        return Decision.discard("bounce: mail from MAILER-DAEMON/postmaster is never distributed")
    auto = header_str(message, "Auto-Submitted").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return Decision.discard(f"auto-reply: Auto-Submitted: {auto.split(';')[0].strip()} (RFC 3834)")
    precedence = header_str(message, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return Decision.discard(f"auto-reply or bulk mail: Precedence: {precedence}")
    for name in ("X-Autoreply", "X-Autorespond"):
        if header_str(message, name):
            return Decision.discard(f"auto-reply: {name} present")
    return Decision.next()
