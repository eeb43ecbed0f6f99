"""Sender check: a contact of a current member posts; anyone else is held for moderation.

The author is the address in From (case-insensitive lookup on the roster). The advisor
member's contacts may post like everyone else. Mail approved by a moderator re-enters
through the spool and skips this step (the processor resumes after it).
"""

from __future__ import annotations

from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services


def check_sender(post: Post, services: Services) -> Decision:
    """Let contacts on the roster post; hold mail from anyone else with the reason."""
    if post.approved:
        return Decision.next()
    if not post.from_address:
        return Decision.hold("no usable From address")
    roster = services.roster
    contact = roster.find_contact(post.from_address)
    if contact is None:
        return Decision.hold(f"{post.from_address} is not a contact on the roster")
    member = roster.member_by_id(contact.member_id)
    if not member.is_member_on(post.now.date()):
        return Decision.hold(f"{post.from_address} is a contact of {contact.member_name}, which is not a member now")
    post.sender_member = member
    return Decision.next()
