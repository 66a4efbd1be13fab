"""Prometheus metrics (prometheus_client) and the /metrics route.

What is measured:

* `relayflow_http_requests_total{method,route,status}` and
  `relayflow_http_request_duration_seconds{method,route}`: every HTTP answer, by
  route template (`/api/flows/{flow}/records/{record_id}`, never the concrete
  path, so the number of series stays bounded; `unmatched` for unknown paths).
  Recorded by the front layer of api/request_context.py.
* `relayflow_group_commit_size`: jobs per group commit (api/group_commit.py).
* `relayflow_sla_pass_duration_seconds`: one scheduler pass over every flow
  (engine/sla/scheduler.py reports it through engine/observers.py).
* `relayflow_security_events_total{event}`: see api/security_log.py.
* `relayflow_outbox_pending`, `relayflow_outbox_dead`,
  `relayflow_outbox_oldest_pending_age_seconds`: read from the database when
  /metrics is scraped (the outbox is shared by every process and machine, so
  any one of them reports the same numbers).

Several processes (`relayflow serve --workers N`): the command points
PROMETHEUS_MULTIPROC_DIR at an empty folder before the workers start;
prometheus_client then keeps each process's values in files there, and /metrics
(answered by any one worker) adds them up.

Who may read /metrics: with RELAYFLOW_METRICS_TOKEN set, whoever sends
`Authorization: Bearer <that token>`; without it, only a client on this machine
that connects directly (peer 127.0.0.1 or ::1, no X-Forwarded-For). Everybody
else gets 404, as if there were no such page. RELAYFLOW_METRICS=off removes it.
"""
from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from api.errors import problem_response
from engine import observers
from engine.settings import Settings
from engine.storage.schema import outbox

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("relayflow_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram("relayflow_http_request_duration_seconds", "Time from the request to the end of its answer",
                    ["method", "route"], buckets=_LATENCY_BUCKETS)
GROUP_SIZE = Histogram("relayflow_group_commit_size", "Write jobs that shared one COMMIT",
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512))
SLA_PASS = Histogram("relayflow_sla_pass_duration_seconds", "Duration of one SLA scheduler pass over every flow",
                     buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0))
SECURITY_EVENTS = Counter("relayflow_security_events", "Security events (see the relayflow.security log)", ["event"])

observers.subscribe("sla_pass_seconds", SLA_PASS.observe)


class RequestMetrics:
    """Per-(method, route, status) children of the request metrics, looked up once and kept: the
    request path pays a dictionary hit and two increments."""

    def __init__(self) -> None:
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[tuple[str, str], Any] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = REQUESTS.labels(method, route, str(status))
        counter.inc()
        lkey = (method, route)
        hist = self._latency.get(lkey)
        if hist is None:
            hist = self._latency[lkey] = LATENCY.labels(method, route)
        hist.observe(seconds)


def observe_group_size(jobs: int) -> None:
    GROUP_SIZE.observe(jobs)


class OutboxCollector(Collector):
    """Outbox depth and age, read from the database at scrape time."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(timezone.utc)
        with self.db.connect().execution_options(readonly=True) as conn:
            rows = conn.execute(select(outbox.c.status, func.count(), func.min(outbox.c.created_at))
                                .where(outbox.c.status.in_(("pending", "dead"))).group_by(outbox.c.status)).all()
        found = {status: (count, oldest) for status, count, oldest in rows}
        pending, oldest = found.get("pending", (0, None))
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=timezone.utc)
        yield GaugeMetricFamily("relayflow_outbox_pending", "Messages waiting to be delivered", value=pending)
        yield GaugeMetricFamily("relayflow_outbox_dead", "Messages given up on (dead letters)",
                                value=found.get("dead", (0, None))[0])
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("relayflow_outbox_oldest_pending_age_seconds",
                                "Age of the oldest message still waiting (0: none waits)", value=max(0.0, age))


def metrics_text(db: Engine) -> bytes:
    """The exposition text: this process's metrics (or every worker's, in multi-process mode) and the outbox."""
    shared = CollectorRegistry(auto_describe=False)
    shared.register(OutboxCollector(db))
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(shared)
        return generate_latest(shared)
    return generate_latest(REGISTRY) + generate_latest(shared)


_LOOPBACK = frozenset({"127.0.0.1", "::1"})


def may_read_metrics(request: Request, token: str) -> bool:
    if token:
        given = request.headers.get("authorization", "")
        scheme, _, secret = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(secret.strip().encode(), token.encode())
    direct = request.scope.get("client")
    return (direct is not None and direct[0] in _LOOPBACK and "x-forwarded-for" not in request.headers
            and request.scope.get("relayflow.peer", direct[0]) in _LOOPBACK)


def install_metrics(app: FastAPI, db: Engine, settings: Settings) -> None:
    if not settings.metrics:
        return
    token = settings.metrics_token

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        if not may_read_metrics(request, token):
            return problem_response(request, 404, "not_found", "Not Found")
        svc = request.app.state.api
        body = await svc.run(metrics_text, db)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
