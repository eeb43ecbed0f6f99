"""Enqueue: one delivery per contact whose delivery is enabled.

The decorated message (``post.outgoing``) is queued for every contact that
``roster.delivery_contacts()`` returns, without the author when ``[list] send_to_author`` is
false. The Message-ID is recorded as distributed in the same transaction, so a crash
either leaves both or neither, and a second run of the same spool entry queues nothing new.
"""

from __future__ import annotations

from akn_mail import db as db_module
from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services


def enqueue(post: Post, services: Services) -> Decision:
    """Queue the decorated post for every contact."""
    recipients = [contact.email for contact in services.roster.delivery_contacts()]
    if not services.config.list.send_to_author and post.from_address:
        recipients = [address for address in recipients if address.lower() != post.from_address.lower()]
    outgoing = post.outgoing if post.outgoing is not None else post.raw
    key = post.spool_id or None
    with db_module.transaction(services.db):
        post.outbound_id = services.queue.enqueue(
            outgoing, recipients, message_id=post.message_id, kind="post", key=key, subject=post.subject,
        )
        if post.message_id:
            exists = services.db.execute(
                "SELECT 1 FROM distributed WHERE outbound_id = ?", (post.outbound_id,)
            ).fetchone()
            if exists is None:
                services.db.execute(
                    "INSERT INTO distributed (message_id, outbound_id, source_key, at) VALUES (?, ?, ?, ?)",
                    (post.message_id, post.outbound_id, post.spool_id or "", post.now.timestamp()),
                )
    services.queue.notify()
    return Decision.next()
