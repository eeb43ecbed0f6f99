"""Sender check: a contact of a current member posts; anyone else is held for moderation.

The author is the address in From (case-insensitive lookup on the roster). The advisor
member's contacts may post like everyone else. Mail approved by a moderator skips this step.
"""

from __future__ import annotations

from email.message import EmailMessage

from akn_mail.pipeline.context import Context, Decision


def check_sender(message: EmailMessage, ctx: Context) -> Decision:
    """Let contacts on the roster post; hold mail from anyone else with the reason."""
    if ctx.approved:
        return Decision.next()
    if not ctx.from_address:
        return Decision.hold("no usable From address")
    if ctx.roster is None:
        return Decision.hold("the roster is not available, so the sender cannot be checked")
    contact = ctx.roster.find_contact(ctx.from_address)
    if contact is None:
        return Decision.hold(f"{ctx.from_address} is not a contact on the roster")
    member = ctx.roster.member_by_id(contact.member_id)
    if not member.is_member_on(ctx.now.date()):
        return Decision.hold(f"{ctx.from_address} is a contact of {contact.member_name}, which is not a member now")
    ctx.sender_contact = contact
    ctx.sender_member = member
    return Decision.next()
