"""Calendar answers: an iTIP REPLY to the list is recorded for the meeting, never distributed.

First in the chain, so that an answer from Google (whose envelope sender is Google's
bounce address) or a contact's second address is recorded or logged before the loop and
sender checks look at it. A reply whose sender fails authentication (the verdict of
``[auth]``, as for posts) is not recorded: a forged answer in a contact's name must not
change the attendance. Everything else goes on unchanged.
"""

from __future__ import annotations

from akn_mail.meetings import itip
from akn_mail.meetings.replies import record_reply
from akn_mail.pipeline.authentication import FAIL, verify
from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services


def record_meeting_reply(post: Post, services: Services) -> Decision:
    """Discard a calendar answer (Accept/Tentative/Decline) after recording it per contact."""
    replies = itip.read_replies(post.message)
    if replies is None:
        return Decision.next()
    verdict = verify(post.raw, post.from_address, services.config, services.resolver)
    if verdict.result == FAIL:
        return Decision.discard(f"calendar reply not recorded: sender authentication failed ({verdict.detail})")
    reason = record_reply(services.db, post.message, post.from_address, post.now, replies=replies)
    if reason is None:
        return Decision.next()
    return Decision.discard(reason)
