"""Output shared by the commands: aligned tables, the host changes that every command
changing the roster or the rotation prints (with its --dry-run option), and text from mail
made safe for a terminal.

Anything a command prints that came from a mail (a subject, a sender, a body, a filename,
a relay's error text) may carry terminal control sequences: ``ESC]0;…BEL`` retitles the
window, ``ESC[2J`` clears the screen, a C1 ``CSI`` (U+009B) does the same on many terminals.
``safe`` shows each such character as a visible escape (``\\x1b``) instead; newline and tab
stay. ``safe_bytes`` does the same for a raw message (8-bit bytes that are not UTF-8 are
shown as ``\\xe4``). ``json_text`` is ``json.dumps`` that also escapes C1 and DEL, which
JSON allows raw but a terminal may obey. Every command that prints text from mail uses
these: archive show, held show, held list, search, queue list.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

import click

# C0 except tab (0x09) and newline (0x0a), DEL, and C1 (0x80-0x9f). ESC (0x1b) is C0.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match) -> str:
    return f"\\x{ord(match.group(0)):02x}"


def safe(text: object) -> str:
    """``text`` with every control character but newline and tab shown as ``\\xNN``.

    CRLF is a line end; a lone CR (which lets a line overwrite itself) is shown as ``\\x0d``.
    """
    return _CONTROL.sub(_visible, str(text).replace("\r\n", "\n"))


def safe_bytes(raw: bytes) -> str:
    """A raw message as text for a terminal: UTF-8 where it is, ``\\xNN`` for other bytes, LF line ends."""
    return safe(raw.decode("utf-8", "backslashreplace"))


def _json_escape(match: re.Match) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def json_text(value: Any) -> str:
    """``value`` as indented JSON (UTF-8 kept readable) with every control character escaped.

    ``json.dumps`` escapes C0 already; C1 and DEL are legal raw in JSON strings, and can
    only occur inside strings, so escaping them keeps the JSON equal and the terminal safe.
    """
    return _CONTROL.sub(_json_escape, json.dumps(value, ensure_ascii=False, indent=2))


DRY_RUN = click.option("--dry-run", is_flag=True, help="Show which quarters would change their host; change nothing.")


class _Silent:
    """A progress bar that shows nothing (output to a file or a pipe)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, steps: int = 1) -> None:
        return None


def progress(length: int, label: str):
    """A progress bar on stderr when a person watches a terminal; nothing otherwise (a bare
    "Importing" line in a log or a pipe is noise, not output)."""
    import sys

    if not sys.stderr.isatty():
        return _Silent()
    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)


def echo_report(report) -> None:
    """The quarters whose host changed (before -> after), and the plans dropped with them."""
    for line in report.lines():
        click.echo(line)


def table(rows: Sequence[Sequence[object]]) -> str:
    """Rows as left-aligned columns two spaces apart (the first row is the heading)."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(cells[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells)
