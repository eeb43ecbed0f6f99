"""Mail to the list's -request and -owner addresses.

The service routes it here (``handle_request``) instead of through the posting pipeline:

- ``-owner``: forwarded unchanged to the admins ([list] admins).
- ``-request`` with ``confirm <token>``: a moderator's reply to a moderation notice
  (moderation.py acts on it and answers).
- ``-request`` with "unsubscribe" (the ``List-Unsubscribe`` address puts it in the
  subject): contacts are named by their administration, so this becomes a task for the
  admins (stored in ``admin_tasks`` and mailed to them) and the person gets an answer
  saying so.
- ``-request`` with an archive command (``suche``, ``protokoll``, ``nachricht``,
  ``sitzungen``, ``termine``, ``hilfe`` and their English twins): answered from the archive
  (``archive_mail``), to contacts who pass the sender check only.
- anything else to ``-request``: a short help answer.

Loops: nothing automatic is ever answered. Automatic mail as ``akn_mail.automatic``
defines it (null sender, mailer daemons and noreply addresses, ``Auto-Submitted``,
``Precedence: bulk/junk/list``, another list's List-Id), our own List-Id, one of our
notices or mail from our own addresses is only logged (or, for -owner, forwarded to the
admins, who are people). Our answers carry ``Auto-Submitted: auto-generated`` and the null
envelope sender, and go through the ``AnswerGate`` (notices/answers.py): at most three per
address and hour, never to our own or reserved addresses, and to someone not on the roster
only when the envelope sender and From both name them (a stranger's Reply-To gets nothing).
"""

from __future__ import annotations

import logging
import sqlite3
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from types import SimpleNamespace

from akn_mail import db as db_module
from akn_mail import logs
from akn_mail.automatic import automatic_reason
from akn_mail.config import Config
from akn_mail.message import normalise_message_id
from akn_mail.notices.answers import AnswerGate, Incoming
from akn_mail.notices.archive_mail import ArchiveMail, find_command
from akn_mail.notices.moderation import Moderation, find_tokens, reply_text
from akn_mail.notices.notices import Notices, _is_own_address
from akn_mail.notices.result_replies import ResultReplies
from akn_mail.meetings.replies import record_reply
from akn_mail.pipeline.context import Decision, Post
from akn_mail.pipeline.steps.authenticate import authenticate
from akn_mail.pipeline.steps.sender import check_sender
from akn_mail.services import Services
from akn_mail.subject import strip_reply_markers

log = logging.getLogger("akn_mail.requests")

UNSUBSCRIBE_WORDS = ("unsubscribe", "abmelden", "abbestellen", "austragen", "signoff", "leave")


