"""Where the configuration file and the data directory are: one rule for ``config`` and for
the search client of ``__main__``, which must answer before the configuration's full
reader (its dataclasses and checks, a third of the client's start) is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_ENV = "AKN_MAIL_CONFIG"
DEFAULT_CONFIG_NAME = "akn-mail.toml"
DEFAULT_DATA_DIR = "archive"
# The override of [storage] data_dir (``config`` builds every AKN_MAIL_<SECTION>_<KEY> so).
DATA_DIR_ENV = "AKN_MAIL_STORAGE_DATA_DIR"


def find_config_path(explicit: str | os.PathLike | None = None) -> Path | None:
    """The config file to read: --config, $AKN_MAIL_CONFIG, ./akn-mail.toml, or none."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    local = Path.cwd() / DEFAULT_CONFIG_NAME
    return local if local.exists() else None


def resolve(value: str, base_dir: Path) -> Path:
    """A path from the configuration: ``~`` expanded, relative ones from the config file's directory."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base_dir / path)


def data_directory(explicit: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> Path:
    """The data directory as ``config.load`` resolves it, reading only [storage] data_dir.
    Raises on an unreadable file (the caller then lets the full reader say what is wrong)."""
    import tomllib

    environ = os.environ if environ is None else environ
    path = find_config_path(explicit)
    base_dir, value = Path.cwd(), DEFAULT_DATA_DIR
    if path is not None:
        with open(path, "rb") as file:
            storage = tomllib.load(file).get("storage", {})
        base_dir = path.resolve().parent
        value = storage.get("data_dir", value)
    value = environ.get(DATA_DIR_ENV, value)
    if not isinstance(value, str):
        raise ValueError("[storage] data_dir is not a text")
    return resolve(value, base_dir)
