"""Log output: where it goes, and the one line format an operator can ``grep``.

Every part of akn-mail logs what happened to a message as one line of ``key=value``
fields that starts with an event word and carries ``message_id=<…>``::

    accepted message_id=<4711@dormagen.example> spool_id=1732… sender=anna@dormagen.example recipients=1
    decision message_id=<4711@dormagen.example> step=check_sender action=hold reason="not a contact"
    delivery message_id=<4711@dormagen.example> recipient=bernd@kaarst.example status=sent code=250
    bounce message_id=<bounce-1@mx.kaarst.example> recipient=bernd@kaarst.example kind=permanent score=1.0

so ``journalctl -u akn-mail | grep '<4711@dormagen.example>'`` follows one mail from its
arrival to its last recipient. Build such lines with ``fields()`` (or ``event()``) so that
values with spaces or quotes stay one field. Field names in use: message_id, spool_id,
queue_id, sender, recipient, recipients, step, action, reason, status, code, attempt,
kind, score, contact, detector.

``setup()`` reads [logging] level and file: an empty file logs to standard error, which
systemd hands to the journal; a file is reopened when logrotate moves it away. Under
systemd (``$JOURNAL_STREAM`` set) each line starts with its syslog priority, ``<4>`` for a
warning and ``<3>`` for an error (sd-daemon(3)), which journald strips and records, so
``journalctl -u akn-mail -p warning`` shows exactly the warnings and errors.
Settings: [logging] level, file.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from typing import Any

from akn_mail.config import Config, ConfigError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

# Values made only of these characters are written bare; anything else is quoted.
_BARE = re.compile(r"^[A-Za-z0-9_.,:;/@+<>\[\]()#!?%&*~^|$-]+$")
_MARKER = "_akn_mail_handler"

# sd-daemon(3) priority prefixes: journald reads "<N>" at the start of a line as the
# syslog priority of that line (SyslogLevelPrefix=yes, the default) and removes it.
JOURNAL_PRIORITIES = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


def journal_priority(levelno: int) -> int:
    """The syslog priority of a Python log level (levels between two take the less urgent)."""
    for level, priority in sorted(JOURNAL_PRIORITIES.items(), reverse=True):
        if levelno >= level:
            return priority
    return 7


class JournalFormatter(logging.Formatter):
    """Prefixes every line with ``<N>``, its syslog priority, for journald."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{journal_priority(record.levelno)}>"
        # A multi-line record (a traceback) would lose its priority after the first line.
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


def message_id_field(message_id: str | None) -> str:
    """The Message-ID as it is logged: in angle brackets, as in the header, '<>' if unknown."""
    value = (message_id or "").strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return f"<{value}>"


def quote(value: Any) -> str:
    """One field value: bare when it is one plain word, else in double quotes with escapes."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set, frozenset)):
        value = ",".join(str(item) for item in value)
    text = str(value)
    if text and _BARE.match(text):
        return text
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def fields(**values: Any) -> str:
    """``key=value`` pairs in the given order; ``message_id`` is put in angle brackets."""
    parts = []
    for key, value in values.items():
        if key == "message_id":
            parts.append(f"message_id={message_id_field(value)}")
        else:
            parts.append(f"{key}={quote(value)}")
    return " ".join(parts)


def event(logger: logging.Logger, name: str, *, level: int = logging.INFO, **values: Any) -> None:
    """Log one structured line: the event word, then its fields (message_id first if given)."""
    if not logger.isEnabledFor(level):
        return
    if "message_id" in values:
        values = {"message_id": values.pop("message_id"), **values}
    logger.log(level, "%s %s", name, fields(**values))


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the moment (click's test runner swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_cli(verbose: bool = False) -> logging.Handler:
    """Log lines of a CLI command: on stderr, never in its output; errors only, INFO and
    warnings with -v. ``setup`` (serve) replaces this handler with the configured one."""
    handler = _CurrentStderr()
    handler.setLevel(logging.INFO if verbose else logging.ERROR)
    handler.setFormatter(logging.Formatter("akn-mail: %(levelname)s %(name)s: %(message)s"))
    setattr(handler, _MARKER, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARKER, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    if verbose:
        logging.getLogger("akn_mail").setLevel(logging.INFO)
    return handler


def setup(config: Config, stream=None) -> logging.Handler:
    """Send akn-mail's log lines where [logging] says, at its level. Safe to call again."""
    level_name = config.logging.level.upper()
    if level_name not in LEVELS:
        raise ConfigError(f"[logging] level must be one of {', '.join(LEVELS)}, not {config.logging.level!r}.")
    level = getattr(logging, level_name)
    if config.logging.file:
        path = config.resolve(config.logging.file)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # WatchedFileHandler reopens the file after logrotate renamed it.
            handler: logging.Handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
        except OSError as error:
            raise ConfigError(
                f"[logging] file {path} cannot be opened: {error.strerror}. Make its directory writable or set file = \"\"."
            ) from None
        timestamps = True
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
        # The journal stamps every line itself; elsewhere (a terminal) the time helps.
        timestamps = "JOURNAL_STREAM" not in os.environ
    prefix = "%(asctime)s " if timestamps else ""
    formatter_class = JournalFormatter if (not config.logging.file and "JOURNAL_STREAM" in os.environ) else logging.Formatter
    handler.setFormatter(formatter_class(prefix + "%(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    setattr(handler, _MARKER, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARKER, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(min(level, logging.WARNING))
    logging.getLogger("akn_mail").setLevel(level)
    # Libraries speak only when something is wrong, unless we debug.
    for name in ("mail.log", "flufl.bounce", "whoosh"):
        logging.getLogger(name).setLevel(logging.DEBUG if level == logging.DEBUG else logging.WARNING)
    return handler
