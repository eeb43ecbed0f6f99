"""Calendar answers: an iTIP REPLY to the list is recorded for the meeting, never distributed.

First in the chain, so that an answer from Google (whose envelope sender is Google's
bounce address) or a contact's second address is recorded or logged before the loop and
sender checks look at it. Everything else goes on unchanged.
"""

from __future__ import annotations

from akn_mail.meetings.replies import record_reply
from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services


def record_meeting_reply(post: Post, services: Services) -> Decision:
    """Discard a calendar answer (Accept/Tentative/Decline) after recording it per contact."""
    reason = record_reply(services.db, post.message, post.from_address, post.now)
    if reason is None:
        return Decision.next()
    return Decision.discard(reason)
