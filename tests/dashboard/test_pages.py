"""The dashboard through its doors: the JSON API (in the reader's language, over what they may see, 404 for a
board not theirs), the page (charts' data embedded, figures in tables, "figures as of", the navigation entry
only for the people a board names)."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.dashboard.conftest import make_dashboard_app
from tests.ui.live import sign_in


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    app = make_dashboard_app(Path(tmp_path_factory.mktemp("dash")))
    yield app
    app.state.db.dispose()


def _embedded(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S)
    assert found, html[:500]
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def _counts(board: dict[str, Any]) -> dict[str, int]:
    widget = next(w for w in board["widgets"] if w["kind"] == "count_by")
    return {r["state"]: r["count"] for r in widget["rows"]}


def test_api_gives_the_board_in_the_readers_language(app: FastAPI) -> None:
    client, _ = sign_in(app, "admin")
    listed = client.get("/api/flows/purchase/dashboards?lang=zh-CN")
    assert listed.status_code == 200 and listed.json() == [{"board": 0, "title": "采购看板"}]
    res = client.get("/api/flows/purchase/dashboards/0", headers={"Accept-Language": "zh-CN"})
    assert res.status_code == 200
    body = res.json()
    assert body["title"] == "采购看板" and body["widgets"][0]["title"] == "各阶段记录数"
    assert [r["label"] for r in body["widgets"][0]["rows"]] == ["草稿", "审核", "完成"]
    assert _counts(body) == {"draft": 1, "review": 2, "done": 1}
    assert body["fresh_for_seconds"] == 60.0 and body["as_of"]
    en = client.get("/api/flows/purchase/dashboards/0?lang=en").json()
    assert en["title"] == "Purchasing" and en["widgets"][0]["rows"][0]["label"] == "Draft"


def test_api_figures_follow_visibility_and_boards_follow_for(app: FastAPI) -> None:
    boss, _ = sign_in(app, "east_boss")
    assert _counts(boss.get("/api/flows/purchase/dashboards/0").json()) == {"draft": 0, "review": 1, "done": 1}
    rev, _ = sign_in(app, "rev")  # reviewers are not named by the board
    assert rev.get("/api/flows/purchase/dashboards").json() == []
    assert rev.get("/api/flows/purchase/dashboards/0").status_code == 404
    admin, _ = sign_in(app, "admin")
    assert admin.get("/api/flows/purchase/dashboards/7").status_code == 404
    assert admin.get("/api/flows/nothing/dashboards/0").status_code == 404
    assert admin.get("/api/flows/purchase/dashboards/-1").status_code == 422


def test_the_page_embeds_the_figures_and_says_how_fresh_they_are(app: FastAPI) -> None:
    client, _ = sign_in(app, "east_boss", lang="zh-CN")
    home = client.get("/")
    assert 'href="/dashboards"' in home.text and "看板" in home.text
    index = client.get("/dashboards", follow_redirects=False)
    assert index.status_code == 303 and index.headers["location"] == "/dashboards/purchase"
    page = client.get("/dashboards/purchase")
    assert page.status_code == 200
    assert "/static/vendor/chart.umd.min.js" in page.text and "/static/dashboard.js" in page.text
    assert re.search(r"数据截至 \d{4}-\d{2}-\d{2} \d{2}:\d{2}；1 分钟后重新计算。", page.text)
    data = _embedded(page.text)
    assert _counts(data) == {"draft": 0, "review": 1, "done": 1}
    assert page.text.count("<canvas data-widget=") == 7  # every widget but the two lists is a chart
    assert "Lamp C" in page.text and "Chair B" not in page.text  # the east boss's late / soon-late records only


def test_no_dashboard_entry_for_people_no_board_names(app: FastAPI) -> None:
    client, _ = sign_in(app, "rev")
    assert 'href="/dashboards"' not in client.get("/").text
    assert client.get("/dashboards/purchase").status_code == 404


def test_a_title_cannot_break_out_of_the_embedded_json(app: FastAPI) -> None:
    from engine.people.users import load_actor

    buyer = load_actor(app.state.db, username="buyer1")
    app.state.api.records.create("purchase", buyer, {"item": "</script><script>alert(1)</script>"})
    from api.dashboard_data import app_cache
    from engine.records.board_store import FigureStore

    app_cache(app.state).clear()
    FigureStore(app.state.db).clear()  # the figures shared with other servers too
    client, _ = sign_in(app, "admin")
    page = client.get("/dashboards/purchase")
    assert "<script>alert(1)" not in page.text
    assert _counts(_embedded(page.text))["draft"] == 2
