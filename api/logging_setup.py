"""Log lines as JSON objects (python-json-logger), each with the id of the request it belongs to.

`log_config(settings)` is a `logging.config.dictConfig` mapping; `relayflow
serve` hands it to uvicorn, which applies it in the server process and in
every worker process. A JSON line has `time`, `level`, `logger`, `message`,
`request_id` (`-` outside a request) and the `extra` fields of the call (the
access log's method, route, status, duration_ms, client; the security log's
event, username, ...).

Why python-json-logger: it is a small, maintained formatter for the standard
logging module (the project keeps the standard module, so library and uvicorn
logs come out the same way) that turns a record's `extra` fields into JSON
members; writing that by hand means re-deriving which record attributes are
the standard ones.
"""
from __future__ import annotations

import logging
from typing import Any

from api.request_context import REQUEST_ID
from engine.settings import Settings


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (the request the current task or thread serves) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def log_config(settings: Settings) -> dict[str, Any]:
    if settings.log_format == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter", "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "json_ensure_ascii": False}
    else:
        formatter = {"format": TEXT_FORMAT}
    level = settings.log_level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "api.logging_setup.RequestIdFilter"}},
        "formatters": {"main": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "main", "filters": ["request_id"]}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # uvicorn's own handlers would print its lines a second time, in its own format
            "uvicorn": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},  # ours is relayflow.access
            "relayflow.access": {"level": "INFO" if settings.access_log else "WARNING"},
            "alembic": {"level": "WARNING"},  # a dozen lines per start about its plugins: nothing an operator needs
        },
    }
