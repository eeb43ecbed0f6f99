"""Enqueue: one delivery per contact whose delivery is enabled.

The decorated message (``ctx.outgoing``) is queued for every contact that
``roster.delivery_contacts()`` returns, without the author when ``[list] send_to_author`` is
false. The Message-ID is recorded as distributed in the same transaction, so a crash
either leaves both or neither, and a second run of the same spool entry queues nothing new.
"""

from __future__ import annotations

from email.message import EmailMessage

from akn_mail import db as db_module
from akn_mail.pipeline.context import Context, Decision


def enqueue(message: EmailMessage, ctx: Context) -> Decision:
    """Queue the decorated post for every contact."""
    if ctx.queue is None or ctx.roster is None:
        return Decision.hold("the delivery queue or the roster is not available")
    recipients = [contact.email for contact in ctx.roster.delivery_contacts()]
    if not ctx.config.list.send_to_author and ctx.from_address:
        recipients = [address for address in recipients if address.lower() != ctx.from_address.lower()]
    outgoing = ctx.outgoing if ctx.outgoing is not None else ctx.raw
    key = ctx.spool_id or None
    with db_module.transaction(ctx.db):
        ctx.outbound_id = ctx.queue.enqueue(
            outgoing, recipients, message_id=ctx.message_id, kind="post", key=key, subject=ctx.subject,
        )
        if ctx.message_id:
            exists = ctx.db.execute(
                "SELECT 1 FROM distributed WHERE outbound_id = ?", (ctx.outbound_id,)
            ).fetchone()
            if exists is None:
                ctx.db.execute(
                    "INSERT INTO distributed (message_id, outbound_id, source_key, at) VALUES (?, ?, ?, ?)",
                    (ctx.message_id, ctx.outbound_id, ctx.spool_id or "", ctx.now.timestamp()),
                )
    ctx.queue.notify()
    return Decision.next()
