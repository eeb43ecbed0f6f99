"""Archive step: file every post (and minutes) in the archive.

A documented pass-through until the archive part fills in its body: it receives every
post that passed the loop, sender and duplicate checks, with ``ctx.is_minutes`` already
set by ``detect_minutes``; it must return ``Decision.next()`` so that the post is still
decorated and distributed. It may set ``ctx.archive_id``. It may run twice for the same
spool entry after a crash, so filing must be idempotent (Message-ID).
"""

from __future__ import annotations

from email.message import EmailMessage

from ..context import Context, Decision


def file_in_archive(message: EmailMessage, ctx: Context) -> Decision:
    """Hand the post to the archive (not built yet: nothing to do, go on)."""
    return Decision.next()
