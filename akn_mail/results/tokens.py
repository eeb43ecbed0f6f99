"""The token in a minutes receipt ("Kennung: ergebnisse <token>") that lets the host
correct the results by replying. As with moderation tokens, only the SHA-256 is stored."""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3

from akn_mail.db import transaction

TOKEN_PATTERN = re.compile(r"\bergebnisse\s+([A-Za-z0-9_-]{20,})", re.IGNORECASE)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def issue(db: sqlite3.Connection, archived_id: int, meeting_id: int | None, recipient: str) -> str:
    token = secrets.token_urlsafe(24)
    with transaction(db):
        db.execute("INSERT INTO results_tokens (token_hash, archived_id, meeting_id, recipient) VALUES (?, ?, ?, ?)",
                   (_hash(token), archived_id, meeting_id, recipient.lower()))
    return token


def find(subject: str, body: str) -> list[str]:
    """Every ``ergebnisse <token>`` in the subject, then the body (quoted text included)."""
    return list(dict.fromkeys(TOKEN_PATTERN.findall(subject or "") + TOKEN_PATTERN.findall(body or "")))


def lookup(db: sqlite3.Connection, token: str) -> sqlite3.Row | None:
    """(archived_id, meeting_id, recipient) of a token, or None if it was never issued."""
    return db.execute("SELECT * FROM results_tokens WHERE token_hash = ?", (_hash(token),)).fetchone()
