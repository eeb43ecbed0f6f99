"""The object every command receives: configuration and services, opened on first use."""

from __future__ import annotations

import functools
import sqlite3

from .. import config as config_module
from ..config import Config


class App:
    """Lazily opens what a command needs, so ``--help`` and simple commands stay cheap."""

    def __init__(self, config_path: str | None = None):
        self.config_path = config_path

    @functools.cached_property
    def config(self) -> Config:
        return config_module.load(self.config_path)

    @functools.cached_property
    def db(self) -> sqlite3.Connection:
        from .. import db

        return db.connect(self.config.database_path)

    @functools.cached_property
    def roster(self):
        from ..roster import Roster

        return Roster(self.db)

    @functools.cached_property
    def rotation(self):
        from ..rotation import Rotation

        return Rotation(self.db, self.roster)

    @functools.cached_property
    def queue(self):
        from ..delivery import DeliveryQueue

        return DeliveryQueue(self.db, self.config)

    @functools.cached_property
    def held(self):
        from ..held import HeldStore

        return HeldStore(self.db, self.config)

    @functools.cached_property
    def notices(self):
        from ..notices import Notices

        return Notices(self.config, self.db, roster=self.roster, rotation=self.rotation)

    @functools.cached_property
    def archive(self):
        from ..archive.filing import Archive

        return Archive(self.config, self.db, roster=self.roster)
