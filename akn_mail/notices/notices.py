"""Notices: the mails the system writes to people, rendered from templates and queued.

Every notice is built by ``templating`` (From the list's -owner or -request address,
``Auto-Submitted: auto-generated``, List-Id) and handed to the ``DeliveryQueue``, so it
survives a relay outage like any post. Notices about the list go out with the bounce
address as envelope sender (a bounce is scored, never answered); answers to mail that came
in (receipts, replies to the -request address) use the null sender ``<>`` as RFC 3834
asks of automatic responses, so they can never start a loop.

Who calls what: the contact CLI (welcome, farewell), the member CLI (member joined/left),
the pipeline's archive step after filing minutes (``minutes_receipt``), moderation.py
after a hold (``Moderation.notify``), ``akn-mail remind`` (reminders.py). Each process
builds one ``Notices`` (``akn_mail.services.Services``), with the queue that carries its
delivery worker's wake-up event.
Settings: [list] language, admins, moderators; [templates] directory.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from types import SimpleNamespace
from typing import Any

from akn_mail.config import Config
from akn_mail.delivery.queue import DeliveryQueue
from akn_mail.meetings.agenda import Agenda
from akn_mail.notices.answers import KEY_PREFIX, AnswerGate, Incoming, own_address
from akn_mail.notices.templating import Templates
from akn_mail.roster.members import Roster
from akn_mail.roster.rotation import Rotation
from akn_mail.results import tokens as result_tokens
from akn_mail.results.store import ResultStore

log = logging.getLogger("akn_mail.notices")

NULL_SENDER = ""  # envelope sender <> for automatic answers (RFC 3834 section 3.3)


class Notices:
    """Renders one template per call and puts the mail into the delivery queue."""

    def __init__(self, config: Config, db: sqlite3.Connection, *, queue: DeliveryQueue, roster: Roster,
                 rotation: Rotation):
        self.config = config
        self.db = db
        self.queue = queue
        self.roster = roster
        self.rotation = rotation
        self.templates = Templates(config)

    def send(
        self,
        name: str,
        recipients: list[str],
        *,
        to_header: list[str] | str | None = None,
        envelope_sender: str | None = None,
        sender_alias: str = "owner",
        reply_to: str | None = None,
        in_reply_to: str | None = None,
        key: str | None = None,
        files: list[tuple[str, bytes, str]] | None = None,
        **variables: Any,
    ) -> int | None:
        """Render NAME and queue it for RECIPIENTS; the outbound id, or None if nobody to tell.

        ``envelope_sender`` None is the list's bounce address (VERP), ``""`` the null sender.
        ``key`` makes the call idempotent (the queue returns the first id for the same key).
        ``files`` (file name, bytes, content type) are attached to the rendered text.
        """
        recipients = [address for address in dict.fromkeys(r.strip() for r in recipients if r and r.strip())]
        if not recipients:
            log.warning("notice not sent template=%s reason=no-recipients", name)
            return None
        message = self.templates.message(
            name, to_header if to_header is not None else recipients, sender_alias=sender_alias,
            reply_to=reply_to, in_reply_to=in_reply_to, **variables,
        )
        for filename, data, content_type in files or ():
            maintype, _, subtype = (content_type or "application/octet-stream").partition("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
        outbound_id = self.queue.enqueue(
            message.as_bytes(), recipients, message_id=str(message["Message-ID"]), sender=envelope_sender,
            kind=name, key=key, subject=str(message["Subject"]),
        )
        log.info("notice queued template=%s outbound=%s recipients=%d", name, outbound_id, len(recipients))
        return outbound_id

    def answer(self, name: str, recipient: str, incoming: Incoming, *, sender_alias: str = "request",
               in_reply_to: str | None = None, key: str | None = None, **variables: Any) -> int | None:
        """An automatic answer to a mail that came in: NAME rendered for RECIPIENT, through the AnswerGate.

        Sent with the null envelope sender (RFC 3834). Returns the outbound id, or None when
        the gate refused it (own or reserved address, a stranger who is not the envelope
        sender and From, more than three answers in the hour); the refusal is logged.
        """
        message = self.templates.message(name, [recipient], sender_alias=sender_alias, in_reply_to=in_reply_to,
                                         **variables)
        outbound_id = AnswerGate(self.config, self.db, self.roster).enqueue(
            self.queue, message.as_bytes(), recipient, incoming, kind=name, key=key,
            message_id=str(message["Message-ID"]), subject=str(message["Subject"]), sender=NULL_SENDER,
        )
        if outbound_id is not None:
            log.info("answer queued template=%s outbound=%s", name, outbound_id)
        return outbound_id

    # -- contacts and members --------------------------------------------------------------

    def member_names(self, on: dt.date | None = None) -> list[str]:
        """The members on ON (default today), in German alphabetical order."""
        return [member.name for member in self.roster.members(include_former=False, on=on)]

    def next_meeting(self, today: dt.date | None = None) -> SimpleNamespace | None:
        """The next regular meeting that still lies ahead and has a host (from the rotation)."""
        today = today or dt.date.today()
        try:
            if self.rotation.anchor(today, create=False) is None:
                return None  # the rotation has not started; a welcome mail does not start it
            schedule = self.rotation.schedule(quarters=4, today=today)
        except Exception as error:  # a rotation that cannot be computed must not stop a welcome
            log.warning("next meeting unknown error=%s", error)
            return None
        for entry in schedule:
            if entry.kind != "regular" or entry.host is None or entry.status in ("held", "cancelled", "unassigned"):
                continue
            if entry.date is not None and entry.date < today:
                continue
            return meeting_variables(entry.quarter, entry.host.name, entry.date, entry.place, entry.meeting_id)
        return None

    def welcome(self, contact: Any, today: dt.date | None = None) -> int | None:
        """To a new contact: what the list is, how to post, how minutes work, who hosts next."""
        return self.send(
            "welcome", [contact.email], key=f"welcome:{contact.id}:{contact.email.lower()}",
            contact=contact_variables(contact), member=SimpleNamespace(name=contact.member_name, kind=contact.member_kind),
            members=self.member_names(today), next_meeting=self.next_meeting(today),
        )

    def farewell(self, contact: Any) -> int | None:
        """To a contact who was removed (they no longer get the list)."""
        return self.send(
            "farewell", [contact.email],
            contact=contact_variables(contact), member=SimpleNamespace(name=contact.member_name, kind=contact.member_kind),
        )

    def list_recipients(self, on: dt.date | None = None, exclude_member: str | None = None) -> list[str]:
        return [c.email for c in self.roster.delivery_contacts(on=on) if c.member_name != exclude_member]

    def member_joined(self, member: Any, on: dt.date | None = None) -> int | None:
        """A note to the whole list that MEMBER joined."""
        on = on or member.joined or dt.date.today()
        return self.send(
            "member_joined", self.list_recipients(on), to_header=self.config.list.address,
            member=SimpleNamespace(name=member.name, kind=member.kind), joined=on, members=self.member_names(on),
        )

    def member_left(self, member: Any, on: dt.date | None = None) -> int | None:
        """A note to the whole list that MEMBER left (its contacts are told too, for the last time)."""
        on = on or member.left or dt.date.today()
        recipients = self.list_recipients(on)
        recipients += [c.email for c in self.roster.contacts(member.name) if c.delivery_enabled]
        return self.send(
            "member_left", recipients, to_header=self.config.list.address,
            member=SimpleNamespace(name=member.name, kind=member.kind), left=on,
            # The members from the day after: the leaving member is one until `on` inclusive.
            members=[name for name in self.member_names(on + dt.timedelta(days=1)) if name != member.name],
        )

    # -- minutes ---------------------------------------------------------------------------

    def minutes_receipt(self, archived_id: int) -> int | None:
        """To the sender of minutes: which meeting they were filed under and how to correct that.

        Reads what the archive stored (archived_messages, archived_attachments, meetings).
        Idempotent per Message-ID, so filing the same mail again sends no second receipt.
        """
        row = self.db.execute("SELECT * FROM archived_messages WHERE id = ?", (archived_id,)).fetchone()
        if row is None or not row["from_address"]:
            log.warning("minutes receipt not sent archived=%s reason=no-such-message-or-sender", archived_id)
            return None
        if _is_own_address(self.config, row["from_address"]):
            return None
        meeting = None
        if row["meeting_id"] is not None:
            m = self.db.execute("SELECT * FROM meetings WHERE id = ?", (row["meeting_id"],)).fetchone()
            if m is not None:
                host = self.rotation.meeting_host(m)  # a planned meeting's row names no host
                meeting = meeting_variables(m["quarter"], host.name if host else None, m["date"], m["place"], m["id"], m["kind"])
        attachments = [
            a["original_name"] or a["filename"]
            for a in self.db.execute(
                "SELECT filename, original_name FROM archived_attachments WHERE archived_id = ? ORDER BY position", (archived_id,)
            )
        ]
        received = _parse_datetime(row["date"]) or _parse_datetime(row["archived_at"]) or dt.datetime.now(dt.timezone.utc)
        key = f"minutes-receipt:{row['message_id'] or archived_id}"
        if self.db.execute("SELECT 1 FROM outbound WHERE source_key IN (?, ?)", (key, KEY_PREFIX + key)).fetchone():
            return None  # sent already (the indexer saw these minutes again)
        results, token = None, ""
        store = ResultStore(self.db)
        if store.was_read(archived_id):
            results = store.for_meeting(row["meeting_id"], archived_id)
            token = result_tokens.issue(self.db, archived_id, row["meeting_id"], row["from_address"])
        incoming = Incoming(envelope_sender=row["from_address"], from_address=row["from_address"])
        return self.answer(
            "minutes_receipt", row["from_address"], incoming, sender_alias="owner",
            in_reply_to=f"<{row['message_id']}>" if row["message_id"] else None, key=key,
            sender=SimpleNamespace(name=row["from_name"], email=row["from_address"]), subject=row["subject"],
            meeting=meeting, version=row["minutes_version"], attachments=attachments, received=received,
            results=results, results_token=token, agenda=Agenda(self.db).items(row["meeting_id"]),
        )


def contact_variables(contact: Any) -> SimpleNamespace:
    return SimpleNamespace(name=getattr(contact, "name", "") or "", email=contact.email,
                           member_name=getattr(contact, "member_name", "") or "")


def meeting_variables(quarter: str | None, host: str | None, date: Any, place: str | None, meeting_id: int | None,
                      kind: str = "regular") -> SimpleNamespace:
    if isinstance(date, str) and date:
        date = dt.date.fromisoformat(date[:10])
    return SimpleNamespace(quarter=quarter or "", host=host or "", date=date or None, place=place or "", id=meeting_id,
                           kind=kind)


def _parse_datetime(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _is_own_address(config: Config, address: str) -> bool:
    """Never write a notice to the list itself or its -bounces/-owner/-request addresses."""
    return own_address(config, address)
