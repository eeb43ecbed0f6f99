"""Output shared by the commands: aligned tables, the host changes that every command
changing the roster or the rotation prints (with its --dry-run option), and text from mail
made safe for a terminal.

Anything a command prints that came from a mail (a subject, a sender, a body, a filename,
a relay's error text) may carry terminal control sequences: ``ESC]0;…BEL`` retitles the
window, ``ESC[2J`` clears the screen, a C1 ``CSI`` (U+009B) does the same on many terminals.
``safe`` shows each such character as a visible escape (``\\x1b``) instead; newline and tab
stay. ``safe_bytes`` does the same for a raw message (8-bit bytes that are not UTF-8 are
shown as ``\\xe4``). ``json_text`` is ``json.dumps`` that also escapes C1 and DEL, which
JSON allows raw but a terminal may obey (they live in ``akn_mail.text``, without click, for
the search server). Every command that prints text from mail uses these: archive show, held show, held list, search, queue list.
"""

from __future__ import annotations

from typing import Sequence

import click

from akn_mail.text import json_text, safe, safe_bytes  # noqa: F401 - the commands import them from here

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
