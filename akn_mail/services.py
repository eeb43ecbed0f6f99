"""The services of one process, wired once: roster, rotation, queue, notices, held mail, archive.

Every process builds one ``Services`` per SQLite connection (the CLI one, the serve
worker one for its processing thread and one for its delivery thread) and hands it to
whatever needs a service, instead of each part building its own with a fallback. That is
how a notice written while processing a post lands in the queue that carries the worker's
wake-up event, so it goes out at once rather than after ``[delivery] poll_seconds``.
The archive (which loads whoosh) is opened on first use only: the SMTP edge never needs it.
"""

from __future__ import annotations

import functools
import sqlite3
import threading

from akn_mail import db as db_module
from akn_mail.config import Config
from akn_mail.delivery.queue import DeliveryQueue
from akn_mail.meetings.invitations import Invitations
from akn_mail.notices.held import HeldStore
from akn_mail.notices.moderation import Moderation
from akn_mail.notices.notices import Notices
from akn_mail.pipeline.dmarc import DmarcResolver
from akn_mail.roster.members import Roster
from akn_mail.roster.rotation import Rotation


class Services:
    """The typed services a pipeline step, a handler or a CLI command may use."""

    def __init__(self, config: Config, db: sqlite3.Connection | None = None, *,
                 wakeup: threading.Event | None = None, resolver=None):
        self.config = config
        self.db = db if db is not None else db_module.connect(config.database_path)
        self.wakeup = wakeup        # set by the queue whenever mail is queued (the delivery worker waits on it)
        self._resolver = resolver   # injected DMARC resolver (tests); else one DmarcResolver per Services

    @functools.cached_property
    def roster(self) -> Roster:
        return Roster(self.db)

    @functools.cached_property
    def rotation(self) -> Rotation:
        return Rotation(self.db, self.roster)

    @functools.cached_property
    def queue(self) -> DeliveryQueue:
        return DeliveryQueue(self.db, self.config, self.wakeup)

    @functools.cached_property
    def notices(self) -> Notices:
        return Notices(self.config, self.db, queue=self.queue, roster=self.roster, rotation=self.rotation)

    @functools.cached_property
    def invitations(self) -> Invitations:
        return Invitations(self.config, self.db, queue=self.queue, roster=self.roster, rotation=self.rotation)

    @functools.cached_property
    def held(self) -> HeldStore:
        return HeldStore(self.db, self.config)

    @functools.cached_property
    def moderation(self) -> Moderation:
        return Moderation(self.config, self.db, notices=self.notices, held_store=self.held)

    @functools.cached_property
    def resolver(self):
        """DMARC policy lookups for the decorate step (``policy(domain)``)."""
        return self._resolver if self._resolver is not None else DmarcResolver()

    @functools.cached_property
    def archive(self):
        """The archive (Maildir, metadata, index); imported on first use, since it loads whoosh."""
        from akn_mail.archive.filing import Archive

        return Archive(self.config, self.db, roster=self.roster)
