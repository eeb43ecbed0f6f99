"""The object every command receives: configuration and the process's services, opened on first use."""

from __future__ import annotations

import functools
import sqlite3

from akn_mail import config as config_module
from akn_mail.config import Config


class App:
    """Lazily opens what a command needs, so ``--help`` and simple commands stay cheap.

    The services are one ``akn_mail.services.Services``, wired once for this process; the
    properties below are short names for its parts.
    """

    def __init__(self, config_path: str | None = None):
        self.config_path = config_path

    @functools.cached_property
    def config(self) -> Config:
        return config_module.load(self.config_path)

    @functools.cached_property
    def data_config(self) -> Config:
        """The configuration of a command that works on the data directory: refused (one
        line naming init and --config) when there is neither a config file nor a data
        directory, instead of silently creating a new, empty archive in the current directory."""
        return config_module.require_data(self.config)

    @functools.cached_property
    def services(self):
        from akn_mail.services import Services

        return Services(self.data_config)

    @property
    def db(self) -> sqlite3.Connection:
        return self.services.db

    @property
    def roster(self):
        return self.services.roster

    @property
    def rotation(self):
        return self.services.rotation

    @property
    def queue(self):
        return self.services.queue

    @property
    def held(self):
        return self.services.held

    @property
    def notices(self):
        return self.services.notices

    @property
    def archive(self):
        return self.services.archive
