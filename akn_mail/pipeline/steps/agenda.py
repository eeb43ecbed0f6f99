"""Agenda items: a post whose subject carries ``[list] agenda_tag`` (default ``[TOP]``) is
collected for the agenda of the next meeting, or of the quarter named after the tag
(``[TOP] 2027-Q2 Stadtradeln``). It is distributed like any other post; replies
(``AW: [TOP] …``) only talk about an item and add nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from akn_mail.meetings.agenda import Agenda, agenda_subject
from akn_mail.pipeline.context import Decision, Post
from akn_mail.roster.quarter import Quarter
from akn_mail.services import Services

log = logging.getLogger("akn_mail.pipeline")


def next_meeting_id(services: Services, today: dt.date, quarter: str | None = None) -> int | None:
    """The meetings.id of QUARTER's regular meeting, or of the next meeting not yet held."""
    rotation = services.rotation
    if quarter:
        return rotation.ensure_meeting(quarter)
    if rotation.anchor(today, create=False) is None:
        return None
    candidates = []
    for entry in rotation.schedule(4, Quarter.current(today), today=today, store_start=False):
        if entry.status in ("held", "cancelled", "unassigned") or entry.host is None:
            continue
        day = entry.date or Quarter.parse(entry.quarter).last_day
        if day < today:
            continue
        candidates.append((day, entry))
    if not candidates:
        return None
    _, entry = min(candidates, key=lambda pair: pair[0])
    return entry.meeting_id if entry.meeting_id is not None else rotation.ensure_meeting(entry.quarter)


def collect_agenda(post: Post, services: Services) -> Decision:
    """Add a [TOP] post's subject to the agenda of its meeting; the post goes on."""
    settings = services.config.list
    found = agenda_subject(post.subject, settings.agenda_tag, settings.subject_prefix)
    if found is None:
        return Decision.next()
    title, quarter = found
    meeting_id = next_meeting_id(services, post.now.date(), quarter)
    if meeting_id is None or not title:
        log.warning("agenda item not collected message_id=%s reason=%s", post.message_id,
                    "no meeting ahead" if meeting_id is None else "empty title")
        return Decision.next()
    author = post.sender_member.name if post.sender_member is not None else (post.from_name or post.from_address)
    item = Agenda(services.db).add(meeting_id, title, author, post.message_id)
    if item is not None:
        log.info("agenda item collected message_id=%s meeting=%s position=%s", post.message_id, meeting_id, item.position)
    return Decision.next()
