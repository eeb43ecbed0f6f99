"""A cache of what the HTML archive shows and searches of each post: body text and words.

Reading a post from the Maildir means parsing its MIME; the HTML archive needs the text of
every post for the search index and the thread pages, and re-renders after every filing.
So the text is read once per post and kept in ``<data_dir>/web-cache.sqlite3`` (a file of
its own: it is derived, can be deleted at any time, and is rebuilt from the Maildir).
The search words use the archive's German spelling rules (``analysis.fold``: lower case,
ß -> ss, ae/oe/ue and ä/ö/ü -> a/o/u), the same rules the page's script applies to a query.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from akn_mail.archive.analysis import PART, STOP_WORDS, fold
from akn_mail.archive.mime import read

# The text shown on a thread page is cut here (a post is rarely longer; the .eml has it all).
MAX_BODY_CHARS = 100_000
SUMMARY_CHARS = 280
MIN_WORD = 2
ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS post_texts (
    archived_id INTEGER PRIMARY KEY,
    maildir_key TEXT NOT NULL,
    body        TEXT NOT NULL,
    summary     TEXT NOT NULL,
    words       TEXT NOT NULL
)
"""


def search_words(*texts: str) -> list[str]:
    """The distinct folded words of TEXTS, in order of first appearance, without stop words."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in PART.findall(fold(text or "")):
            if len(word) >= MIN_WORD and word not in STOP_WORDS and word not in seen:
                seen[word] = None
    return list(seen)


def summary(body: str, limit: int = SUMMARY_CHARS) -> str:
    """The first words of a body, on one line, quoted lines left out."""
    lines = [line for line in (body or "").splitlines() if line.strip() and not line.lstrip().startswith(">")]
    text = " ".join(" ".join(lines).split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


@dataclass
class PostText:
    body: str
    summary: str      # of the body as read (the site hides addresses in it when public)
    words: list[str]


class TextCache:
    """archived_id -> PostText; missing entries are read from the Maildir on demand."""

    def __init__(self, path: Path, archive):
        self.archive = archive
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        # Derived data: a crash may lose the latest entries, which are simply read again.
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def get(self, messages) -> dict[int, PostText]:
        """Body, summary and search words of each StoredMessage (read and cached where missing)."""
        found: dict[int, PostText] = {}
        keys = {message.id: message.maildir_key for message in messages}
        ids = list(keys)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self.db.execute(
                "SELECT archived_id, maildir_key, body, summary, words FROM post_texts "
                f"WHERE archived_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            for archived_id, maildir_key, body, summary_text, words in rows:
                if keys[archived_id] == maildir_key:  # else the database was rebuilt: read again
                    found[archived_id] = PostText(body, summary_text, words.split())
        missing = [message for message in messages if message.id not in found]
        if missing:
            new_rows = []
            for message in missing:
                body = self._body(message)
                # Addresses are left out of the words (a public archive must not be searchable by them).
                words = search_words(message.subject, ADDRESS.sub(" ", message.from_name), message.member_name,
                                     ADDRESS.sub(" ", body))
                found[message.id] = PostText(body, summary(body), words)
                new_rows.append((message.id, message.maildir_key, body, found[message.id].summary, " ".join(words)))
            with self.db:
                self.db.executemany(
                    "INSERT OR REPLACE INTO post_texts (archived_id, maildir_key, body, summary, words) "
                    "VALUES (?, ?, ?, ?, ?)", new_rows
                )
        return found

    def _body(self, message) -> str:
        try:
            parsed = read(self.archive.maildir.get(message.maildir_key))
        except Exception:  # a message missing from the Maildir still gets its page, without text
            return ""
        return parsed.body[:MAX_BODY_CHARS]
