"""Where a post is in the HTML archive: the thread page's name and the post's anchor.

Small and free of heavy imports, because the pipeline's decorate step asks it for the
Archived-At header of every post (RFC 5064) when [list] archive_url is set.
"""

from __future__ import annotations

import hashlib


def thread_slug(thread_id: str) -> str:
    """The file name of a thread's page: a hash of its first Message-ID (stable, no mail text)."""
    return hashlib.sha256((thread_id or "").encode("utf-8", "replace")).hexdigest()[:16]


def message_path(message) -> str:
    """Where a post (a StoredMessage) is, relative to the site's root."""
    return f"faden/{thread_slug(message.thread_id or message.message_id)}.html#m{message.id}"


def archived_at(config, db, archive_id) -> str | None:
    """The Archived-At address of an archived post, when [list] archive_url is set."""
    base = config.list.archive_url.rstrip("/")
    if not base or not isinstance(archive_id, int):
        return None
    row = db.execute("SELECT thread_id, message_id FROM archived_messages WHERE id = ?", (archive_id,)).fetchone()
    if row is None:
        return None
    return f"{base}/faden/{thread_slug(row[0] or row[1])}.html#m{archive_id}"
