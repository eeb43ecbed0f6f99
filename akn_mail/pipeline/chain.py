"""The posting pipeline: pure steps over one parsed message, in one visible order.

A message taken from the spool is parsed once (``akn_mail.message``) and handed to each
step of ``STEPS`` with a typed ``Context``. Each step returns a ``Decision``: go on to the
next step, or stop (accept, hold for a moderator, discard, reject) with a reason a person
can read. The steps live one per module in ``akn_mail/steps/``; they never import the
SMTP server. The enqueue step at the end hands the decorated message to the delivery
queue. Settings: the [list] section.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Callable

from akn_mail import logs
from akn_mail.pipeline.context import Context, Decision
from akn_mail.pipeline.steps.archive import file_in_archive
from akn_mail.pipeline.steps.decorate import decorate
from akn_mail.pipeline.steps.duplicate import drop_duplicate
from akn_mail.pipeline.steps.enqueue import enqueue
from akn_mail.pipeline.steps.loop import check_loop
from akn_mail.pipeline.steps.minutes import detect_minutes
from akn_mail.pipeline.steps.sender import check_sender

log = logging.getLogger("akn_mail.pipeline")


Step = Callable[[EmailMessage, Context], Decision]


# The order a post goes through; approving held mail resumes after check_sender.
STEPS: tuple[Step, ...] = (
    check_loop,
    check_sender,
    drop_duplicate,
    detect_minutes,
    file_in_archive,
    decorate,
    enqueue,
)


def steps_after(name: str) -> tuple[Step, ...]:
    """The steps that follow the one called ``name`` (approving held mail resumes there)."""
    steps = STEPS
    names = [step.__name__ for step in steps]
    return steps[names.index(name) + 1:]


def run(message: EmailMessage, ctx: Context, steps: tuple[Step, ...] | None = None) -> Decision:
    """Run the steps in order until one decides; a run through all of them accepts."""
    for step in steps if steps is not None else STEPS:
        decision = step(message, ctx)
        if not decision.is_next:
            logs.event(log, "decision", message_id=ctx.message_id, spool_id=ctx.spool_id,
                       step=step.__name__, action=decision.action, reason=decision.reason)
            return decision
    decision = Decision.accept("distributed")
    logs.event(log, "decision", message_id=ctx.message_id, spool_id=ctx.spool_id, step="end",
               action="accept", queue_id=ctx.outbound_id, minutes=ctx.is_minutes)
    return decision


__all__ = ["Context", "Decision", "STEPS", "Step", "run", "steps_after"]
