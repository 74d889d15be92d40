"""A sample workbook's sheet as cells (Grid, Formula, ErrorValue), the writers' styles, and a sheet moved."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.core.model import cell_name

# Styles of the fast writer (index into cellXfs of STYLES_XML).
ANNEX, TITLE, LINE, BOX, TEXT = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Formula:
    text: str                  # without "=": "SUM(B6:B13)"
    cached: int | None         # the stored result; None = none stored


@dataclass(frozen=True)
class ErrorValue:
    text: str                  # "#DIV/0!"
    formula: str | None = None  # the formula it is the stored result of; None = typed


@dataclass
class Grid:
    """One sheet: 0-based (row, col) -> int | float | str | Formula, with styles and merges."""
    name: str
    cells: dict = field(default_factory=dict)
    styles: dict = field(default_factory=dict)
    merges: list = field(default_factory=list)          # (r1, c1, r2, c2), inclusive
    widths: dict = field(default_factory=dict)          # col -> width in characters
    hidden: bool = False


def shifted(g: Grid, dr: int, dc: int) -> Grid:
    """The sheet with everything `dr` rows down and `dc` columns right (formulas' ranges too)."""
    def move(value):
        if isinstance(value, Formula):
            return Formula(re.sub(r"([A-Z]+)(\d+)", lambda m: cell_name(int(m[2]) - 1 + dr, _col(m[1]) + dc),
                                  value.text), value.cached)
        return value
    return Grid(g.name, {(r + dr, c + dc): move(v) for (r, c), v in g.cells.items()},
                {(r + dr, c + dc): style for (r, c), style in g.styles.items()},
                [(r1 + dr, c1 + dc, r2 + dr, c2 + dc) for r1, c1, r2, c2 in g.merges],
                {c + dc: w for c, w in g.widths.items()})


def _col(letters: str) -> int:
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return col - 1
