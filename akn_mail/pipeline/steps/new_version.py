"""Guard on minutes: a new version of a meeting's minutes needs an authenticated sender.

A new version replaces the meeting's current minutes in the archive and in search, so a
forged ``[Protokoll]`` mail would rewrite the record. When the sender's verdict is not
``pass`` (whatever [auth] unauthenticated says) and the post would become version 2 or
later of a meeting's minutes, it is held for the moderators with a German reason. The
first minutes of a meeting, replies and ordinary posts go on. Runs after
``detect_minutes``; a post a moderator approved goes on.
"""

from __future__ import annotations

from akn_mail.pipeline.authentication import PASS
from akn_mail.pipeline.context import Decision, Post
from akn_mail.services import Services


def hold_unverified_new_version(post: Post, services: Services) -> Decision:
    """Hold a new version of existing minutes unless the sender's verdict is pass."""
    if post.approved or not post.is_minutes or post.auth == PASS:
        return Decision.next()
    # Imported here: the archive package loads whoosh, which the SMTP edge process (it
    # imports the pipeline through service.py) never needs.
    from akn_mail.archive.meetings import preview_version
    from akn_mail.archive.mime import message_date

    member_id = getattr(post.sender_member, "id", None)
    version = preview_version(services.db, post.subject, message_date(post.message, post.now), member_id,
                              post.message_id)
    if version < 2:
        return Decision.next()
    return Decision.hold(
        f"die Nachricht würde als Fassung {version} das vorhandene Protokoll einer Sitzung ersetzen, "
        f"doch ihr Absender ist nicht bestätigt (Prüfergebnis: {post.auth})"
    )
