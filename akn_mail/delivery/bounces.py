"""Bounce handling: from a delivery report to a contact whose delivery is switched off.

Fan-out mail leaves with a VERP envelope sender, ``akn-bounces+TAG+anna=dormagen.example@…``,
so a report that comes back to that address names its recipient even when nothing else in
it can be read; TAG is a check code only this list can make (``akn_mail.delivery.verp``).
The service hands every message for ``<list>-bounces(+…)`` to ``handle_bounce``. The report itself is read with flufl.bounce (Mailman's detectors for
DSNs and the formats of many MTAs); we write no DSN parser of our own.

Each report becomes one row in ``bounce_events`` (migration 0005):

- ``permanent`` (weight 1): the mail could not be delivered, and will not be (5.x.x).
- ``temporary`` (weight 0): delayed, or failed with a 4.x.x status; recorded, never counted.
- ``unrecognised`` (weight 0.5): a delivery report for a VERP recipient that no detector
  understood; it counts half, because it may still be a failure.
- ``ignored`` (weight 0): an auto-reply (dropped) or a person writing to the bounce
  address (kept for an admin, see below).
- ``delivery`` (weight 1): our relay refused the recipient with 5xx at delivery time
  (``record_delivery_failure``, called by the delivery queue).

Only mail the list sent can bounce: an event whose report does not return the headers of
a mail the list delivered to that recipient (its Message-ID; forged, or about mail we never
sent) is recorded with source ``unmatched`` and weight 0, never counted.

A contact's score is the sum of the weights of its events within the last
``[bounces] decay_days`` days, each bounced mail counted once, at most one bounce per
day (the highest weight that day), and only events after the
contact was last disabled (so `akn-mail contact enable` starts afresh). At
``[bounces] threshold`` the contact's delivery is disabled with ``Roster.set_delivery`` and
the admins get the ``bounce_disabled`` template through the delivery queue. Reports nobody
can attribute, reports no detector understood and mail from people are kept in the Maildir
``<data_dir>/bounces`` for an admin to read.
Settings: [bounces] threshold, decay_days; [list] admins.
"""

from __future__ import annotations

import email
import email.utils
import functools
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import Message
from typing import Any, Iterable, Sequence

from flufl.bounce import all_failures

from akn_mail import logs
from akn_mail.automatic import auto_submitted
from akn_mail.config import Config
from akn_mail.db import transaction
from akn_mail.delivery import verp
from akn_mail.files import DurableMaildir
from akn_mail.message import normalise_message_id
from akn_mail.notices.notices import Notices
from akn_mail.pipeline.context import Decision, Post
from akn_mail.roster.members import Roster
from akn_mail.services import Services

log = logging.getLogger("akn_mail.bounces")

PERMANENT = "permanent"
TEMPORARY = "temporary"
UNRECOGNISED = "unrecognised"
DELIVERY = "delivery"
IGNORED = "ignored"
DISABLED = "disabled"

WEIGHTS = {PERMANENT: 1.0, DELIVERY: 1.0, UNRECOGNISED: 0.5, TEMPORARY: 0.0, IGNORED: 0.0, DISABLED: 0.0}
UNMATCHED = "unmatched"  # the source of an event that names no mail we delivered: weight 0

_REPORTER_LOCAL_PARTS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mdaemon")
_REPORT_SUBJECT = re.compile(
    r"undeliver|not (be )?delivered|delivery (status|failure|notification|problem)|returned mail|failure notice"
    r"|unzustellbar|nicht zugestellt|zustellung fehlgeschlagen|non remis|no entregado",
    re.IGNORECASE,
)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass
class BounceEvent:
    """One recipient's outcome as read from one report."""

    email: str | None
    kind: str
    status: str = ""
    diagnostic: str = ""
    source: str = ""
    counted: bool = True  # False: about mail the list did not deliver to this recipient

    @property
    def weight(self) -> float:
        return WEIGHTS[self.kind] if self.counted else 0.0


@dataclass
class BounceResult:
    """What one report (or one refused recipient) did: its events and who got disabled."""

    message_id: str
    events: list[BounceEvent] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    kept_in: str = ""  # Maildir key when the report was kept for an admin

    def summary(self) -> str:
        parts = [f"{event.kind}{'' if event.counted else ' (not counted: names no mail the list delivered)'}"
                 f" for {event.email or 'unknown recipient'}" for event in self.events]
        if not self.events:
            parts.append("no recipient found")
        if self.disabled:
            parts.append("delivery disabled for " + ", ".join(self.disabled))
        if self.kept_in:
            parts.append(f"kept for an admin as bounces/new/{self.kept_in}")
        return "; ".join(parts)


