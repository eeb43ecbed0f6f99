"""Mail to the list's -request and -owner addresses.

The service routes it here (``handle_request``) instead of through the posting pipeline:

- ``-owner``: forwarded unchanged to the admins ([list] admins).
- ``-request`` with ``confirm <token>``: a moderator's reply to a moderation notice
  (moderation.py acts on it and answers).
- ``-request`` with "unsubscribe" (the ``List-Unsubscribe`` address puts it in the
  subject): contacts are named by their administration, so this becomes a task for the
  admins (stored in ``admin_tasks`` and mailed to them) and the person gets an answer
  saying so.
- anything else to ``-request``: a short help answer.

Loops: nothing automatic is ever answered. Mail with the null sender, from a mailer
daemon, with ``Auto-Submitted`` other than "no", ``Precedence: bulk/junk/list``, our own
List-Id or one of our notices is only logged (or, for -owner, forwarded to the admins,
who are people). Our answers carry ``Auto-Submitted: auto-generated`` and the null
envelope sender.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses, parseaddr
from types import SimpleNamespace
from typing import Any

from akn_mail import db as db_module
from akn_mail.config import Config
from akn_mail.pipeline.context import Decision
from akn_mail.notices.moderation import strip_reply_markers
from akn_mail.notices.notices import NULL_SENDER, Notices, _is_own_address

log = logging.getLogger("akn_mail.requests")

UNSUBSCRIBE_WORDS = ("unsubscribe", "abmelden", "abbestellen", "austragen", "signoff", "leave")
_DAEMON = re.compile(r"^(mailer-daemon|postmaster|noreply|no-reply|do-not-reply|donotreply)[@+-]", re.IGNORECASE)


def is_automatic(message: EmailMessage, envelope_sender: str, config: Config) -> str | None:
    """Why MESSAGE must not be answered (RFC 3834 and our own marks), or None if a person wrote it."""
    if not envelope_sender or envelope_sender == "<>":
        return "null envelope sender (a bounce or an automatic answer)"
    if _DAEMON.match(envelope_sender):
        return f"sent by {envelope_sender}"
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    if message.get("X-AKN-Notice") is not None:
        return "one of our own notices came back"
    for value in message.get_all("List-Id", []) or []:
        if config.list_id in str(value):
            return "carries our own List-Id"
    if message.get("X-Autoreply") is not None or message.get("X-Autorespond") is not None:
        return "auto-reply header"
    if _is_own_address(config, envelope_sender):
        return "sent from one of our own addresses"
    return None


def wants_unsubscribe(subject: str, body: str) -> bool:
    """"unsubscribe" (or abmelden, ...) as the subject or the first line of the body."""
    if _first_word(strip_reply_markers(subject)) in UNSUBSCRIBE_WORDS:
        return True
    for line in (body or "").splitlines():
        if line.strip() and not line.strip().startswith(">"):
            return _first_word(line) in UNSUBSCRIBE_WORDS
    return False


def _first_word(text: str) -> str:
    words = text.lower().split()
    return words[0].strip(".,!:;") if words else ""


class Requests:
    """Handles one message sent to -request or -owner."""

    def __init__(self, config: Config, db: sqlite3.Connection, notices: Notices | None = None, roster: Any = None,
                 resolver: Any = None):
        self.config = config
        self.db = db
        self.notices = notices or Notices(config, db, roster=roster)
        self.resolver = resolver  # DMARC lookups when a moderator's reply approves a post

    def handle(self, raw: bytes, envelope_sender: str, recipients: list[str]) -> Decision:
        message = message_from_bytes(raw, policy=SMTP)
        owner = self.config.list_alias("owner").lower()
        request = self.config.list_alias("request").lower()
        local_parts = {address.lower() for address in recipients}
        if owner in local_parts:
            decision = self.forward_to_admins(raw, message, envelope_sender)
            if request not in local_parts:
                return decision
        automatic = is_automatic(message, envelope_sender, self.config)
        if automatic:
            log.info("request not answered sender=%s reason=%r", envelope_sender, automatic)
            return Decision.discard(f"not answered: {automatic}")
        replier = _reply_address(message, envelope_sender)
        subject = " ".join(str(message.get("Subject", "")).split())
        from akn_mail.notices.moderation import Moderation, find_tokens, reply_text

        body = reply_text(message)
        if find_tokens(subject, body):
            outcome = Moderation(self.config, self.db, notices=self.notices, resolver=self.resolver).handle_reply(
                message, replier, subject)
            return Decision.accept(str(outcome))
        if wants_unsubscribe(subject, body):
            task_id = self.unsubscribe(message, replier, subject)
            return Decision.accept(f"unsubscribe request from {replier} stored as admin task {task_id}")
        self.notices.send(
            "request_help", [replier], envelope_sender=NULL_SENDER, sender_alias="request",
            in_reply_to=_message_id(message), key=_key("help", message), requester=replier,
        )
        return Decision.accept(f"help sent to {replier}")

    def forward_to_admins(self, raw: bytes, message: EmailMessage, envelope_sender: str) -> Decision:
        """Mail to -owner goes, unchanged, to the admins (marked so it cannot go round)."""
        admins = [a for a in self.config.list.admins if not _is_own_address(self.config, a)]
        if message.get("X-AKN-Owner-Forward") is not None:
            return Decision.discard("already forwarded to the admins once (X-AKN-Owner-Forward)")
        if not admins:
            log.warning("owner mail not forwarded reason=no-admins-configured sender=%s", envelope_sender)
            return Decision.hold("mail to the -owner address, but [list] admins is empty")
        marked = f"X-AKN-Owner-Forward: {self.config.list_alias('owner')}\r\n".encode() + raw
        self.notices.queue.enqueue(
            marked, admins, message_id=_message_id(message) or "", sender=None, kind="owner_forward",
            key=_key("owner", message), subject=" ".join(str(message.get("Subject", "")).split()),
        )
        return Decision.accept(f"forwarded to {len(admins)} admin(s)")

    def unsubscribe(self, message: EmailMessage, requester: str, subject: str) -> int:
        """Store the admin task, tell the admins, answer the requester. Returns the task id."""
        contact = self.notices.roster.find_contact(requester)
        message_id = (_message_id(message) or "").strip("<>")
        with db_module.transaction(self.db):
            row = self.db.execute(
                "SELECT id FROM admin_tasks WHERE kind = 'unsubscribe' AND message_id = ? AND message_id != ''", (message_id,)
            ).fetchone()
            if row is not None:
                return row["id"]  # the same mail again (a re-run after a crash): nothing new
            task_id = self.db.execute(
                "INSERT INTO admin_tasks (kind, requester, contact_id, member_name, subject, message_id) VALUES ('unsubscribe', ?, ?, ?, ?, ?)",
                (requester, contact.id if contact else None, contact.member_name if contact else "", subject, message_id),
            ).lastrowid
            contact_variables = SimpleNamespace(name=contact.name, email=contact.email, member_name=contact.member_name) if contact else None
            self.notices.send(
                "unsubscribe_task", self.config.list.admins, reply_to=requester, key=f"unsubscribe-task:{task_id}",
                requester=requester, contact=contact_variables, task_id=task_id, subject=subject,
            )
            self.notices.send(
                "unsubscribe_answer", [requester], envelope_sender=NULL_SENDER, sender_alias="owner",
                in_reply_to=_message_id(message), key=f"unsubscribe-answer:{task_id}",
                requester=requester, contact=contact_variables,
            )
        log.info("unsubscribe request task=%s requester=%s contact=%s", task_id, requester, bool(contact))
        return task_id


def _reply_address(message: EmailMessage, envelope_sender: str) -> str:
    """Where a person expects the answer: Reply-To, else From, else the envelope sender."""
    for name in ("Reply-To", "From"):
        found = [address for _, address in getaddresses([str(v) for v in message.get_all(name, [])]) if "@" in address]
        if found:
            return found[0]
    return parseaddr(envelope_sender)[1] or envelope_sender


def _message_id(message: EmailMessage) -> str | None:
    value = str(message.get("Message-ID", "")).strip()
    return value or None


def _key(prefix: str, message: EmailMessage) -> str | None:
    """Idempotency key for the queue: the same incoming mail never gets two answers."""
    message_id = _message_id(message)
    return f"request-{prefix}:{message_id}" if message_id else None


def handle_request(message_bytes: bytes, ctx: Any) -> Decision:
    """Entry point for the service: ``ctx`` is the pipeline Context (config, db, roster, queue, envelope)."""
    notices = Notices(ctx.config, ctx.db, queue=getattr(ctx, "queue", None), roster=getattr(ctx, "roster", None))
    return Requests(ctx.config, ctx.db, notices=notices, resolver=getattr(ctx, "resolver", None)).handle(
        message_bytes, getattr(ctx, "envelope_sender", ""), list(getattr(ctx, "recipients", []) or []),
    )
