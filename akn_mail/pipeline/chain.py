"""The posting pipeline: pure steps over one parsed message, in one visible order.

A message taken from the spool is parsed once into a ``Post`` (its facts) and handed to
each step of ``STEPS`` with the process's ``Services``. Each step returns a ``Decision``:
go on to the next step, or stop (accept, hold for a moderator, discard) with a reason a
person can read. The steps live one per module in ``akn_mail/pipeline/steps/``; they never
import the SMTP server. The enqueue step at the end hands the decorated message to the delivery
queue. Settings: the [list] section.
"""

from __future__ import annotations

import logging
from typing import Callable

from akn_mail import logs
from akn_mail.pipeline.context import Decision, Post
from akn_mail.pipeline.steps.agenda import collect_agenda
from akn_mail.pipeline.steps.archive import file_in_archive
from akn_mail.pipeline.steps.authenticate import authenticate
from akn_mail.pipeline.steps.decorate import decorate
from akn_mail.pipeline.steps.duplicate import drop_duplicate
from akn_mail.pipeline.steps.enqueue import enqueue
from akn_mail.pipeline.steps.loop import check_loop
from akn_mail.pipeline.steps.meeting_reply import record_meeting_reply
from akn_mail.pipeline.steps.minutes import detect_minutes
from akn_mail.pipeline.steps.new_version import hold_unverified_new_version
from akn_mail.pipeline.steps.sender import check_sender
from akn_mail.services import Services

log = logging.getLogger("akn_mail.pipeline")


Step = Callable[[Post, Services], Decision]


# The order a post goes through; an approved held post re-enters through the spool and
# resumes at authenticate, which then only reads the verdict and cleans the header (the
# checks after it let approved mail pass).
STEPS: tuple[Step, ...] = (
    record_meeting_reply,
    check_loop,
    authenticate,
    check_sender,
    drop_duplicate,
    detect_minutes,
    hold_unverified_new_version,
    collect_agenda,
    file_in_archive,
    decorate,
    enqueue,
)


def steps_after(name: str) -> tuple[Step, ...]:
    """The steps that follow the one called ``name``."""
    steps = STEPS
    names = [step.__name__ for step in steps]
    return steps[names.index(name) + 1:]


def steps_from(name: str) -> tuple[Step, ...]:
    """The step called ``name`` and all that follow (approved held mail resumes there)."""
    names = [step.__name__ for step in STEPS]
    return STEPS[names.index(name):]


def run(post: Post, services: Services, steps: tuple[Step, ...] | None = None) -> Decision:
    """Run the steps in order until one decides; a run through all of them accepts."""
    for step in steps if steps is not None else STEPS:
        decision = step(post, services)
        if not decision.is_next:
            logs.event(log, "decision", message_id=post.message_id, spool_id=post.spool_id,
                       step=step.__name__, action=decision.action, reason=decision.reason)
            return decision
    decision = Decision.accept("distributed")
    logs.event(log, "decision", message_id=post.message_id, spool_id=post.spool_id, step="end",
               action="accept", queue_id=post.outbound_id, minutes=post.is_minutes)
    return decision


__all__ = ["Decision", "Post", "STEPS", "Step", "run", "steps_after", "steps_from"]