# --- VERP --------------------------------------------------------------------------------

def verp_decode(bounce_address: str, address: str, key: bytes) -> verp.Verp | None:
    """The verified recipient (and XVERP outbound id) of a VERP address; None if it is none of ours.

    A ``-bounces+…`` address whose check code does not verify is treated as no VERP
    address at all (the ingress refuses those at RCPT already).
    """
    address = email.utils.parseaddr(address)[1] or address.strip().strip("<>")
    try:
        return verp.check(key, bounce_address, address)
    except verp.ForgedAddress:
        return None


# --- reading a report --------------------------------------------------------------------

def parse(raw: bytes) -> Message:
    """The report as flufl.bounce wants it: parsed from bytes with the compat32 policy."""
    return email.message_from_bytes(raw)


def detect(message: Message) -> tuple[set[str], set[str], str]:
    """(temporary, permanent, error) addresses that flufl.bounce's detectors find.

    A detector that crashes on a malformed report must not lose the report: the error is
    returned and the VERP address still names the recipient.
    """
    try:
        temporary, permanent = all_failures(message)
    except Exception as error:  # noqa: BLE001 - third-party heuristics on hostile input
        log.warning("bounce detectors failed on a report: %s", error)
        return set(), set(), f"{type(error).__name__}: {error}"
    return _decode_all(temporary), _decode_all(permanent), ""


def _decode_all(addresses: Iterable[bytes | str]) -> set[str]:
    result = set()
    for address in addresses:
        text = address.decode("ascii", "replace") if isinstance(address, bytes) else str(address)
        text = text.strip().strip("<>").lower()
        if "@" in text:
            result.add(text)
    return result


def dsn_fields(message: Message) -> dict[str, tuple[str, str]]:
    """Per recipient (lower-case): (Status, Diagnostic-Code) from the report's delivery-status part.

    Only read to log and to tell 4.x.x from 5.x.x; which addresses failed is flufl's call.
    """
    found: dict[str, tuple[str, str]] = {}
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status" or not part.is_multipart():
            continue
        for block in part.get_payload():
            if not isinstance(block, Message):
                continue
            status = str(block.get("Status", "")).strip().split(" ")[0]
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
            kind, separator, text = diagnostic.partition(";")
            if separator and kind and " " not in kind.strip():
                diagnostic = text.strip()  # drop the diagnostic-type ("smtp;", "X-Postfix;")
            for header in ("Final-Recipient", "Original-Recipient"):
                value = str(block.get(header, ""))
                address = value.rpartition(";")[2].strip().strip("<>").lower()
                if "@" in address:
                    found.setdefault(address, (status, diagnostic[:500]))
    return found


