"""Plain-text output shared by the commands: aligned tables."""

from __future__ import annotations

from typing import Sequence


def table(rows: Sequence[Sequence[object]]) -> str:
    """Rows as left-aligned columns two spaces apart (the first row is the heading)."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(cells[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells)
