"""Shared fixtures: real SQLite files and real servers under tmp_path, never mocks."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from akn_mail import config as config_module
from akn_mail import db

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "examples"
ROSTER_CSV = Path(__file__).resolve().parent / "data" / "roster.csv"


def verp_of(config: config_module.Config, recipient: str) -> str:
    """The VERP bounce address the list gives ``recipient`` (with its check code)."""
    from akn_mail.delivery import verp

    return verp.recipient_address(verp.load_key(config), config.bounce_address, recipient)


def free_port() -> int:
    """A port the OS says is free on 127.0.0.1 (fixed ports break parallel runs)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A config file in tmp_path whose data directory is tmp_path/data."""
    path = tmp_path / "akn-mail.toml"
    path.write_text('[storage]\ndata_dir = "data"\n', encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AKN_MAIL_* setting of the machine running the tests reaches a test."""
    for name in list(os.environ):
        if name.startswith("AKN_MAIL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def config(config_file: Path) -> config_module.Config:
    return config_module.load(config_file)


@pytest.fixture
def database(config: config_module.Config):
    connection = db.connect(config.database_path)
    yield connection
    connection.close()
