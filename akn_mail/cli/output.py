"""Plain-text output shared by the commands: aligned tables, and the host changes that
every command changing the roster or the rotation prints (with its --dry-run option)."""

from __future__ import annotations

from typing import Sequence

import click

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
