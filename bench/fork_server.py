"""A server launcher that forks: imports the app once, then starts each server process with os.fork.

The SIGKILL fault test (tests/faults/test_kill_server.py) kills and restarts a server 30 times per
database. A fresh `uvicorn` process spends seconds importing FastAPI, SQLAlchemy, Jinja2 and the
project before it serves; a forked child of this launcher, which has done that once, serves in a
fraction of a second. The child is a real, separate server process (its own database connections,
group-commit threads, event loop; nothing is opened before the fork), listening on 127.0.0.1.

Protocol on stdin/stdout, one line each: `serve PORT` → `pid N` (the child serves until killed).
The database and the flows come from the RELAYFLOW_* environment, as for `uvicorn api.app:create_app`.
"""
from __future__ import annotations

import os
import signal
import sys


def _serve(port: int) -> None:
    import uvicorn

    from api.app import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    import importlib

    import api.app  # noqa: F401 - the imports every child shares
    import uvicorn  # noqa: F401

    # What uvicorn and a first apply import lazily: done once here instead of in every child.
    for name in ("uvicorn.config", "uvicorn.server", "uvicorn.lifespan.on", "uvicorn.loops.auto", "uvicorn.loops.asyncio",
                 "uvicorn.loops.uvloop", "uvicorn.protocols.http.auto", "uvicorn.protocols.http.h11_impl",
                 "uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.websockets.auto",
                 "alembic.autogenerate", "alembic.operations", "engine.evolve", "engine.evolve.runtime"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # killed children are reaped at once
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command != "serve":
            continue
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                _serve(int(arg))
            finally:
                os._exit(0)
        print(f"pid {pid}", flush=True)


if __name__ == "__main__":
    main()
