"""Duplicate suppression: the same Message-ID is distributed once within a window.

An MTA that retries after a timeout, or a contact who sends the same mail twice, must not
double every mail. Window: ``[list] duplicate_window_days``. The enqueue step records
distributed Message-IDs (in the same transaction as the deliveries).
"""

from __future__ import annotations

from email.message import EmailMessage

from akn_mail.pipeline.context import Context, Decision


def drop_duplicate(message: EmailMessage, ctx: Context) -> Decision:
    """Discard a message whose Message-ID this list distributed recently."""
    if not ctx.message_id:
        return Decision.next()
    since = ctx.now.timestamp() - ctx.config.list.duplicate_window_days * 86400
    row = ctx.db.execute(
        "SELECT outbound_id, at FROM distributed WHERE message_id = ? AND at >= ? AND source_key != ? "
        "ORDER BY at LIMIT 1",
        (ctx.message_id, since, ctx.spool_id or "-"),
    ).fetchone()
    if row is not None:
        return Decision.discard(f"duplicate: Message-ID <{ctx.message_id}> was already distributed (outbound {row['outbound_id']})")
    return Decision.next()
