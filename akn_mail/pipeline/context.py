"""The two types every pipeline step speaks besides ``Services``: the ``Post`` it reads and the ``Decision`` it returns.

A step is ``step(post, services) -> Decision``. ``Services`` (akn_mail.services) is what
the process wired once: roster, queue, notices, archive, resolver, config, database.
``Post`` holds the facts about the one message being processed: read once from its bytes
(``akn_mail.message.parse``, mail-parser) and handed along, so every step and the archive
see the same From, Subject and Message-ID. Steps may set the fields marked "set by".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage

from akn_mail import message as message_module
from akn_mail.message import Parsed
from akn_mail.roster.members import Member


@dataclass(frozen=True)
class Decision:
    """What a step decided. ``action`` is next, accept, hold or discard."""

    action: str
    reason: str = ""

    NEXT = "next"
    ACCEPT = "accept"
    HOLD = "hold"
    DISCARD = "discard"

    @classmethod
    def next(cls) -> "Decision":
        return cls(cls.NEXT)

    @classmethod
    def accept(cls, reason: str = "") -> "Decision":
        return cls(cls.ACCEPT, reason)

    @classmethod
    def hold(cls, reason: str) -> "Decision":
        return cls(cls.HOLD, reason)

    @classmethod
    def discard(cls, reason: str) -> "Decision":
        return cls(cls.DISCARD, reason)

    @property
    def is_next(self) -> bool:
        return self.action == self.NEXT

    def __str__(self) -> str:
        return f"{self.action}: {self.reason}" if self.reason else self.action


@dataclass
class Post:
    """The facts about one message: its bytes, its one parse, its envelope and what steps found."""

    raw: bytes                               # exactly as received (decorate edits headers on these bytes)
    parsed: Parsed                           # the one parse (message_module.parse)
    envelope_sender: str = ""                # MAIL FROM; "" for the null sender <>
    recipients: list[str] = field(default_factory=list)  # RCPT TO addresses of this route
    spool_id: str = ""                       # the spool entry this came from ("" in unit tests)
    message_id: str = ""                     # normalised Message-ID (derived from the bytes when missing)
    approved: bool = False                   # a moderator approved it (re-entered from held mail)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))  # when it was received
    auth: str = "none"                       # sender verdict pass/fail/none (set by authenticate)
    auth_method: str = ""                    # what decided it: dmarc, dkim, spf (set by authenticate)
    auth_detail: str = ""                    # how, for the log and hold reasons (set by authenticate)
    sender_member: Member | None = None      # roster Member of the author (set by check_sender)
    is_minutes: bool = False                 # set by detect_minutes
    outgoing: bytes | None = None            # the decorated message (set by decorate)
    outbound_id: int | None = None           # delivery queue id (set by enqueue)
    archive_id: int | None = None            # archived_messages.id (set by file_in_archive)

    @classmethod
    def read(cls, raw: bytes, *, domain: str, **facts) -> "Post":
        """Parse RAW once; a message without a Message-ID gets one derived from its bytes.

        Derived, not random: the archive, every distributed copy and a re-run after a crash
        carry the same ID.
        """
        parsed = message_module.parse(raw)
        facts.setdefault("message_id", parsed.message_id or message_module.fallback_message_id(raw, domain))
        return cls(raw=raw, parsed=parsed, **facts)

    @property
    def message(self) -> EmailMessage:
        return self.parsed.message

    @property
    def subject(self) -> str:
        return self.parsed.subject

    @property
    def from_address(self) -> str:
        return self.parsed.from_address

    @property
    def from_name(self) -> str:
        return self.parsed.from_name

    @property
    def defects(self) -> list[str]:
        return self.parsed.defects
