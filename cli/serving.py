"""How `relayflow serve` runs uvicorn: worker processes, the request-head limit, logs and metrics.

* Request head limit: uvicorn's default HTTP parser (httptools) has no limit on
  the size of the request line and headers, so a client could make a worker
  hold megabytes per connection. `HeadLimitedHttpTools` counts the bytes that
  arrive before the headers are complete and answers 431 and closes the
  connection past RELAYFLOW_MAX_HEADER_BYTES (default 64 KiB); the same number
  is h11's limit when `--http h11` is chosen.
* Workers: `--workers N` starts N processes (uvicorn's supervisor) on one
  socket. Each runs the whole app: its own group commit, its own SLA worker
  thread (safe: scheduler passes take a per-flow lock and deliveries are claimed
  with a lease, engine/delivery/worker.py), its own credential cache (10 s).
* Metrics with several workers: PROMETHEUS_MULTIPROC_DIR is pointed at a fresh
  folder before the workers start (api/metrics.py).
* Proxies: uvicorn's own X-Forwarded-* handling is switched off; the app
  believes them only from RELAYFLOW_TRUSTED_PROXIES (api/trusted_proxies.py).
* Garbage collection: each served process sets what it made while starting
  aside from the cyclic collector (ui/app.py `served_app`, uvicorn's factory),
  so full collections stay short.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.logging_setup import log_config
from api.metrics import MULTIPROC_ENV
from engine.settings import Settings

_TOO_LARGE = b"the request line and headers are too large\n"
TOO_LARGE_RESPONSE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
                      b"connection: close\r\ncontent-length: " + str(len(_TOO_LARGE)).encode() + b"\r\n\r\n" + _TOO_LARGE)


class HeadLimitedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a limit on the bytes of a request's head."""

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._head_limit: int = config.h11_max_incomplete_event_size or 65536
        self._head_open = True  # the current request's headers are not complete yet
        self._head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._head_open:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_open and self._head_bytes > self._head_limit and not self.transport.is_closing():
            self.transport.write(TOO_LARGE_RESPONSE)
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_open = True


def prepare_metrics_dir(workers: int) -> str | None:
    """With several workers: an empty folder for prometheus_client's per-process files (kept if the
    operator set PROMETHEUS_MULTIPROC_DIR, but emptied: files of a previous run would count again)."""
    if workers <= 1:
        return None
    folder = os.environ.get(MULTIPROC_ENV) or tempfile.mkdtemp(prefix="relayflow-metrics-")
    path = Path(folder)
    if path.exists():
        for child in path.iterdir():
            if child.is_file() and child.suffix == ".db":
                child.unlink()
    path.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return str(path)


def uvicorn_options(settings: Settings, *, workers: int = 1, http: str = "httptools") -> dict[str, Any]:
    """Keyword arguments of uvicorn.run / uvicorn.Config for serving Relayflow."""
    return {
        "http": HeadLimitedHttpTools if http == "httptools" else "h11",
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "proxy_headers": False,  # the app decides whom to believe (RELAYFLOW_TRUSTED_PROXIES)
        "server_header": False,
        "access_log": False,  # the app writes one relayflow.access line per request, with its id
        "log_config": log_config(settings),
        "workers": workers if workers > 1 else None,
    }


def remove_metrics_dir(path: str | None, *, made_here: bool) -> None:
    if path and made_here:
        shutil.rmtree(path, ignore_errors=True)
