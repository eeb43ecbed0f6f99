"""Moderation by mail: a notice with a token when a post is held, and acting on the reply.

When the serve worker holds a post it calls ``Moderation.notify``, which makes a
token with ``secrets.token_urlsafe`` (about 190 bits; it cannot be guessed), stores only
its SHA-256 in ``moderation_tokens`` and mails the moderators ([list] moderators, else the
admins) the reason, sender, subject and first lines, with ``confirm <token>`` in the
subject, as Mailman does. A reply to the -request address that carries the token and
"ok"/"approve", "reject" or "discard" in its first line acts on the held post through the
held store (the same code as ``akn-mail held approve``: an approved post goes back into the
spool and the serve worker distributes it); the token is then spent. A wrong
or spent token, or a reply without a decision, changes nothing and gets a clear answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import sqlite3
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from types import SimpleNamespace

from akn_mail import db as db_module
from akn_mail.config import Config
from akn_mail.notices.answers import Incoming
from akn_mail.notices.held import HeldStore
from akn_mail.notices.notices import Notices
from akn_mail.subject import strip_reply_markers

log = logging.getLogger("akn_mail.moderation")

# "confirm <token>": the token alphabet of secrets.token_urlsafe (letters, digits, - and _).
TOKEN_PATTERN = re.compile(r"\bconfirm\s+([A-Za-z0-9_-]{20,})", re.IGNORECASE)

# The first word of the reply's first own line decides. German words are understood too.
ACTIONS = {
    "ok": "approve", "okay": "approve", "approve": "approve", "approved": "approve", "yes": "approve",
    "ja": "approve", "freigeben": "approve",
    "reject": "reject", "no": "reject", "nein": "reject", "ablehnen": "reject",
    "discard": "discard", "verwerfen": "discard", "löschen": "discard",
}
# "Am 3. März 2027 schrieb AKN:" / "On ..., AKN wrote:" above a quote (bottom posting) is not the answer.
_ATTRIBUTION = re.compile(r"\b(schrieb|wrote)\b.*:$", re.IGNORECASE)
EXCERPT_LINES = 12
EXCERPT_CHARS = 1200


@dataclass(frozen=True)
class Outcome:
    """What a moderation reply did: action (approve/reject/discard) or a problem, and the held id."""

    action: str | None
    problem: str | None
    held_id: int | None
    token: str = ""

    def __str__(self) -> str:
        if self.problem:
            return f"moderation reply not acted on: {self.problem.replace('_', ' ')}"
        return f"moderation reply: {self.action} held {self.held_id}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def find_tokens(subject: str, body: str) -> list[str]:
    """Every ``confirm <token>`` in the subject, then in the body (quoted text included)."""
    found = TOKEN_PATTERN.findall(subject or "") + TOKEN_PATTERN.findall(body or "")
    return list(dict.fromkeys(found))


def find_action(subject: str, body: str) -> str | None:
    """The decision: the first word of the first line the moderator wrote (not quoted).

    A subject that starts with the word counts too ("ok: confirm ..."); nothing else in the
    subject does, since it repeats the held post's own subject.
    """
    for line in (body or "").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(">") or _ATTRIBUTION.search(stripped):
            continue
        return _action_word(stripped)
    return _action_word(strip_reply_markers(subject))


def _action_word(text: str) -> str | None:
    words = re.findall(r"[^\W\d_]+", text.lower())
    return ACTIONS.get(words[0]) if words else None


def reply_text(message: EmailMessage) -> str:
    """The text of a reply: its text/plain part, else its HTML with the tags taken out."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeDecodeError, ValueError, AssertionError):
        return ""
    if part.get_content_subtype() == "html":
        text = re.sub(r"(?is)<(script|style|blockquote).*?</\1>", "\n", text)
        text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
        text = re.sub(r"<[^>]+>", "", text)
    return text


