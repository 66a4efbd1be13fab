"""Departments and delegation through the REST API and the `relayflow` command line; ownership refusals as the API
answers them."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from click.testing import CliRunner

from cli.entry import main
from tests.api.conftest import Api


def _errors(r) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The problem's field errors as {name: detail}."""
    return {e["pointer"].rsplit("/", 1)[-1]: e["detail"] for e in r.json()["errors"]}

CSV = """id,title.zh-CN,title.en,parent,manager,members
hq,总部,Head office,,mia,mia
sales,销售部,Sales,hq,,sally sam
"""


def test_departments_api_admin_only_and_import_all_or_nothing(api: Api) -> None:
    assert api.post("sally", "/api/departments", {"id": "hq", "title": "总部"}).status_code == 403
    r = api.post("root", "/api/departments", {"id": "hq", "title": {"zh-CN": "总部", "en": "Head office"}, "manager": "mia"})
    assert r.status_code == 201, r.text
    assert r.json() == {"id": "hq", "title": {"zh-CN": "总部", "en": "Head office"}, "parent": None, "manager": "mia",
                        "manager_name": "Mia", "members": [], "depth": 0}
    r = api.post("root", "/api/departments", {"id": "sales", "title": "销售部", "parent": "nowhere"})
    assert r.status_code == 422 and _errors(r) == {"parent": "no department 'nowhere'"}
    assert api.post("root", "/api/departments", {"id": "sales", "title": "销售部", "parent": "hq"}).status_code == 201
    r = api.post("root", "/api/departments/sales/members", {"username": "sally"})
    assert r.json()["members"] == ["sally"]
    r = api.client.patch("/api/departments/hq", json={"parent": "sales"}, headers=api.h("root"))
    assert r.status_code == 422 and "cannot be moved under itself" in _errors(r)["parent"]
    r = api.client.delete("/api/departments/sales/members/sally", headers=api.h("root"))
    assert r.json()["members"] == []
    # the import: a bad row refuses everything, with its line
    bad = CSV + "west,华西,,sales,ghost,\n"
    r = api.client.post("/api/departments/import", content=bad.encode(), headers={**api.h("root"), "Content-Type": "text/csv"})
    assert r.status_code == 422, r.text
    assert _errors(r) == {"line 4": "line 4, column manager: no user 'ghost'"}
    assert [d["id"] for d in api.get("sally", "/api/departments").json()] == ["hq", "sales"]
    assert api.get("sally", "/api/departments/sales").json()["members"] == []
    r = api.client.post("/api/departments/import", content=CSV.encode(), headers={**api.h("root"), "Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json() == {"created": 0, "updated": 2, "memberships": 3}
    assert api.get("sally", "/api/departments/sales").json()["members"] == ["sally", "sam"]


def test_delegation_api_own_or_admin_and_history_says_on_behalf_of(api: Api) -> None:
    rec = api.move("sally", api.create("sally"), "submit")
    away = {v: k for k, v in api.ids.items()}[rec["assignee_id"]]  # the clerk round robin chose
    stand_in = "clerk2" if away == "clerk1" else "clerk1"
    today = date.today()
    body = {"delegate": stand_in, "from": (today - timedelta(days=1)).isoformat(),
            "until": (today + timedelta(days=1)).isoformat()}
    url = f"/api/users/{away}/delegation"
    assert api.client.put(url, json=body, headers=api.h("sally")).status_code == 403
    r = api.client.put(url, json={**body, "delegate": away}, headers=api.h(away))
    assert r.status_code == 422 and _errors(r) == {"delegate": "you cannot hand your tasks to yourself"}
    r = api.client.put(url, json={**body, "until": "2020-01-01"}, headers=api.h(away))
    assert r.status_code == 422 and _errors(r) == {"until": "the end must come after the start"}
    # before it is set, the other clerk is refused with the assignee's name
    r = api.post(stand_in, f"/api/flows/sales_order/records/{rec['id']}/transitions/approve", {"version": rec["version"]})
    assert r.status_code == 403 and r.json()["code"] == "not_assignee"
    r = api.client.put(url, json=body, headers=api.h(away))
    assert r.status_code == 200 and r.json()["active"] is True and r.json()["delegate"] == stand_in
    assert api.get(away, url).json()["delegate_name"] == stand_in.title()

    items = api.get(stand_in, "/api/inbox").json()
    items = items["items"] if isinstance(items, dict) else items
    mine = [i for i in items if i["record_id"] == rec["id"]]
    assert mine and mine[0]["on_behalf_of"] == api.ids[away] and mine[0]["on_behalf_of_name"] == away.title()
    moved = api.move(stand_in, rec, "approve")
    assert moved["state"] == "production"
    hist = api.get("sally", f"/api/flows/sales_order/records/{rec['id']}/history").json()
    entries = hist["items"] if isinstance(hist, dict) else hist
    assert (entries[-1]["actor_name"], entries[-1]["on_behalf_of_name"]) == (stand_in.title(), away.title())
    assert entries[-1]["on_behalf_of"] == api.ids[away] and entries[-1]["actor_id"] == api.ids[stand_in]
    assert api.client.delete(url, headers=api.h("root")).status_code == 204
    assert api.get(away, url).json() is None


def test_ownership_refusal_over_http_names_the_assignee(api: Api) -> None:
    rec = api.create("sally")
    r = api.post("sam", f"/api/flows/sales_order/records/{rec['id']}/transitions/submit", {"version": rec["version"]})
    assert r.status_code == 403 and r.json()["code"] == "not_assignee"
    assert "assigned to Sally" in r.json()["detail"] and str(api.ids["sally"]) not in r.json()["detail"]


def _cli(db: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_dept_and_delegate_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert _cli(db, "db", "upgrade")[0] == 0
    for name in ("ceo", "ann", "bob"):
        assert _cli(db, "user", "add", name, "--password", "pw-123456", "--role", "sales")[0] == 0
    assert _cli(db, "dept", "add", "hq", "总部", "--title-en", "Head office", "--manager", "ceo") == (0, "added department hq\n")
    assert _cli(db, "dept", "add", "east", "华东", "--parent", "hq")[0] == 0
    assert _cli(db, "dept", "add-member", "east", "ann", "bob")[0] == 0
    assert _cli(db, "dept", "remove-member", "east", "bob")[0] == 0
    assert _cli(db, "dept", "add", "west", "华西", "--parent", "hq")[0] == 0
    assert _cli(db, "dept", "move", "west", "east")[0] == 0
    code, out = _cli(db, "dept", "move", "hq", "west")
    assert code == 1 and "cannot be moved under itself" in out
    assert _cli(db, "dept", "set-manager", "east", "ann")[0] == 0
    code, out = _cli(db, "dept", "list", "--lang", "en")
    assert code == 0 and out.splitlines() == [
        "hq  Head office  manager: ceo (ceo)", "  east  华东  manager: ann (ann)  members: ann", "    west  华西"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title,parent,manager,members\nnorth,北方,hq,,zed\nsouth,南方,nowhere,,\n", encoding="utf-8")
    code, out = _cli(db, "dept", "import", str(bad))
    assert code == 1
    assert "line 2, column members: no user 'zed'" in out and "line 3, column parent: no department 'nowhere'" in out
    assert "north" not in _cli(db, "dept", "list")[1]
    good = tmp_path / "good.csv"
    good.write_text("\ufeffid,title,parent,manager,members\nnorth,北方,hq,bob,bob\n", encoding="utf-8")
    assert _cli(db, "dept", "import", str(good)) == (0, "imported: 1 departments added, 0 updated, 1 members\n")
    code, out = _cli(db, "user", "delegate", "set", "ann", "ann", "--from", "2026-10-01", "--until", "2026-10-07")
    assert code == 1 and "yourself" in out
    assert _cli(db, "user", "delegate", "set", "ann", "bob", "--from", "2026-10-01", "--until", "2026-10-07")[0] == 0
    assert "tasks handled by bob (bob) from 2026-10-01 00:00 until 2026-10-08 00:00 UTC" in _cli(db, "user", "delegate", "show", "ann")[1]
    assert _cli(db, "user", "delegate", "clear", "ann") == (0, "ann: no delegation\n")
