"""A dashboard in Debian's chromium: Chart.js (served from /static/vendor) draws every chart with its figures,
under the strict CSP, without a console error."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import make_dashboard_app
from tests.ui.live import LiveServer, browser_sign_in


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    app = make_dashboard_app(Path(tmp_path_factory.mktemp("dash-browser")))
    with LiveServer(app) as srv:
        yield srv
    app.state.db.dispose()


def _sign_in(browser: Any, server: LiveServer, username: str, locale: str, width: int) -> tuple[Any, list[str]]:
    """A page signed in as `username`, and the console errors and failed requests seen after signing in."""
    page = browser_sign_in(browser, server.url, username, locale=locale, width=width)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"{msg.text} {msg.location}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return page, problems


def test_the_dashboard_draws_its_charts(browser: Any, server: LiveServer) -> None:
    page, problems = _sign_in(browser, server, "boss", "en-US", 1200)
    page.click("nav.nav a[href='/dashboards']")
    page.wait_for_url(server.url + "/dashboards/purchase")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Purchasing"
    canvases = page.locator("canvas[data-widget]")
    assert canvases.count() == 7
    # Chart.js made a chart on every canvas, with the figures of its widget, and painted pixels
    drawn = page.evaluate("""() => Array.from(document.querySelectorAll('canvas[data-widget]')).map(c => {
        const chart = window.Chart.getChart(c);
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < px.length; i += 4) { if (px[i] !== 0) { painted++; } }
        return {type: chart ? chart.config.type : null, labels: chart ? chart.data.labels : [],
                data: chart ? chart.data.datasets[0].data : [], painted: painted, width: c.width};
    })""")
    assert all(d["type"] in ("bar", "line") and d["painted"] > 100 and d["width"] > 100 for d in drawn), drawn
    assert drawn[0]["labels"] == ["Draft", "Review", "Done"] and drawn[0]["data"] == [0, 0, 0]  # boss sees no record
    page.context.close()
    assert problems == [], problems


def test_a_department_boss_sees_their_figures_drawn_in_chinese(browser: Any, server: LiveServer) -> None:
    page, problems = _sign_in(browser, server, "east_boss", "zh-CN", 420)  # a phone; east_boss reads Chinese
    page.goto(server.url + "/dashboards/purchase")
    page.wait_for_load_state("networkidle")
    counts = page.evaluate("() => window.Chart.getChart(document.querySelector('canvas[data-widget=\"0\"]')).data")
    assert counts["labels"] == ["草稿", "审核", "完成"] and counts["datasets"][0]["data"] == [0, 1, 1]
    assert page.locator("table.due-list a", has_text="Lamp C").count() == 1  # late by now (its stage was due 2026-10-12)
    assert page.locator("table.due-list a", has_text="Chair B").count() == 0  # west's
    page.context.close()
    assert problems == [], problems