def is_automatic(message: EmailMessage, envelope_sender: str, config: Config) -> str | None:
    """Why MESSAGE must not be answered (``akn_mail.automatic`` and our own marks), or None if a person wrote it."""
    reason = automatic_reason(message, envelope_sender, list_id=config.list_id)
    if reason:
        return reason
    if message.get("X-AKN-Notice") is not None:
        return "one of our own notices came back"
    for value in message.get_all("List-Id", []) or []:
        if config.list_id in str(value):
            return "carries our own List-Id"
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

    def __init__(self, config: Config, db: sqlite3.Connection, *, notices: Notices, moderation: Moderation):
        self.config = config
        self.db = db
        self.notices = notices
        self.moderation = moderation

    def handle(self, raw: bytes, message: EmailMessage, envelope_sender: str, recipients: list[str],
               archive_mail: ArchiveMail | None = None, author: tuple[str, bool] | None = None) -> Decision:
        """Act on one mail. ARCHIVE_MAIL answers archive commands; AUTHOR is (the From address,
        whether a post from it would pass the sender check): archive answers go there only."""
        owner = self.config.list_alias("owner").lower()
        request = self.config.list_alias("request").lower()
        local_parts = {address.lower() for address in recipients}
        corrected = self.correct_results(message, envelope_sender)
        if corrected is not None:
            return corrected
        if owner in local_parts:
            decision = self.forward_to_admins(raw, message, envelope_sender)
            if request not in local_parts:
                return decision
        automatic = is_automatic(message, envelope_sender, self.config)
        if automatic:
            log.info("request not answered sender=%s reason=%r", envelope_sender, automatic)
            return Decision.discard(f"not answered: {automatic}")
        replier = _reply_address(message, envelope_sender)
        incoming = Incoming(envelope_sender=parseaddr(envelope_sender)[1] or envelope_sender,
                            from_address=_from_address(message))
        subject = " ".join(str(message.get("Subject", "")).split())
        body = reply_text(message)
        if find_tokens(subject, body):
            outcome = self.moderation.handle_reply(message, replier, subject, incoming=incoming)
            return Decision.accept(str(outcome))
        if wants_unsubscribe(subject, body):
            task_id = self.unsubscribe(message, replier, subject, incoming=incoming)
            return Decision.accept(f"unsubscribe request from {replier} stored as admin task {task_id}")
        command = find_command(subject, body) if archive_mail is not None else None
        if command is not None and author is not None and author[0]:
            # To the From address that was checked, never to a Reply-To: the archive is for contacts.
            if not author[1]:
                # A stranger gets the help text, and only as the AnswerGate allows (no forged From).
                refusal = AnswerGate(self.config, self.db, self.notices.roster).refusal(author[0], incoming)
                if refusal is not None:
                    logs.event(log, "answer_refused", message_id=_message_id(message) or "", template="archive_help",
                               recipient=author[0], reason=refusal)
                    return Decision.discard(f"archive help not sent to {author[0]}: {refusal}")
            outcome = archive_mail.handle(command, author[0], author[1], _message_id(message), _key("archive", message))
            return Decision.accept(outcome)
        sent = self.notices.answer(
            "request_help", replier, incoming, sender_alias="request",
            in_reply_to=_message_id(message), key=_key("help", message), requester=replier,
        )
        if sent is None:
            return Decision.discard(f"help not sent to {replier}: refused by the answer limiter (see the log)")
        return Decision.accept(f"help sent to {replier}")

    def correct_results(self, message: EmailMessage, envelope_sender: str) -> Decision | None:
        """A host's reply to a minutes receipt (it goes to -owner) that corrects the results."""
        if is_automatic(message, envelope_sender, self.config):
            return None
        subject = " ".join(str(message.get("Subject", "")).split())
        incoming = Incoming(envelope_sender=parseaddr(envelope_sender)[1] or envelope_sender,
                            from_address=_from_address(message))
        outcome = ResultReplies(self.config, self.db, notices=self.notices).handle(
            message, _reply_address(message, envelope_sender), subject, reply_text(message), incoming=incoming)
        return Decision.accept(str(outcome)) if outcome is not None else None

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

    def unsubscribe(self, message: EmailMessage, requester: str, subject: str, incoming: Incoming | None = None) -> int:
        """Store the admin task, tell the admins, answer the requester. Returns the task id."""
        contact = self.notices.roster.find_contact(requester)
        message_id = normalise_message_id(_message_id(message) or "")
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
            self.notices.answer(
                "unsubscribe_answer", requester, incoming or Incoming(requester, requester), sender_alias="owner",
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


def _from_address(message: EmailMessage) -> str:
    found = [address for _, address in getaddresses([str(v) for v in message.get_all("From", [])]) if "@" in address]
    return found[0] if found else ""


def _message_id(message: EmailMessage) -> str | None:
    value = str(message.get("Message-ID", "")).strip()
    return value or None


def _key(prefix: str, message: EmailMessage) -> str | None:
    """Idempotency key for the queue: the same incoming mail never gets two answers."""
    message_id = _message_id(message)
    return f"request-{prefix}:{message_id}" if message_id else None


def handle_request(post: Post, services: Services) -> Decision:
    """The processor's handler for mail to -request and -owner."""
    # A request whose sender fails authentication (a DMARC fail, or no verdict for a contact
    # under unauthenticated = "hold") gets no answer of any kind: a forged address must not
    # make the list mail the person it names. The archive answers go only to contacts whose
    # post would pass the sender check.
    verdict = authenticate(post, services)
    if not verdict.is_next:
        log.info("request not answered sender=%s reason=%r", post.from_address, verdict.reason)
        return Decision.discard(f"not answered: {verdict.reason}")
    answer = record_reply(services.db, post.message, post.from_address, post.now)
    if answer is not None:  # a calendar answer sent to -request: recorded, never answered
        return Decision.discard(answer)
    requests = Requests(services.config, services.db, notices=services.notices, moderation=services.moderation)
    archive_mail = ArchiveMail(services.config, services.db, services.notices, lambda: services.archive, services.rotation)
    passes = bool(post.from_address) and check_sender(post, services).is_next
    return requests.handle(post.raw, post.message, post.envelope_sender, list(post.recipients),
                           archive_mail=archive_mail, author=(post.from_address, passes))
