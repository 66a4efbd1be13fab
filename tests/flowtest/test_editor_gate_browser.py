"""The flow editor in a real browser (Playwright driving Debian's chromium): the plan shows the flow's own tests;
a change that breaks one cannot be applied until the admin gives a reason, which the revisions table shows."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.people.users import create_user
from engine.settings import Settings
from tests.flowtest.conftest import ORDER_DESK
from tests.ui.live import PASSWORD, LiveServer, browser_sign_in, screenshot

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from ui.app import create_app

    tmp = Path(tmp_path_factory.mktemp("flowtest_browser"))
    shutil.copytree(ORDER_DESK, tmp / "flows")
    before = os.environ.get("RELAYFLOW_WORKER")
    os.environ["RELAYFLOW_WORKER"] = "off"
    try:
        app = create_app(Settings(database_url=f"sqlite:///{tmp / 'relayflow.db'}", flows_dir=tmp / "flows"))
    finally:
        if before is None:
            os.environ.pop("RELAYFLOW_WORKER", None)
        else:
            os.environ["RELAYFLOW_WORKER"] = before
    create_user(app.state.db, "admin", display_name="Admin", password=PASSWORD, is_admin=True)
    with LiveServer(app) as srv:
        yield srv
    app.state.db.dispose()


def test_a_failing_flow_test_blocks_the_apply_until_a_reason_is_given(browser: Any, server: LiveServer) -> None:
    expect = sync_api.expect
    page = browser_sign_in(browser, server.url, "admin", timeout_ms=30_000)

    page.goto(server.url + "/admin/flows/sales_order/edit")
    text = page.input_value("#yaml")
    page.fill("#yaml", text.replace('when: "total < 100000 and', 'when: "total < 1000 and'))
    page.click("#plan-button")
    summary = page.locator("#flow-tests-summary")
    expect(summary).to_contain_text("1 passed, 1 failed")
    failures = page.locator("#flow-tests-failures")
    expect(failures).to_contain_text("a small order passes review and goes to production")
    expect(failures).to_contain_text("condition_failed")
    screenshot(page, "flowtest_editor_tests_fail")

    page.click("#apply")  # no reason: refused, nothing applied
    expect(page.locator("#banner")).to_contain_text("The flow's own tests fail; nothing was applied")
    expect(page.locator("#flow-tests-summary")).to_contain_text("1 failed")

    page.fill("#tests_override_reason", "Threshold lowered on purpose; tests follow next week")
    page.click("#apply")
    page.wait_for_url(server.url + "/admin/flows/sales_order?msg=applied")
    row = page.locator("#revisions tbody tr").first
    expect(row).to_contain_text("2")
    expect(row.locator(".revision-tests")).to_contain_text(
        "1 failed; applied anyway: Threshold lowered on purpose; tests follow next week")
    page.context.close()
