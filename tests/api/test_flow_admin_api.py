"""Admin API for flow files: located errors, plan, apply by hash, stale plans, revisions, simulation."""
from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from engine.people.tokens import create_token
from engine.people.users import create_user
from engine.settings import Settings

REFERENCE = (Path(__file__).parents[1] / "acceptance" / "sales_order.yaml").read_text(encoding="utf-8")


def _client(tmp_path: Path) -> tuple[TestClient, dict[str, str], dict[str, str]]:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "sales_order.yaml").write_text(REFERENCE, encoding="utf-8")
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", flows_dir=flows))
    db = app.state.db
    admin = create_user(db, "root", is_admin=True)
    clerk = create_user(db, "cleo", roles=["clerk"])
    return TestClient(app), {"Authorization": f"Bearer {create_token(db, admin, 'test').secret}"}, \
        {"Authorization": f"Bearer {create_token(db, clerk, 'test').secret}"}


def test_plan_and_apply_a_new_field_then_a_stale_plan_is_refused(tmp_path: Path) -> None:
    client, admin, clerk = _client(tmp_path)
    added = REFERENCE.replace("  paid_amount:", "  remarks: {type: text, title: 备注}\n  paid_amount:")
    assert client.post("/api/admin/flows/plan", json={"yaml": added}, headers=clerk).status_code == 403
    plan = client.post("/api/admin/flows/plan", json={"yaml": added}, headers=admin).json()
    assert plan["safe"] and not plan["refused"] and plan["base_revision"] == 1
    assert any("remarks" in c["text"] for c in plan["changes"])
    # Another admin applies a different change first.
    other = REFERENCE.replace("  paid_amount:", "  region: {type: text}\n  paid_amount:")
    other_plan = client.post("/api/admin/flows/plan", json={"yaml": other}, headers=admin).json()
    ok = client.post("/api/admin/flows/apply", headers=admin,
                     json={"yaml": other, "plan_hash": other_plan["hash"], "base_revision": 1})
    assert ok.status_code == 200 and ok.json()["revision"] == 2
    stale = client.post("/api/admin/flows/apply", headers=admin,
                        json={"yaml": added, "plan_hash": plan["hash"], "base_revision": 1})
    assert stale.status_code == 409 and stale.headers["content-type"].startswith("application/problem+json")
    assert stale.json()["plan"]["base_revision"] == 2
    assert [r["revision"] for r in client.get("/api/admin/flows/sales_order/revisions", headers=admin).json()] == [2, 1]
    first = client.get("/api/admin/flows/sales_order/revisions/1", headers=admin).json()
    assert first["yaml"] == REFERENCE
    assert client.get("/api/flows", headers=admin).json()[0]["revision"] == 2


def test_broken_file_gives_located_problems_and_changes_nothing(tmp_path: Path) -> None:
    client, admin, _ = _client(tmp_path)
    broken = REFERENCE.replace("owner: clerk\n    assign: round_robin", "owner: clerc\n    assign: round_robin")
    checked = client.post("/api/admin/flows/validate", json={"yaml": broken}, headers=admin).json()
    assert checked["ok"] is False
    assert checked["problems"][0]["line"] == 58 and "did you mean 'clerk'" in checked["problems"][0]["message"]
    res = client.post("/api/admin/flows/apply", json={"yaml": broken, "plan_hash": "x"}, headers=admin)
    assert res.status_code == 422 and res.json()["problems"]
    assert client.get("/api/flows", headers=admin).json()[0]["revision"] == 1


def test_simulation_over_the_holidays(tmp_path: Path) -> None:
    client, admin, _ = _client(tmp_path)
    res = client.get("/api/admin/flows/sales_order/simulate", headers=admin,
                     params={"start": "2026-09-30T17:30:00+08:00", "path": "submit"})
    assert res.status_code == 200
    review = next(s for s in res.json()["stages"] if s["state"] == "review")
    assert review["due_at"].startswith("2026-10-08T05:30")  # 13:30 in Shanghai, after the National Day break
    bad = client.get("/api/admin/flows/sales_order/simulate", headers=admin,
                     params={"start": "2026-09-30T17:30:00", "path": "submit"})
    assert bad.status_code == 422
    assert client.get("/api/admin/outbox", headers=admin).status_code == 200
