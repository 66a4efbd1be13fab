"""Dashboard figures against a small hand-built history (tests/dashboard/conftest.py), on SQLite and PostgreSQL:
counts per stage, cycle time with a revisited stage counted per visit, on-time rate per stage and per person,
sums by month, created per week, late and soon-late lists, work in progress by age; what a department-scoped
reader sees; how fresh cached figures are; who sees which board."""
from __future__ import annotations

from typing import Any

import pytest

from engine.records.dashboards import (
    DEFAULT_BOARD,
    FigureCache,
    board_figures,
    boards,
    boards_for,
    flows_with_boards,
    for_reader,
)
from engine.records.errors import NotFound
from tests.dashboard.conftest import NOW, Desk


def _board(desk: Desk, user: str, lang: str = "en", cache: FigureCache | None = None) -> dict[str, Any]:
    live = desk.registry.get("purchase")
    figures = board_figures(desk.db, desk.registry, desk.records, "purchase", 0, desk.who[user], now=NOW,
                            cache=cache or FigureCache())
    return for_reader(live.flow, boards(live.flow)[0], figures, lang)


def _widget(board: dict[str, Any], title: str) -> dict[str, Any]:
    return next(w for w in board["widgets"] if w["title"] == title)


def _by_label(widget: dict[str, Any], key: str) -> dict[str, Any]:
    return {row["label"]: row[key] for row in widget["rows"]}


def test_figures_of_the_whole_history(desk: Desk) -> None:
    board = _board(desk, "admin")
    assert board["title"] == "Purchasing"
    assert _by_label(_widget(board, "Records per stage"), "count") == {"Draft": 1, "Review": 2, "Done": 1}
    # A visited draft twice (1h each), B once (2h), C left it at once; A visited review twice (2h, 6h);
    # the open visits of B and C in review do not count.
    cycle = _widget(board, "Average time per stage visit")["rows"]
    assert [(r["label"], r["visits"], r["avg_seconds"]) for r in cycle] == [("Draft", 4, 3600.0), ("Review", 2, 4 * 3600.0)]
    stage = _widget(board, "On time per stage")["rows"]
    assert [(r["label"], r["finished"], r["met"], r["rate"]) for r in stage] == [("Review", 2, 1, 0.5)]
    person = _widget(board, "On time per person")["rows"]
    assert [(r["label"], r["finished"], r["met"]) for r in person] == [("Rev", 2, 1)]
    sums = _by_label(_widget(board, "Amount per month"), "sum")
    assert len(sums) == 12 and list(sums)[-1] == "2026-10"
    assert (sums["2026-09"], sums["2026-10"], sums["2026-08"]) == ("100.00", "70.50", "0.00")
    weeks = _by_label(_widget(board, "Records created per week"), "count")
    assert (weeks["2026-08-31"], weeks["2026-10-05"], weeks["2026-10-12"], sum(weeks.values())) == (1, 2, 1, 4)
    late = _widget(board, "Late")
    assert late["total"] == 1 and [r["label"] for r in late["rows"]] == ["Chair B"]
    assert late["rows"][0]["url"] == f"/records/purchase/{desk.ids['B']}"
    assert [r["label"] for r in _widget(board, "Due soon")["rows"]] == ["Lamp C"]
    assert _by_label(_widget(board, "Work in progress by age"), "count") == {"up to 1d": 1, "up to 7d": 1, "over 7d": 1}


def test_headings_and_labels_in_the_readers_language(desk: Desk) -> None:
    board = _board(desk, "admin", lang="zh-CN")
    assert board["title"] == "采购看板"
    assert _by_label(_widget(board, "各阶段记录数"), "count") == {"草稿": 1, "审核": 2, "完成": 1}
    assert "金额(按月合计)" in [w["title"] for w in board["widgets"]]
    assert list(_by_label(_widget(board, "在办记录(按时长)"), "count")) == ["1天以内", "7天以内", "超过7天"]


