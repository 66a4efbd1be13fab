"""Pieces the benchmarks share."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# The request-like flows of the engine and HTTP benchmarks: a record title, three
# roles and a business calendar (a flow file's text goes on with more calendar
# keys, `fields:` and so on).
REQUEST_ROLES_AND_CALENDAR = """\
record_title: "{{ subject }}"
roles:
  requester: Requester
  reviewer: Reviewer
  fulfiller: Fulfiller
calendar:
  timezone: Asia/Shanghai
  hours:
    mon-fri: ["09:00-12:00", "13:00-18:00"]
"""


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """fn's result and the wall-clock seconds it took."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


