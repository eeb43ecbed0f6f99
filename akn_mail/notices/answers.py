"""Automatic answers: the one gate every answer to incoming mail passes, so the list makes no backscatter.

An *automatic answer* is a mail the system writes because a mail came in: the help and
unsubscribe answers of ``-request``, the replies to a moderator's reply, the receipt for
minutes and the answer to a host's corrections of its results, the rejection of a held
post, and whatever answers to mail are added later (held
post notices to authors, archive search by mail). Anyone can make the list send one by
forging the sender, so every such answer goes through ``AnswerGate`` and is refused when:

1. it would go to one of the list's own addresses (``akn@``, ``akn-bounces+…@``,
   ``akn-owner@``, ``akn-request@``) or to a reserved address that never reads mail
   (``MAILER-DAEMON``, ``postmaster``, ``noreply`` and the like, as ``akn_mail.automatic``
   defines them; the ``.invalid`` and ``localhost`` names);
2. the recipient is not a contact on the roster (nor an admin or moderator) and is not
   both the envelope sender and the From address of the incoming mail: a stranger's
   Reply-To, or a forged From, never gets an answer;
3. the recipient already got ``ANSWERS_PER_HOUR`` (3) automatic answers in the last hour.

How to use it (the API other parts call)::

    from akn_mail.notices.answers import AnswerGate, Incoming

    incoming = Incoming(envelope_sender="anna@dormagen.example", from_address="anna@dormagen.example")
    outbound_id = notices.answer("request_help", "anna@dormagen.example", incoming, key=..., **variables)
    # None: refused (the reason is logged as an "answer_refused" line), nothing was queued.

``Notices.answer`` renders a template and passes it here; code that builds its own message
calls ``AnswerGate(config, db, roster).enqueue(queue, message, recipient, incoming, kind=…)``.
``AnswerGate.refusal`` alone says why an answer would be refused, without queueing.

The count lives in the delivery queue itself: every answer is queued with a
``source_key`` starting ``answer:``, and the gate counts those rows per recipient, so no
extra table is kept and an answer that was queued is always counted.
Settings: none (the limit is a constant: three answers per address and hour are plenty for
a person, and nothing for a flood).
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Any

from akn_mail import logs
from akn_mail.automatic import is_automatic_address
from akn_mail.config import Config

log = logging.getLogger("akn_mail.answers")

ANSWERS_PER_HOUR = 3
KEY_PREFIX = "answer:"
RESERVED_DOMAIN_SUFFIXES = (".invalid", ".localhost")
RESERVED_DOMAINS = ("invalid", "localhost")


@dataclass(frozen=True)
class Incoming:
    """The mail being answered, as its envelope and its From header name the sender."""

    envelope_sender: str
    from_address: str


def own_address(config: Config, address: str) -> bool:
    """The list itself or one of its -bounces(+…)/-owner/-request addresses."""
    address = address.strip().lower()
    local, _, domain = config.list.address.lower().rpartition("@")
    if not address.endswith("@" + domain):
        return False
    own_local = address.rpartition("@")[0]
    return own_local == local or own_local.startswith(local + "-")


def reserved_address(address: str) -> bool:
    """An address that never reads mail: a machine (``akn_mail.automatic``'s rule: MAILER-DAEMON,
    postmaster, noreply …) or a name that cannot receive mail (``.invalid``, ``localhost``)."""
    domain = address.strip().lower().rpartition("@")[2]
    if is_automatic_address(address):
        return True
    return domain in RESERVED_DOMAINS or domain.endswith(RESERVED_DOMAIN_SUFFIXES)


class AnswerGate:
    """Decides whether one automatic answer may go out, and queues it if so."""

    def __init__(self, config: Config, db: sqlite3.Connection, roster: Any = None):
        self.config = config
        self.db = db
        self._roster = roster

    @property
    def roster(self):
        if self._roster is None:
            from akn_mail.roster.members import Roster

            self._roster = Roster(self.db)
        return self._roster

    def known(self, address: str) -> bool:
        """A contact on the roster, or one of the list's admins or moderators."""
        address = address.strip().lower()
        people = {a.lower() for a in (*self.config.list.admins, *self.config.moderators)}
        return address in people or self.roster.find_contact(address) is not None

    def answered_recently(self, recipient: str, now: float | None = None) -> int:
        """How many automatic answers ``recipient`` got in the last hour."""
        since = (now if now is not None else time.time()) - 3600
        return self.db.execute(
            "SELECT count(*) FROM deliveries d JOIN outbound o ON o.id = d.outbound_id"
            " WHERE o.source_key LIKE ? AND lower(d.recipient) = ? AND d.created_at >= ?",
            (KEY_PREFIX + "%", recipient.strip().lower(), since),
        ).fetchone()[0]

    def refusal(self, recipient: str, incoming: Incoming, now: float | None = None) -> str | None:
        """Why ``recipient`` must not get an automatic answer to ``incoming``; None if it may."""
        address = (recipient or "").strip().lower()
        if "@" not in address:
            return "no address to answer"
        if own_address(self.config, address):
            return f"{address} is one of the list's own addresses"
        if reserved_address(address):
            return f"{address} is a reserved address that reads no mail"
        if not self.known(address):
            envelope = (incoming.envelope_sender or "").strip().strip("<>").lower()
            sender = (incoming.from_address or "").strip().lower()
            if not (address == envelope == sender):
                return (f"{address} is not a contact, and only the envelope sender of a mail whose From names the "
                        f"same address gets an answer (envelope {envelope or '<>'}, From {sender or 'none'})")
        count = self.answered_recently(address, now)
        if count >= ANSWERS_PER_HOUR:
            return f"{address} already got {count} automatic answers in the last hour (at most {ANSWERS_PER_HOUR})"
        return None

    def enqueue(self, queue: Any, message: bytes, recipient: str, incoming: Incoming, *, kind: str,
                message_id: str, subject: str = "", sender: str | None = "", key: str | None = None,
                now: float | None = None) -> int | None:
        """Queue ``message`` for ``recipient`` if the gate allows it; the outbound id, or None if refused.

        ``key`` keeps the queue idempotent as usual (a re-run after a crash returns the first
        id, also past the limit); ``sender`` "" is the null envelope sender RFC 3834 asks for.
        """
        source_key = KEY_PREFIX + (key or f"{kind}:{uuid.uuid4().hex}")
        if key is not None:
            row = self.db.execute("SELECT id FROM outbound WHERE source_key = ?", (source_key,)).fetchone()
            if row is not None:
                return row["id"]
        reason = self.refusal(recipient, incoming, now)
        if reason is not None:
            logs.event(log, "answer_refused", level=logging.WARNING, message_id=message_id, template=kind,
                       recipient=recipient, reason=reason)
            return None
        return queue.enqueue(message, [recipient], message_id=message_id, sender=sender, kind=kind,
                             key=source_key, subject=subject)
