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


class _NotPlain(Exception):
    """The file is not written plainly enough to be read without the TOML parser."""


# Characters that are line breaks to Python but not to TOML (a TOML comment may hold them), and DEL.
_OTHER_BREAKS = frozenset("\x7f\x85\u2028\u2029")
# How a TOML value on one line begins: a string, number, date, boolean, array, inf or nan.
_VALUE_STARTS = frozenset("\"'[0123456789+-tfin")


def _bare(key: str) -> bool:
    """A TOML bare key: ASCII letters, digits, ``_`` and ``-``."""
    return bool(key) and key.isascii() and key.replace("_", "a").replace("-", "a").isalnum()


def _plain_data_dir(text: str) -> str | None:
    """[storage] data_dir of a plainly written file (one table header or ``key = value`` per
    line, bare keys, simple values, the data_dir a one-line string without escapes), None
    when not set. Importing the TOML parser is 16 ms, a third of the search client's own
    start; a file written any other way (dotted or quoted keys, values over several lines,
    escapes, control characters, a table twice) raises _NotPlain and is read by it."""
    text = text.replace("\r\n", "\n")
    if any(ord(character) < 32 and character not in "\n\t" or character in _OTHER_BREAKS for character in text):
        raise _NotPlain  # other line breaks, control characters: the parser decides
    section, found, tables = None, None, set()
    for line in text.split("\n"):
        line = line.strip(" \t")
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            close = line.find("]")
            after = line[close + 1:].strip(" \t") if close > 0 else "?"
            if line.startswith("[[") or (after and not after.startswith("#")):
                raise _NotPlain
            section = line[1:close].strip(" \t")
            if not all(_bare(part) for part in section.split(".")) or section in tables or section.startswith("storage."):
                raise _NotPlain
            tables.add(section)
            continue
        key, equals, value = line.partition("=")
        key, value = key.strip(" \t"), value.strip(" \t")
        if not equals or not _bare(key) or value[:1] not in _VALUE_STARTS or '"""' in value or "'''" in value:
            raise _NotPlain
        if section != "storage" or key != "data_dir":
            continue
        quote = value[:1]
        end = value.find(quote, 1) if quote in ('"', "'") else -1
        rest = value[end + 1:].strip(" \t") if end > 0 else "?"
        if found is not None or (quote == '"' and "\\" in value[:end]) or (rest and not rest.startswith("#")):
            raise _NotPlain
        found = value[1:end]
    return found


def data_directory(explicit: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> Path:
    """The data directory as ``config.load`` resolves it, reading only [storage] data_dir.
    Raises on an unreadable file (the caller then lets the full reader say what is wrong)."""
    environ = os.environ if environ is None else environ
    path = find_config_path(explicit)
    base_dir, value = Path.cwd(), DEFAULT_DATA_DIR
    if path is not None:
        with open(path, "rb") as file:
            data = file.read()
        try:
            plain = _plain_data_dir(data.decode("utf-8"))
        except _NotPlain:
            import tomllib

            plain = tomllib.loads(data.decode("utf-8")).get("storage", {}).get("data_dir")
        base_dir = path.resolve().parent
        value = value if plain is None else plain
    value = environ.get(DATA_DIR_ENV, value)
    if not isinstance(value, str):
        raise ValueError("[storage] data_dir is not a text")
    return resolve(value, base_dir)
