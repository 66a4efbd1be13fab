"""Flow-editor work (validate as you type, plan, apply) runs off the event loop, in few threads of its own.

Loading a big flow file (YAML, the meaning checks, every expression compiled) and planning a
reload (counting records per change) are CPU and database work of seconds. On the event loop
they would stop every other request — /health included — for that long. In FastAPI's shared
thread pool (40 threads) a burst of as-you-type checks from a few editors could take every
thread, and the pages and /health would queue behind them. So editor work goes through
`editor_work`: a worker thread, at most EDITOR_THREADS of them at once; more requests wait
without holding a thread.
"""
from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

T = TypeVar("T")

EDITOR_THREADS = 2

_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = weakref.WeakKeyDictionary()


def _limiter() -> CapacityLimiter:
    """One limiter per event loop (a limiter belongs to the loop that made it; tests run several)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(EDITOR_THREADS)
    return limiter


async def editor_work(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a worker thread of the editor's own few."""
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=_limiter())
