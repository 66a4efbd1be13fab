"""How long the slow parts of an apply are expected to take, from the number of rows.

The rates are measured by bench/evolve_bench.py on the development machines
(a 1,000,000-record table); a plan shows them rounded, as an order of magnitude.
"""
from __future__ import annotations

# Seconds per row to build a two-column index (field, id).
INDEX_SECONDS_PER_ROW = {"sqlite": 1.0e-6, "postgresql": 1.2e-6}
# Seconds per row to convert and rewrite one column's values in Python.
REWRITE_SECONDS_PER_ROW = {"sqlite": 12e-6, "postgresql": 30e-6}


def index_seconds(dialect: str, rows: int) -> float:
    return rows * INDEX_SECONDS_PER_ROW.get(dialect, 1e-6)


def rewrite_seconds(dialect: str, rows: int) -> float:
    return rows * REWRITE_SECONDS_PER_ROW.get(dialect, 30e-6)


def describe_seconds(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    return f"about {seconds / 60:.0f} min"