class Moderation:
    """Tokens for held posts, the notice to the moderators, and acting on their replies."""

    def __init__(self, config: Config, db: sqlite3.Connection, *, notices: Notices, held_store: HeldStore):
        self.config = config
        self.db = db
        self.notices = notices
        self.held_store = held_store

    # -- the notice ------------------------------------------------------------------------

    def issue_token(self, held_id: int) -> str:
        """A fresh token for HELD_ID; an earlier unused one stops working."""
        token = secrets.token_urlsafe(24)
        with db_module.transaction(self.db):
            self.db.execute("DELETE FROM moderation_tokens WHERE held_id = ? AND used_at IS NULL", (held_id,))
            self.db.execute("INSERT INTO moderation_tokens (token_hash, held_id) VALUES (?, ?)", (hash_token(token), held_id))
        return token

    def held_row(self, held_id: int) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM held WHERE id = ?", (held_id,)).fetchone()

    def held_variables(self, row: sqlite3.Row) -> SimpleNamespace:
        received = row["held_at"]
        try:
            received = dt.datetime.fromisoformat(received.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            received = dt.datetime.now(dt.timezone.utc)
        return SimpleNamespace(
            id=row["id"], reason=row["reason"],
            sender=row["from_address"] or row["envelope_sender"] or ("(unbekannt)" if self.config.list.language == "de" else "(unknown)"),
            subject=" ".join((row["subject"] or "").split()), excerpt=self.excerpt(row), received=received,
        )

    def excerpt(self, row: sqlite3.Row) -> str:
        """The first lines of the held post's text (never more than a screenful)."""
        try:
            message = message_from_bytes(self.held_store.raw(row["id"]), policy=SMTP)
            text = reply_text(message)
        except Exception:  # mail the parser cannot read still gets its notice (AknError: file gone)
            text = ""
        lines = [line.rstrip() for line in text.strip().splitlines()][:EXCERPT_LINES]
        excerpt = "\n".join(lines)[:EXCERPT_CHARS]
        if excerpt:
            return excerpt
        return "(kein Text)" if self.config.list.language == "de" else "(no text)"

    def notify(self, held_id: int, *, admins_too: bool = False) -> int | None:
        """Mail the moderators (with ADMINS_TOO also the admins) about HELD_ID with a new token; the outbound id."""
        row = self.held_row(held_id)
        if row is None:
            log.warning("moderation notice not sent held=%s reason=no-such-held-message", held_id)
            return None
        moderators = list(dict.fromkeys(self.config.moderators + (self.config.list.admins if admins_too else [])))
        if not moderators:
            log.warning("moderation notice not sent held=%s reason=no-moderators-or-admins-configured", held_id)
            return None
        token = self.issue_token(held_id)
        request = self.config.list_alias("request")
        return self.notices.send(
            "moderation_notice", moderators, sender_alias="request", reply_to=request,
            held=self.held_variables(row), token=token,
        )

    # -- the reply -------------------------------------------------------------------------

    def handle_reply(self, message: EmailMessage, replier: str, subject: str | None = None,
                     incoming: Incoming | None = None) -> Outcome:
        """Act on a moderator's reply; every outcome is answered to REPLIER through the AnswerGate.

        ``incoming`` names the reply's envelope sender and From (default: REPLIER for both).
        """
        incoming = incoming or Incoming(replier, replier)
        subject = subject if subject is not None else str(message.get("Subject", ""))
        body = reply_text(message)
        tokens = find_tokens(subject, body)
        if not tokens:
            return self._answer(replier, incoming, message, Outcome(None, "no_token", None))
        row = None
        token = tokens[0]
        for candidate in tokens:
            row = self.db.execute("SELECT * FROM moderation_tokens WHERE token_hash = ?", (hash_token(candidate),)).fetchone()
            if row is not None:
                token = candidate
                break
        if row is None:
            log.warning("moderation reply with unknown token from=%s", replier)
            return self._answer(replier, incoming, message, Outcome(None, "unknown_token", None, token))
        held_id = row["held_id"]
        held = self.held_row(held_id)
        if row["used_at"] is not None or held is None or held["status"] != "held":
            return self._answer(replier, incoming, message, Outcome(None, "already_decided", held_id, token), held)
        action = find_action(subject, body)
        if action is None:
            return self._answer(replier, incoming, message, Outcome(None, "no_action", held_id, token), held)
        with db_module.transaction(self.db):
            # Spend the token first: a second reply racing this one finds it used.
            cursor = self.db.execute(
                "UPDATE moderation_tokens SET used_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), used_by = ?, action = ? "
                "WHERE token_hash = ? AND used_at IS NULL",
                (replier, action, hash_token(token)),
            )
            if cursor.rowcount != 1:
                return self._answer(replier, incoming, message, Outcome(None, "already_decided", held_id, token), held)
        store = self.held_store
        try:
            if action == "approve":
                store.approve(held_id)
            elif action == "reject":
                store.reject(held_id, queue=self.notices.queue, reason=held["reason"])
            else:
                store.discard(held_id, reason=f"discarded by {replier} (reply by mail)")
        except Exception:
            # The post is still held: give the token back so a second try (or the CLI) can decide.
            self.db.execute("UPDATE moderation_tokens SET used_at = NULL, used_by = NULL, action = NULL WHERE token_hash = ?",
                            (hash_token(token),))
            raise
        log.info("moderation by mail held=%s action=%s by=%s", held_id, action, replier)
        return self._answer(replier, incoming, message, Outcome(action, None, held_id, token), held)

    def _answer(self, replier: str, incoming: Incoming, message: EmailMessage, outcome: Outcome,
                held: sqlite3.Row | None = None) -> Outcome:
        message_id = str(message.get("Message-ID", "")).strip() or None
        held_variables = self.held_variables(held) if held is not None else None
        if outcome.problem:
            self.notices.answer(
                "moderation_failed", replier, incoming, sender_alias="request",
                in_reply_to=message_id, problem=outcome.problem, held=held_variables, token=outcome.token,
            )
        else:
            self.notices.answer(
                "moderation_done", replier, incoming, sender_alias="request",
                in_reply_to=message_id, action=outcome.action, held=held_variables,
            )
        return outcome