def original_message_id(message: Message) -> str:
    """Message-ID of the mail that bounced, from the returned message or its headers."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global") and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, Message) and inner.get("Message-ID"):
                return _strip_id(inner["Message-ID"])
        if content_type == "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            headers = email.message_from_bytes(payload)
            if headers.get("Message-ID"):
                return _strip_id(headers["Message-ID"])
    return ""


def _strip_id(value: Any) -> str:
    return normalise_message_id(str(value))


def looks_like_auto_reply(message: Message) -> bool:
    """A vacation notice or other auto-reply rather than a delivery report (RFC 3834)."""
    if message.get_content_type() == "multipart/report":
        return False
    if auto_submitted(message).startswith("auto-replied") or message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    precedence = str(message.get("Precedence", "")).strip().lower()
    return precedence == "auto_reply"


def looks_like_report(message: Message) -> bool:
    """Sent by a mail system (a report in any format) rather than by a person."""
    if message.get_content_type() == "multipart/report":
        return True
    sender = email.utils.parseaddr(str(message.get("From", "")))[1].lower()
    if sender.partition("@")[0] in _REPORTER_LOCAL_PARTS:
        return True
    return bool(_REPORT_SUBJECT.search(str(message.get("Subject", ""))))


def classify(message: Message, verp_recipient: str | None) -> tuple[list[BounceEvent], str]:
    """The events one report stands for, and the detector error if one crashed."""
    temporary, permanent, error = detect(message)
    details = dsn_fields(message)

    def event(address: str | None, kind: str, source: str) -> BounceEvent:
        status, diagnostic = details.get(address or "", ("", ""))
        if kind == PERMANENT and status.startswith("4"):
            # "failed" after retries with a 4.x.x status: the cause was temporary.
            kind = TEMPORARY
        return BounceEvent(address, kind, status, diagnostic, source)

    if verp_recipient:
        # The VERP address is the only trustworthy name of our recipient: the report may name
        # a forwarding target or an internal mailbox instead (its status is then read there).
        def named(addresses: set[str]) -> str:
            return verp_recipient if verp_recipient in addresses else sorted(addresses)[0]

        if verp_recipient in temporary or (temporary and not permanent):
            found = event(named(temporary), TEMPORARY, "verp")
        elif permanent:
            found = event(named(permanent), PERMANENT, "verp")
        else:
            found = None
        if found is not None:
            found.email = verp_recipient
            return [found], error
        if looks_like_auto_reply(message):
            return [BounceEvent(verp_recipient, IGNORED, source="auto-reply")], error
        if not looks_like_report(message):
            return [BounceEvent(verp_recipient, IGNORED, source="person")], error
        return [BounceEvent(verp_recipient, UNRECOGNISED, source="verp", diagnostic=error)], error
    events = [event(address, PERMANENT, "detector") for address in sorted(permanent)]
    events += [event(address, TEMPORARY, "detector") for address in sorted(temporary - permanent)]
    return events, error


# --- recording and scoring ---------------------------------------------------------------

class Bounces:
    """Records bounce events, keeps the scores and disables contacts at the threshold."""

    def __init__(self, db: sqlite3.Connection, config: Config, notices: Notices | None = None):
        """``notices`` (with its roster and queue) is needed for recording; reading a report needs none."""
        self.db = db
        self.config = config
        self.notices = notices

    @property
    def roster(self) -> Roster:
        return self.notices.roster

    # The report path -------------------------------------------------------------------

    def process(self, raw: bytes, recipients: Sequence[str] = (), message_id: str = "",
                now: datetime | None = None) -> BounceResult:
        """Read one report sent to the bounce address and act on it."""
        now = now or datetime.now(timezone.utc)
        message = parse(raw)
        message_id = message_id or _strip_id(message.get("Message-ID", ""))
        verified = self.verified_verp(message, recipients)
        events, _ = classify(message, verified.recipient if verified else None)
        result = BounceResult(message_id)
        original = original_message_id(message)
        for found in events:
            if found.email and found.weight > 0 and not self.delivered(
                    found.email, original, verified.outbound_id if verified else None):
                # Only mail the list sent to this recipient can bounce: a report naming a
                # Message-ID we never delivered to them (or none) is recorded, never counted.
                found.source, found.counted = UNMATCHED, False
            self._record(found, result, message_id=message_id, original=original, now=now)
        if not any(found.email for found in events) or any(
            found.kind == UNRECOGNISED or found.source == "person" for found in events
        ):
            # Nobody can be named, no detector understood it, or a person wrote: keep it for an admin.
            result.kept_in = self._keep(raw)
            if not events:
                logs.event(log, "bounce", level=logging.WARNING, message_id=message_id, kind="unattributed",
                           kept=f"bounces/new/{result.kept_in}", reason="no recipient found; kept for an admin")
        return result

    @functools.cached_property
    def verp_key(self) -> bytes:
        return verp.load_key(self.config)

    def verified_verp(self, message: Message, recipients: Sequence[str]) -> verp.Verp | None:
        """The verified VERP address named by the envelope (RCPT TO) or, failing that, by the headers."""
        candidates = list(recipients)
        for header in ("X-Original-To", "Delivered-To", "Envelope-To", "To"):
            candidates.extend(str(value) for value in message.get_all(header, []))
        for candidate in candidates:
            for _, address in email.utils.getaddresses([candidate]):
                decoded = verp_decode(self.config.bounce_address, address, self.verp_key)
                if decoded:
                    return decoded
        return None

    def verp_recipient(self, message: Message, recipients: Sequence[str]) -> str | None:
        """The recipient a verified VERP address names, or None."""
        found = self.verified_verp(message, recipients)
        return found.recipient if found else None

    def delivered(self, recipient: str, original_message_id: str, outbound_id: int | None = None) -> bool:
        """Did the list deliver (relay 250) the mail ``original_message_id`` to ``recipient``?

        With XVERP the bounce address also names the outbound mail, which must be that one.
        """
        if not original_message_id:
            return False
        query = ("SELECT 1 FROM deliveries d JOIN outbound o ON o.id = d.outbound_id"
                 " WHERE o.message_id = ? AND lower(d.recipient) = ? AND d.status = 'sent'")
        params: list[Any] = [original_message_id, recipient.lower()]
        if outbound_id is not None:
            query += " AND o.id = ?"
            params.append(outbound_id)
        return self.db.execute(query + " LIMIT 1", params).fetchone() is not None

    # The delivery path -----------------------------------------------------------------

    def record_delivery_failure(self, recipient: str, code: int | str, text: str = "", message_id: str = "",
                                now: datetime | None = None) -> BounceResult:
        """Count a recipient our relay refused with a 5xx reply (4xx is retried, not counted)."""
        now = now or datetime.now(timezone.utc)
        result = BounceResult(message_id)
        kind = DELIVERY if str(code).startswith("5") else TEMPORARY
        found = BounceEvent(recipient.strip().lower(), kind, str(code), " ".join(str(text).split())[:500], "relay")
        self._record(found, result, message_id=message_id, original=message_id, now=now)
        return result

    def score_delivery_failures(self, now: datetime | None = None) -> int:
        """Read the delivery queue's unprocessed ``delivery_failures`` rows and score them."""
        rows = self.db.execute(
            "SELECT id, recipient, message_id, kind, code, error FROM delivery_failures WHERE processed = 0 ORDER BY id"
        ).fetchall()
        for row in rows:
            if row["kind"] == "hard":
                self.record_delivery_failure(row["recipient"], row["code"] or 550, row["error"], row["message_id"], now=now)
            else:
                # Temporary until the queue gave up: still not a hard bounce (recorded, weight 0).
                self.record_delivery_failure(row["recipient"], row["code"] or "4xx", f"expired: {row['error']}",
                                             row["message_id"], now=now)
            with transaction(self.db):
                self.db.execute("UPDATE delivery_failures SET processed = 1 WHERE id = ?", (row["id"],))
        return len(rows)

    # Shared ----------------------------------------------------------------------------

    def _record(self, found: BounceEvent, result: BounceResult, *, message_id: str, original: str,
                now: datetime) -> None:
        result.events.append(found)
        contact = self.roster.find_contact(found.email) if found.email else None
        stamp = now.astimezone(timezone.utc).strftime(_TIME_FORMAT)
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO bounce_events (received_at, email, contact_id, kind, weight, status, diagnostic,"
                " source, message_id, original_message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (stamp, found.email, getattr(contact, "id", None), found.kind, found.weight, found.status,
                 found.diagnostic, found.source, message_id, original),
            )
        score = self.score(found.email, now) if found.email else 0.0
        logs.event(
            log, "bounce", message_id=message_id, recipient=found.email or "", kind=found.kind,
            status=found.status, score=f"{score:g}", threshold=f"{self.config.bounces.threshold:g}",
            contact="yes" if contact else "no", counted="yes" if found.counted else "no (names no mail the list delivered)",
            original_message_id=logs.message_id_field(original) if original else "",
            diagnostic=found.diagnostic,
        )
        if (contact is not None and found.weight > 0 and getattr(contact, "delivery_enabled", True)
                and score >= self.config.bounces.threshold):
            self._disable(contact, found, score, message_id, now)
            result.disabled.append(contact.email)

    def score(self, address: str, now: datetime | None = None) -> float:
        """Sum of weights in the decay window after the last disable; one mail once, one bounce a day."""
        now = now or datetime.now(timezone.utc)
        since = (now - timedelta(days=self.config.bounces.decay_days)).astimezone(timezone.utc).strftime(_TIME_FORMAT)
        until = now.astimezone(timezone.utc).strftime(_TIME_FORMAT)
        address = address.lower()
        last_disabled = self.db.execute(
            "SELECT coalesce(max(id), 0) FROM bounce_events WHERE email = ? AND kind = ? AND received_at <= ?",
            (address, DISABLED, until),
        ).fetchone()[0]
        rows = self.db.execute(
            "SELECT id, weight, original_message_id, received_at FROM bounce_events"
            " WHERE email = ? AND id > ? AND received_at >= ? AND received_at <= ? AND weight > 0 ORDER BY id",
            (address, last_disabled, since, until),
        ).fetchall()
        # One bounced mail counts once (on the day of its first report), and at most one
        # bounce per day counts: a burst of reports, forged or real, moves the score by 1.
        seen_mail: set[str] = set()
        per_day: dict[str, float] = {}
        for row in rows:
            key = row["original_message_id"] or f"event-{row['id']}"
            if key in seen_mail:
                continue
            seen_mail.add(key)
            day = row["received_at"][:10]
            per_day[day] = max(per_day.get(day, 0.0), row["weight"])
        return sum(per_day.values())

    def last_bounce(self, address: str) -> str | None:
        """The day (ISO date) of the newest bounce that counts for ``address``, or None."""
        row = self.db.execute(
            "SELECT max(received_at) FROM bounce_events WHERE email = ? AND weight > 0", (address.lower(),)
        ).fetchone()
        return row[0][:10] if row and row[0] else None

    def events(self, address: str | None = None, limit: int = 50) -> list[sqlite3.Row]:
        """The newest bounce events, of one address or of all."""
        if address:
            return self.db.execute(
                "SELECT * FROM bounce_events WHERE email = ? ORDER BY id DESC LIMIT ?", (address.lower(), limit)
            ).fetchall()
        return self.db.execute("SELECT * FROM bounce_events ORDER BY id DESC LIMIT ?", (limit,)).fetchall()

    def _disable(self, contact: Any, found: BounceEvent, score: float, message_id: str, now: datetime) -> None:
        days = self.config.bounces.decay_days
        last = " ".join(part for part in (found.kind, found.status, found.diagnostic) if part)
        reason = f"bounces: score {score:g} reached {self.config.bounces.threshold:g} within {days} days (last: {last})"
        self.roster.set_delivery(contact.email, False, reason[:300])
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO bounce_events (received_at, email, contact_id, kind, weight, source, message_id,"
                " diagnostic) VALUES (?, ?, ?, ?, 0, 'threshold', ?, ?)",
                (now.astimezone(timezone.utc).strftime(_TIME_FORMAT), contact.email.lower(),
                 getattr(contact, "id", None), DISABLED, message_id, reason[:500]),
            )
        logs.event(log, "bounce", level=logging.WARNING, message_id=message_id, recipient=contact.email,
                   kind=DISABLED, score=f"{score:g}", reason=reason)
        self._tell_admins(contact, found, score, message_id)

    def _tell_admins(self, contact: Any, found: BounceEvent, score: float, message_id: str) -> None:
        """Mail the admins the ``bounce_disabled`` template through the delivery queue."""
        admins = list(self.config.list.admins)
        if not admins:
            log.warning("delivery to %s disabled, but [list] admins is empty: nobody was told", contact.email)
            return
        last = " ".join(part for part in (found.kind, found.status, found.diagnostic) if part)
        try:
            outbound_id = self.notices.send(
                "bounce_disabled", admins, key=f"bounce-disabled:{contact.email.lower()}:{message_id}",
                contact=contact, score=score, threshold=self.config.bounces.threshold,
                days=self.config.bounces.decay_days, last=last,
                last_kind=found.kind, last_status=found.status or "", last_diagnostic=found.diagnostic or "",
            )
        except Exception:  # noqa: BLE001 - the disable stands even if the notice cannot be queued
            log.exception("could not queue the notice about %s for the admins", contact.email)
            return
        logs.event(log, "notice", message_id=message_id, template="bounce_disabled", recipients=admins,
                   about=contact.email, outbound=outbound_id)

    def _keep(self, raw: bytes) -> str:
        """Keep a report nobody can be named for in <data_dir>/bounces (a Maildir)."""
        # Durable, and an OSError propagates: the report stays in the spool and is retried,
        # since it was accepted with 250 and must not be lost.
        return DurableMaildir(self.config.data_dir / "bounces").add(raw)


# --- the entry points the service and the delivery queue call ----------------------------

def handle_bounce(post: Post, services: Services) -> Decision:
    """The processor's handler for ``<list>-bounces(+verp)``: record the report, return a Decision."""
    bounces = Bounces(services.db, services.config, services.notices)
    result = bounces.process(post.raw, recipients=list(post.recipients), message_id=post.message_id)
    if result.events and all(found.kind == IGNORED for found in result.events):
        return Decision.discard("auto-reply or personal mail to the bounce address: " + result.summary())
    return Decision.accept("bounce recorded: " + result.summary())


def score_delivery_failures(services: Services) -> int:
    """Score the recipients our relay refused (the delivery queue's ``delivery_failures``).

    The delivery worker writes a row per 5xx (kind 'hard') or per recipient that stayed
    temporary for [delivery] retry_for_hours (kind 'expired'); call this after each delivery
    round. Returns how many rows were scored.
    """
    return Bounces(services.db, services.config, services.notices).score_delivery_failures()