def test_a_department_scoped_reader_sees_only_their_departments_figures(desk: Desk) -> None:
    """east_boss manages east (buyer1: A and C); B and D (buyer2, west) are in no figure of theirs."""
    board = _board(desk, "east_boss")
    assert _by_label(_widget(board, "Records per stage"), "count") == {"Draft": 0, "Review": 1, "Done": 1}
    sums = _by_label(_widget(board, "Amount per month"), "sum")
    assert (sums["2026-09"], sums["2026-10"]) == ("100.00", "20.00")
    assert _widget(board, "Late")["total"] == 0 and _widget(board, "Late")["rows"] == []
    cycle = _widget(board, "Average time per stage visit")["rows"]
    assert [(r["label"], r["visits"]) for r in cycle] == [("Draft", 3), ("Review", 2)]
    assert _by_label(_widget(board, "Work in progress by age"), "count") == {"up to 1d": 1, "up to 7d": 0, "over 7d": 0}
    # the other boss manages nothing: only their own records, which are none
    other = _board(desk, "boss")
    assert _by_label(_widget(other, "Records per stage"), "count") == {"Draft": 0, "Review": 0, "Done": 0}
    assert _widget(other, "On time per person")["rows"] == []


def test_cached_figures_are_kept_for_their_ttl_per_scope(desk: Desk) -> None:
    ticks = [0.0]
    cache = FigureCache(ttl=60.0, clock=lambda: ticks[0])
    first = _board(desk, "admin", cache=cache)
    assert first["as_of"] == NOW.isoformat()
    desk.records.create("purchase", desk.who["buyer2"], {"item": "New E"}, now=NOW)
    ticks[0] = 59.0
    assert _by_label(_widget(_board(desk, "admin", cache=cache), "Records per stage"), "count")["Draft"] == 1
    # another scope is computed for itself, never served the admin's figures
    assert _by_label(_widget(_board(desk, "east_boss", cache=cache), "Records per stage"), "count")["Draft"] == 0
    ticks[0] = 60.0
    assert _by_label(_widget(_board(desk, "admin", cache=cache), "Records per stage"), "count")["Draft"] == 2


def test_who_sees_which_board(desk: Desk) -> None:
    flow = desk.registry.get("purchase").flow
    assert [i for i, _ in boards_for(flow, desk.who["boss"])] == [0]
    assert [i for i, _ in boards_for(flow, desk.who["buyer1"])] == [0]
    assert boards_for(flow, desk.who["rev"]) == []  # reviewers are not named by the board
    assert [i for i, _ in boards_for(flow, desk.who["admin"])] == [0]
    assert [lf.flow.name for lf in flows_with_boards(desk.registry, desk.who["rev"])] == []
    with pytest.raises(NotFound):
        board_figures(desk.db, desk.registry, desk.records, "purchase", 0, desk.who["rev"], now=NOW, cache=FigureCache())
    with pytest.raises(NotFound):
        board_figures(desk.db, desk.registry, desk.records, "purchase", 1, desk.who["admin"], now=NOW, cache=FigureCache())


def test_default_board_for_a_flow_without_dashboards() -> None:
    from pathlib import Path

    from engine.language.loader import load_flow_text
    from engine.records.dashboards import audience

    text = (Path(__file__).parent / "flows" / "purchase.yaml").read_text()
    flow = load_flow_text(text.split("dashboards:")[0])
    assert boards(flow) == [DEFAULT_BOARD]
    assert audience(flow, DEFAULT_BOARD) == {"buyer", "reviewer"}  # the owners of its stages
    kinds = [w.kind for w in DEFAULT_BOARD.widgets]
    assert kinds == ["count_by", "wip_by_age", "cycle_time", "on_time_rate", "on_time_rate", "late", "soon_late", "count"]


def test_a_servers_cache_answers_stale_figures_at_once_and_refreshes_them_behind() -> None:
    """Past the ttl the reader gets the last figures (their as_of says how old) while one thread computes new ones;
    figures older than max_stale are computed while the reader waits."""
    import threading
    from datetime import datetime, timezone

    from engine.records.dashboards import Figures

    ticks = [0.0]
    made: list[int] = []
    gate = threading.Event()

    def compute() -> Figures:
        if made:
            gate.wait(5)
        made.append(len(made))
        return Figures("f", 0, datetime(2026, 10, 12, tzinfo=timezone.utc), [len(made)])

    cache = FigureCache(ttl=60.0, clock=lambda: ticks[0], background=True)
    assert cache.get(("k",), compute).widgets == [1]
    ticks[0] = 61.0
    assert cache.get(("k",), compute).widgets == [1]  # stale, at once; the refresh waits on the gate
    assert cache.get(("k",), compute).widgets == [1]  # one refresh at a time
    gate.set()
    for _ in range(100):
        if cache.get(("k",), compute).widgets == [2]:
            break
        threading.Event().wait(0.02)
    assert cache.get(("k",), compute).widgets == [2] and made == [0, 1]
    ticks[0] = 61.0 + 601.0  # older than 10 × ttl: computed while the reader waits
    assert cache.get(("k",), compute).widgets == [3]
