"""Archive step: file every post (and minutes) in the archive.

Receives every post that passed the loop, sender and duplicate checks, with
``post.is_minutes`` set by ``detect_minutes``. Files the original bytes in the Maildir and
the metadata in SQLite (``akn_mail.archive.filing``), links minutes to their meeting, wakes
the background indexer (``akn_mail.archive.indexer``) that adds the text to the search
index moments later and, for minutes, reads their results and sends the host a receipt; with
[archive] html_dir set it rewrites the HTML archive's pages the post changes
(``akn_mail.web.site``). Filing is
idempotent by Message-ID, so a re-run after a crash files nothing twice. Always goes on
to the next step: archiving never stops a post from being distributed; a failure to
store raises, so the spool entry is kept and retried.
"""

from __future__ import annotations

import logging

from akn_mail import logs
from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services

log = logging.getLogger("akn_mail.archive")


def file_in_archive(post: Post, services: Services) -> Decision:
    """File the post; minutes are linked to their meeting and acknowledged to the sender."""
    # Imported here: the archive package loads whoosh, which the SMTP edge process (it
    # imports the pipeline through service.py) never needs.
    from akn_mail.archive.indexer import BackgroundIndexer

    filed = services.archive.file(post.raw, parsed=post.parsed, is_minutes=post.is_minutes,
                                  member=post.sender_member, received=post.now, index=False, auth=post.auth)
    post.archive_id = filed.message.id
    if not filed.duplicate:
        BackgroundIndexer.for_config(services.config, wakeup=services.wakeup).notify()
    # logs.event quotes values with spaces (meeting="extra 2027-03-20") so each stays one field.
    logs.event(
        log, "archived", message_id=filed.message.message_id, id=filed.message.id, minutes=filed.message.is_minutes,
        meeting=filed.message.meeting or "", flags=filed.message.flags, auth=filed.message.auth,
        duplicate=filed.duplicate,
    )
    # The receipt for minutes follows from the indexer, once the attachments are read and the
    # results (decisions, tasks) found in them can be listed.
    if services.config.archive.html_dir and not filed.duplicate:
        from akn_mail.web.site import update_after_filing

        update_after_filing(services.config, services.db, services.archive, [filed.message.id])
    return Decision.next()
