"""Duplicate suppression: the same Message-ID is distributed once within a window.

An MTA that retries after a timeout, or a contact who sends the same mail twice, must not
double every mail. Window: ``[list] duplicate_window_days``. The enqueue step records
distributed Message-IDs (in the same transaction as the deliveries).
"""

from __future__ import annotations

from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services


def drop_duplicate(post: Post, services: Services) -> Decision:
    """Discard a message whose Message-ID this list distributed recently."""
    if not post.message_id:
        return Decision.next()
    since = post.now.timestamp() - services.config.list.duplicate_window_days * 86400
    row = services.db.execute(
        "SELECT outbound_id, at FROM distributed WHERE message_id = ? AND at >= ? AND source_key != ? "
        "ORDER BY at LIMIT 1",
        (post.message_id, since, post.spool_id or "-"),
    ).fetchone()
    if row is not None:
        return Decision.discard(f"duplicate: Message-ID <{post.message_id}> was already distributed (outbound {row['outbound_id']})")
    return Decision.next()
