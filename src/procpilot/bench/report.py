"""What every benchmark prints: one report (plain JSON, whose keys scripts read) and the same
figures as a table for people. Benchmarks build the report; ``figures`` turns it into rows; the
CLI renders the rows, so every benchmark prints the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Figures:
    """A table: the first column names the row; ``notes`` are lines printed under it."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(["" if c is None else str(c) for c in cells])


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile, ``q`` in 0..1 (0.95 is p95); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(seconds: float) -> float:
    """Seconds as milliseconds, to a tenth."""
    return round(seconds * 1000, 1)
