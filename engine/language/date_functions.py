"""`days(n)` in the expression language: "today + days(30)" is the date thirty calendar days on.

It is the sandbox's one date function (engine/language/expressions.py registers it beside the
aggregates). Working days are the SLA's business (`sla: {due: 3d}`), not an expression's.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

MAX_DAYS = 36_600  # about a century either way


def days(n: Any) -> timedelta:
    if isinstance(n, bool) or not isinstance(n, (int, Decimal)) or n != int(n):
        raise TypeError("days() takes a whole number of days, e.g. days(30)")
    if abs(int(n)) > MAX_DAYS:
        raise ValueError(f"days() takes at most {MAX_DAYS} days")
    return timedelta(days=int(n))


DATE_FUNCTIONS = {"days": days}
