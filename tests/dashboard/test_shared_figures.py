"""Dashboard figures shared by the servers and workers of one database (engine/records/board_store.py), on SQLite and
PostgreSQL: a second server, or one just started, answers what another computed without computing it again; a
worker computes again, ahead of their expiry, the figures somebody reads, each over what its reader may see;
figures of a reader whose roles changed, or that nobody reads, are dropped."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from engine.delivery.worker import Worker
from engine.people.users import grant_role
from engine.records.board_store import FigureStore
from engine.records.dashboards import FigureCache, board_figures, boards, for_reader
from engine.storage.schema import dashboard_figures
from tests.dashboard.conftest import NOW, Desk


class Clock:
    """Wall-clock time for the store, seconds for the servers' caches: both moved on together."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wall(self) -> datetime:
        return datetime(2026, 10, 12, 12, 0, tzinfo=timezone.utc) + timedelta(seconds=self.seconds)

    def tick(self) -> float:
        return self.seconds


def _server(desk: Desk, clock: Clock) -> tuple[FigureCache, FigureStore]:
    """What one server process keeps: its own figure cache, and the database's shared figures."""
    return FigureCache(ttl=60.0, clock=clock.tick), FigureStore(desk.db, clock=clock.wall)


def _drafts(desk: Desk, user: str, server: tuple[FigureCache, FigureStore], now: datetime | None = NOW) -> int:
    cache, store = server
    live = desk.registry.get("purchase")
    figures = board_figures(desk.db, desk.registry, desk.records, "purchase", 0, desk.who[user], now=now,
                            cache=cache, store=store)
    board = for_reader(live.flow, boards(live.flow)[0], figures, "en")
    counts = next(w for w in board["widgets"] if w["kind"] == "count_by")["rows"]
    return int(next(r["count"] for r in counts if r["state"] == "draft"))


def _rows(desk: Desk) -> list[Any]:
    with desk.db.connect() as conn:
        return list(conn.execute(dashboard_figures.select().order_by(dashboard_figures.c.scope)))


def test_another_server_answers_the_figures_one_computed(desk: Desk) -> None:
    clock = Clock()
    first, second = _server(desk, clock), _server(desk, clock)
    assert _drafts(desk, "admin", first) == 1
    desk.records.create("purchase", desk.who["buyer2"], {"item": "New E"}, now=NOW)
    clock.seconds = 30.0
    # the second server (or the first after a restart) has nothing in memory: it answers the shared figures
    assert _drafts(desk, "admin", second) == 1
    assert _drafts(desk, "admin", _server(desk, clock)) == 1
    clock.seconds = 61.0  # past the ttl: computed again, and shared again
    assert _drafts(desk, "admin", second) == 2
    assert _drafts(desk, "admin", _server(desk, clock)) == 2
    assert [r.scope for r in _rows(desk)] == ["all"]


def test_shared_figures_of_one_scope_are_never_served_to_another(desk: Desk) -> None:
    clock = Clock()
    server = _server(desk, clock)
    assert _drafts(desk, "admin", server) == 1
    assert _drafts(desk, "east_boss", _server(desk, clock)) == 0  # D (west) is a draft only the admin counts
    assert _drafts(desk, "boss", _server(desk, clock)) == 0
    scopes = [r.scope for r in _rows(desk)]
    assert scopes[0] == "all" and len(scopes) == 3 and all(s.startswith("user:") for s in scopes[1:])


def _worker(desk: Desk, clock: Clock) -> Worker:
    worker = Worker(desk.db, desk.registry, channels={}, digest_at="")
    worker.board_store = FigureStore(desk.db, clock=clock.wall)
    worker.board_ttl, worker.board_keep = 60.0, 600.0
    return worker


def test_a_worker_computes_read_figures_again_ahead_of_their_expiry(desk: Desk) -> None:
    clock = Clock()
    assert _drafts(desk, "east_boss", _server(desk, clock), now=None) == 0
    assert _drafts(desk, "admin", _server(desk, clock), now=None) == 1
    desk.records.create("purchase", desk.who["buyer1"], {"item": "East E"}, now=NOW)  # east: the boss's department
    desk.records.create("purchase", desk.who["buyer2"], {"item": "West F"}, now=NOW)  # west: not theirs
    worker = _worker(desk, clock)
    clock.seconds = 20.0
    assert worker.refresh_boards() is not None and worker.refresh_boards().computed == 0  # still young: left alone
    clock.seconds = 31.0  # half the ttl has passed: computed again before any reader waits for it
    result = worker.refresh_boards()
    assert result is not None and (result.computed, result.dropped) == (2, 0)
    clock.seconds = 40.0
    assert _drafts(desk, "east_boss", _server(desk, clock), now=None) == 1  # E only: the west draft F is not theirs
    assert _drafts(desk, "admin", _server(desk, clock), now=None) == 3
    assert all(r.computed_at == clock.wall() - timedelta(seconds=9) for r in _rows(desk))


def test_figures_of_a_reader_whose_roles_changed_or_nobody_reads_are_dropped(desk: Desk) -> None:
    clock = Clock()
    _drafts(desk, "east_boss", _server(desk, clock))
    _drafts(desk, "admin", _server(desk, clock))
    grant_role(desk.db, "east_boss", "reviewer")  # another scope now: their figures are computed anew when they read
    worker = _worker(desk, clock)
    clock.seconds = 31.0
    result = worker.refresh_boards()
    assert result is not None and (result.computed, result.dropped) == (1, 1)
    assert [r.scope for r in _rows(desk)] == ["all"]
    clock.seconds = 31.0 + 601.0  # nobody read the admin's figures for longer than `keep`
    result = worker.refresh_boards()
    assert result is not None and result.dropped == 1 and _rows(desk) == []


def test_a_worker_leaves_figures_another_worker_is_computing(desk: Desk) -> None:
    clock = Clock()
    _drafts(desk, "admin", _server(desk, clock))
    clock.seconds = 31.0
    store = FigureStore(desk.db, clock=clock.wall)
    [row] = store.stale(older_than=30.0, read_within=600.0)
    assert store.claim(row)
    assert not store.claim(row)  # a second worker does not compute it too
    result = _worker(desk, clock).refresh_boards()
    assert result is not None and result.computed == 0


def test_a_server_past_its_ttl_answers_what_the_worker_computed_meanwhile(desk: Desk) -> None:
    clock = Clock()
    server = _server(desk, clock)
    assert _drafts(desk, "admin", server, now=None) == 1
    desk.records.create("purchase", desk.who["buyer2"], {"item": "New E"}, now=NOW)
    clock.seconds = 31.0
    result = _worker(desk, clock).refresh_boards()
    assert result is not None and result.computed == 1
    desk.records.create("purchase", desk.who["buyer2"], {"item": "New F"}, now=NOW)
    clock.seconds = 61.0  # the server's own figures are past the ttl, the worker's are 30 s old: no computation
    assert _drafts(desk, "admin", server, now=None) == 2
    clock.seconds = 92.0  # and past the ttl of the worker's too (no worker ran since): computed while waiting
    assert _drafts(desk, "admin", server, now=None) == 3
