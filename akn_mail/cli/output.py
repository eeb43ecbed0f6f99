"""Plain-text output shared by the commands: aligned tables, and the host changes that
every command changing the roster or the rotation prints (with its --dry-run option)."""

from __future__ import annotations

from typing import Sequence

import click

DRY_RUN = click.option("--dry-run", is_flag=True, help="Show which quarters would change their host; change nothing.")


def echo_report(report) -> None:
    """The quarters whose host changed (before -> after), and the plans dropped with them."""
    for line in report.lines():
        click.echo(line)


def table(rows: Sequence[Sequence[object]]) -> str:
    """Rows as left-aligned columns two spaces apart (the first row is the heading)."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(cells[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells)
