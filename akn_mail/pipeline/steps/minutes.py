"""Minutes detection: a subject carrying the minutes tag marks the post as minutes.

The tag (``[list] minutes_tag``, default ``[Protokoll]``) is matched case-insensitively in
the RFC 2047-decoded subject, also after the list prefix (``[AKN] [Protokoll] ...``), but
not on replies and forwards (``Re:``, ``AW:``, ``Fwd:``, ``WG:`` ...), which only talk about
minutes. The archive step files posts marked this way as the minutes of a meeting.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from akn_mail.pipeline.context import Context, Decision

# Reply and forward markers of common mail programs (English, German, Nordic, Dutch).
REPLY_PREFIX = re.compile(r"^\s*(re|aw|antw|wg|fw|fwd|sv|vs|tr|rif|r)\s*(\[\d+\])?\s*:", re.IGNORECASE)


def strip_list_prefix(subject: str, prefix: str) -> str:
    """The subject without any copy of the list prefix (case-insensitive)."""
    if not prefix:
        return subject.strip()
    return re.sub(re.escape(prefix), " ", subject, flags=re.IGNORECASE).strip()


def is_reply(subject: str, prefix: str = "") -> bool:
    return bool(REPLY_PREFIX.match(strip_list_prefix(subject, prefix)))


def detect_minutes(message: EmailMessage, ctx: Context) -> Decision:
    """Mark the post as minutes when its subject carries the minutes tag (not on replies)."""
    tag = ctx.config.list.minutes_tag
    subject = ctx.subject
    ctx.is_minutes = bool(
        tag
        and tag.lower() in subject.lower()
        and not is_reply(subject, ctx.config.list.subject_prefix)
    )
    return Decision.next()
