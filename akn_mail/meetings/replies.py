"""Answers to invitations: iTIP REPLY mails are recorded per contact, never distributed.

Outlook, Thunderbird, Apple Calendar and Google answer an invitation with a mail to its
ORGANIZER (the list address) carrying a calendar with METHOD:REPLY, the meeting's UID and
the attendee's PARTSTAT (ACCEPTED, TENTATIVE, DECLINED). The first pipeline step and the
-request handler hand every message here: a calendar reply is recorded in
``meeting_attendees`` and the message is discarded (it is nobody's post); a reply from an
address that was not invited, or about a meeting nobody invited to, is ignored and logged.
A reply to an older SEQUENCE (the meeting changed since) is ignored too: the contact
answers the update.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from dataclasses import asdict, dataclass, field
from email.message import Message

from akn_mail.db import transaction
from akn_mail.meetings import itip

log = logging.getLogger("akn_mail.meetings")

ANSWER_TEXT = {"ACCEPTED": "accepted", "TENTATIVE": "tentative", "DECLINED": "declined", "NEEDS-ACTION": "no answer"}


def record_reply(db: sqlite3.Connection, message: Message, from_address: str,
                 now: dt.datetime | None = None, replies: list | None = None) -> str | None:
    """Record the answers in MESSAGE if it is an iTIP REPLY; the reason for the log, or
    None when the message is no calendar reply (then it goes on as usual). REPLIES: the
    answers already read from MESSAGE, so a caller that looked first does not parse twice."""
    if replies is None:
        replies = itip.read_replies(message)
    if replies is None:
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    if not replies:
        log.warning("calendar reply without an answer ignored from=%s", from_address)
        return "calendar reply without an attendee answer: ignored"
    done = []
    for reply in replies:
        invitation = db.execute("SELECT * FROM meeting_invitations WHERE uid = ?", (reply.uid,)).fetchone()
        if invitation is None:
            log.warning("calendar reply ignored uid=%s from=%s reason=not-an-invited-meeting", reply.uid, from_address)
            done.append(f"{reply.attendee}: no invitation with UID {reply.uid}, ignored")
            continue
        invited = {row["email"] for row in db.execute(
            "SELECT email FROM meeting_attendees WHERE meeting_id = ?", (invitation["meeting_id"],))}
        who = reply.attendee if reply.attendee in invited else (from_address or "").lower()
        if who not in invited:
            log.warning("calendar reply ignored uid=%s attendee=%s from=%s reason=not-invited",
                        reply.uid, reply.attendee, from_address)
            done.append(f"{reply.attendee or from_address}: not invited, ignored")
            continue
        if reply.sequence is not None and reply.sequence < invitation["sequence"]:
            log.info("calendar reply ignored uid=%s attendee=%s sequence=%s reason=older-than-%s",
                     reply.uid, who, reply.sequence, invitation["sequence"])
            done.append(f"{who}: answer to an older version (SEQUENCE {reply.sequence}), ignored")
            continue
        with transaction(db):
            db.execute(
                "UPDATE meeting_attendees SET partstat = ?, replied_at = ?, reply_sequence = ? WHERE meeting_id = ? AND email = ?",
                (reply.partstat, now.strftime("%Y-%m-%dT%H:%M:%SZ"), reply.sequence, invitation["meeting_id"], who),
            )
        log.info("calendar reply recorded uid=%s attendee=%s answer=%s", reply.uid, who, reply.partstat)
        done.append(f"{who} {ANSWER_TEXT.get(reply.partstat, reply.partstat.lower())}")
    return "meeting reply recorded: " + "; ".join(done)


@dataclass
class MemberAttendance:
    """One member's answer: the best of its contacts' (accepted, tentative, no answer, declined)."""

    member: str
    status: str
    contacts: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)


def member_status(answers: list[str]) -> str:
    for partstat in ("ACCEPTED", "TENTATIVE", "NEEDS-ACTION"):
        if partstat in answers:
            return ANSWER_TEXT[partstat]
    return ANSWER_TEXT["DECLINED"] if answers else ANSWER_TEXT["NEEDS-ACTION"]


def attendance(db: sqlite3.Connection, meeting_id: int | None, members: list[str]) -> list[MemberAttendance]:
    """Per member (in the order given: German alphabetical), who answered what. Members
    without an invited contact show as 'no answer' with no contacts."""
    rows = [] if meeting_id is None else db.execute(
        "SELECT * FROM meeting_attendees WHERE meeting_id = ? ORDER BY email", (meeting_id,)).fetchall()
    by_member: dict[str, list[sqlite3.Row]] = {}
    for row in rows:
        by_member.setdefault(row["member_name"], []).append(row)
    names = list(members) + [name for name in by_member if name not in members]
    result = []
    for name in names:
        contacts = by_member.get(name, [])
        result.append(MemberAttendance(
            name, member_status([row["partstat"] for row in contacts]),
            [{"email": row["email"], "name": row["name"], "answer": ANSWER_TEXT.get(row["partstat"], row["partstat"].lower()),
              "replied_at": row["replied_at"]} for row in contacts],
        ))
    return result
