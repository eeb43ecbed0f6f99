"""The two types every pipeline step speaks: the ``Context`` it reads and the ``Decision`` it returns.

They live apart from ``akn_mail.pipeline`` (which re-exports them) so that the step modules
can import them while the pipeline imports the steps.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from akn_mail.config import Config

if TYPE_CHECKING:  # pragma: no cover - imports for type names only
    from akn_mail.delivery.queue import DeliveryQueue


@dataclass(frozen=True)
class Decision:
    """What a step decided. ``action`` is next, accept, hold, discard or reject."""

    action: str
    reason: str = ""

    NEXT = "next"
    ACCEPT = "accept"
    HOLD = "hold"
    DISCARD = "discard"
    REJECT = "reject"

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

    @classmethod
    def reject(cls, reason: str) -> "Decision":
        return cls(cls.REJECT, reason)

    @property
    def is_next(self) -> bool:
        return self.action == self.NEXT

    def __str__(self) -> str:
        return f"{self.action}: {self.reason}" if self.reason else self.action


@dataclass
class Context:
    """Everything a step may read or set about the one message being processed.

    The parsed message itself is passed beside it (an ``EmailMessage`` read with
    ``policy.SMTP``); ``raw`` keeps the exact bytes as received so that the decorate
    step can change headers without touching the body.
    """

    config: Config
    db: sqlite3.Connection
    raw: bytes
    roster: Any = None                       # akn_mail.roster.Roster (H1), or None in unit tests
    queue: "DeliveryQueue | None" = None     # where the enqueue step puts the fan-out
    envelope_sender: str = ""                # MAIL FROM; "" for the null sender <>
    recipients: list[str] = field(default_factory=list)  # RCPT TO addresses of this route
    spool_id: str = ""                       # the spool entry this came from ("" in unit tests)
    message_id: str = ""                     # Message-ID without angle brackets ("" if missing)
    subject: str = ""                        # decoded subject
    from_address: str = ""                   # address in From, lower-cased
    from_name: str = ""                      # display name in From, decoded
    sender_contact: Any = None               # roster Contact of the author, if any
    sender_member: Any = None                # roster Member of the author, if any
    is_minutes: bool = False                 # subject carries the minutes tag (set by detect_minutes)
    approved: bool = False                   # a moderator approved it (held mail re-run)
    resolver: Any = None                     # DMARC policy lookup for decorate (see steps/decorate.py)
    outgoing: bytes | None = None            # the decorated message (set by decorate)
    outbound_id: int | None = None           # delivery queue id (set by enqueue)
    archive_id: Any = None                   # whatever the archive step wants to remember
    defects: list[str] = field(default_factory=list)  # parser defects, for the log and holds
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def list_address(self) -> str:
        return self.config.list.address
