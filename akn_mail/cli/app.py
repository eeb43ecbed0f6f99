"""The object every command receives: configuration and services, opened on first use."""

from __future__ import annotations

import functools
import sqlite3

from akn_mail import config as config_module
from akn_mail.config import Config


class App:
    """Lazily opens what a command needs, so ``--help`` and simple commands stay cheap."""

    def __init__(self, config_path: str | None = None):
        self.config_path = config_path

    @functools.cached_property
    def config(self) -> Config:
        return config_module.load(self.config_path)

    @functools.cached_property
    def db(self) -> sqlite3.Connection:
        from akn_mail import db

        return db.connect(self.config.database_path)

    @functools.cached_property
    def roster(self):
        from akn_mail.roster.members import Roster

        return Roster(self.db)

    @functools.cached_property
    def rotation(self):
        from akn_mail.roster.rotation import Rotation

        return Rotation(self.db, self.roster)

    @functools.cached_property
    def queue(self):
        from akn_mail.delivery.queue import DeliveryQueue

        return DeliveryQueue(self.db, self.config)

    @functools.cached_property
    def held(self):
        from akn_mail.notices.held import HeldStore

        return HeldStore(self.db, self.config)

    @functools.cached_property
    def notices(self):
        from akn_mail.notices.notices import Notices

        return Notices(self.config, self.db, roster=self.roster, rotation=self.rotation)

    @functools.cached_property
    def archive(self):
        from akn_mail.archive.filing import Archive

        return Archive(self.config, self.db, roster=self.roster)
