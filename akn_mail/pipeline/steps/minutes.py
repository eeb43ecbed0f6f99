"""Minutes detection: a subject carrying the minutes tag marks the post as minutes.

The tag (``[list] minutes_tag``, default ``[Protokoll]``) is matched case-insensitively in
the RFC 2047-decoded subject, also after the list prefix (``[AKN] [Protokoll] ...``), but
not on replies and forwards (``Re:``, ``AW:``, ``Fwd:``, ``WG:`` ...), which only talk about
minutes. The rule itself is ``akn_mail.subject.is_minutes`` (``archive import`` uses it too).
The archive step files posts marked this way as the minutes of a meeting.
"""

from __future__ import annotations

from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services
from akn_mail.subject import is_minutes


def detect_minutes(post: Post, services: Services) -> Decision:
    """Mark the post as minutes when its subject carries the minutes tag (not on replies)."""
    settings = services.config.list
    post.is_minutes = is_minutes(post.subject, settings.minutes_tag, settings.subject_prefix)
    return Decision.next()
