"""The admin API runs a flow's own tests before an apply: the plan shows them, a failing test refuses the apply
(409, nothing applied) unless the admin gives a reason, and that reason is kept on the revision. SQLite and
PostgreSQL (the server's database; the tests themselves always run on throw-away SQLite)."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from engine.people.tokens import create_token
from engine.people.users import create_user
from engine.settings import Settings
from engine.storage.revisions import read_revision
from tests.flowtest.conftest import ORDER_DESK, line_of

BROKEN_WHEN = ('when: "total < 100000 and', 'when: "total < 1000 and')


def _server(database_url: str, tmp_path: Path) -> tuple[TestClient, dict[str, str], Path]:
    flows = tmp_path / "flows"
    shutil.copytree(ORDER_DESK, flows)
    app = create_app(Settings(database_url=database_url, flows_dir=flows))
    admin = create_user(app.state.db, "root", is_admin=True)
    return TestClient(app), {"Authorization": f"Bearer {create_token(app.state.db, admin, 'test').secret}"}, flows


def _apply(client: TestClient, admin: dict[str, str], text: str, **extra: Any) -> Any:
    plan = client.post("/api/admin/flows/plan", json={"yaml": text}, headers=admin).json()
    return plan, client.post("/api/admin/flows/apply", headers=admin, json={
        "yaml": text, "plan_hash": plan["hash"], "base_revision": plan["base_revision"], **extra})


def test_a_failing_test_refuses_the_apply_until_an_admin_gives_a_reason(database_url: str, tmp_path: Path) -> None:
    client, admin, flows = _server(database_url, tmp_path)
    text = (flows / "sales_order.yaml").read_text(encoding="utf-8")
    broken = text.replace(*BROKEN_WHEN)

    plan, refused = _apply(client, admin, broken)
    tests = plan["tests"]
    assert tests["ran"] and not tests["passed"] and (tests["tests_passed"], tests["tests_failed"]) == (1, 1)
    failure = tests["failures"][0]
    assert failure["test"] == "a small order passes review and goes to production"
    assert failure["line"] == line_of(flows / "sales_order.tests.yaml", "- move: approve")
    assert "condition_failed" in failure["message"]
    assert refused.status_code == 409 and refused.json()["code"] == "flow_tests_failed"
    assert refused.json()["tests"]["tests_failed"] == 1
    assert client.get("/api/admin/flows/sales_order/revisions", headers=admin).json()[0]["revision"] == 1  # nothing applied

    blank = client.post("/api/admin/flows/apply", headers=admin, json={
        "yaml": broken, "plan_hash": plan["hash"], "base_revision": 1, "tests_override_reason": "   "})
    assert blank.status_code == 409  # a reason of blanks is no reason

    reason = "会签规则下周改,先上线阈值"
    ok = client.post("/api/admin/flows/apply", headers=admin, json={
        "yaml": broken, "plan_hash": plan["hash"], "base_revision": 1, "tests_override_reason": reason})
    assert ok.status_code == 200, ok.text
    assert ok.json()["revision"] == 2
    listed = client.get("/api/admin/flows/sales_order/revisions", headers=admin).json()
    assert listed[0]["revision"] == 2
    assert listed[0]["tests"]["override_reason"] == reason and listed[0]["tests"]["tests_failed"] == 1
    assert "text" not in listed[0]["tests"]
    with client.app.state.db.connect() as conn:  # type: ignore[attr-defined]
        kept = read_revision(conn, "sales_order", 2)
    assert kept is not None and kept.tests is not None and kept.tests["override_reason"] == reason


def test_passing_tests_let_the_apply_through_and_are_kept_with_it(database_url: str, tmp_path: Path) -> None:
    client, admin, flows = _server(database_url, tmp_path)
    text = (flows / "sales_order.yaml").read_text(encoding="utf-8")
    changed = text.replace("  carrier: {type: text,", "  remarks: {type: text, title: 备注}\n  carrier: {type: text,")
    plan, applied = _apply(client, admin, changed)
    assert plan["tests"]["passed"] and plan["tests"]["tests_passed"] == 2
    assert applied.status_code == 200, applied.text
    kept = client.get("/api/admin/flows/sales_order/revisions", headers=admin).json()[0]["tests"]
    assert kept["passed"] and kept["override_reason"] is None

    # the tests file is gone from the folder: the tests stored with the live revision still guard the next apply
    (flows / "sales_order.tests.yaml").unlink()
    plan, refused = _apply(client, admin, changed.replace(*BROKEN_WHEN))
    assert plan["tests"]["source"] == "stored with revision 2" and not plan["tests"]["passed"]
    assert refused.status_code == 409


def test_a_tests_file_that_no_longer_fits_the_flow_refuses_the_apply(database_url: str, tmp_path: Path) -> None:
    client, admin, flows = _server(database_url, tmp_path)
    text = (flows / "sales_order.yaml").read_text(encoding="utf-8")
    renamed = text.replace("to_joint_review:", "to_joint_approval:")
    plan, refused = _apply(client, admin, renamed)
    assert plan["tests"]["refused"]
    assert any("unknown transition 'to_joint_review'" in f["message"] for f in plan["tests"]["failures"])
    assert refused.status_code == 409


def test_a_flow_without_tests_applies_as_before(database_url: str, tmp_path: Path) -> None:
    client, admin, flows = _server(database_url, tmp_path)
    text = (flows / "customer.yaml").read_text(encoding="utf-8")
    plan, applied = _apply(client, admin, text.replace("  contact:", "  fax: {type: text}\n  contact:"))
    assert plan["tests"]["ran"] is False
    assert applied.status_code == 200
