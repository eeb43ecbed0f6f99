"""Archive step: file every post (and minutes) in the archive.

Receives every post that passed the loop, sender and duplicate checks, with
``ctx.is_minutes`` set by ``detect_minutes``. Files the original bytes in the Maildir and
the metadata in SQLite (``akn_mail.archive.filing``), links minutes to their meeting, wakes
the background indexer (``akn_mail.archive.indexer``) that adds the text to the search
index moments later, and sends the host a receipt for minutes. Filing is
idempotent by Message-ID, so a re-run after a crash files nothing twice. Always goes on
to the next step: archiving never stops a post from being distributed; a failure to
store raises, so the spool entry is kept and retried.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

from akn_mail import logs
from akn_mail.pipeline.context import Context, Decision

log = logging.getLogger("akn_mail.archive")


_last: tuple | None = None  # (config, db, roster, Archive) of the last post


def _archive_for(ctx: Context):
    """One Archive per worker's config, database and roster, not one per post."""
    global _last
    from akn_mail.archive.filing import Archive

    last = _last
    if last is not None and last[0] is ctx.config and last[1] is ctx.db and last[2] is ctx.roster:
        return last[3]
    archive = Archive(ctx.config, ctx.db, roster=ctx.roster)
    _last = (ctx.config, ctx.db, ctx.roster, archive)
    return archive


def file_in_archive(message: EmailMessage, ctx: Context) -> Decision:
    """File the post; minutes are linked to their meeting and acknowledged to the sender."""
    from akn_mail.archive.indexer import BackgroundIndexer
    from akn_mail.notices.notices import send_minutes_receipt

    archive = _archive_for(ctx)
    filed = archive.file(ctx.raw, is_minutes=ctx.is_minutes, member=ctx.sender_member, received=ctx.now, index=False)
    ctx.archive_id = filed.message.id
    if not filed.duplicate:
        BackgroundIndexer.for_config(ctx.config).notify()
    # logs.event quotes values with spaces (meeting="extra 2027-03-20") so each stays one field.
    logs.event(
        log, "archived", message_id=filed.message.message_id, id=filed.message.id, minutes=filed.message.is_minutes,
        meeting=filed.message.meeting or "", flags=filed.message.flags, duplicate=filed.duplicate,
    )
    if filed.message.is_minutes and not filed.duplicate:
        send_minutes_receipt(ctx.config, ctx.db, filed.message.id)
    return Decision.next()
