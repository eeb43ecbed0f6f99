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
