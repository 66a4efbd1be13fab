"""The acceptance sales order (test copy in order_desk/, see its header) over the REST API, on SQLite and
PostgreSQL: a large order goes to joint review, three approvers decide (one through a delegate), a rejection
sends it back with its comment, an urge reaches the assignee once per window, a hand-over shows in history
with the person responsible kept, a return keeps the data; and the permission matrix of the new actions."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from engine.people.delegation import set_delegation
from engine.people.departments import add_department, add_member
from engine.people.tokens import create_token
from engine.people.users import create_user
from engine.settings import Settings
from engine.storage.schema import outbox
from tests.files.conftest import pdf_bytes

HERE = Path(__file__).parent / "order_desk"
PEOPLE = {"sally": ("sales",), "clerk1": ("clerk",), "clerk2": ("clerk",), "mia": ("manager",), "fiona": ("finance",),
          "paul": ("production",), "dave": (), "nobody": (), "root": ()}
ORDER = {"order_no": "SO-000001", "customer": "ACME 有限公司", "quantity": 100, "unit_price": "1500.00",
         "delivery_date": "2026-12-20"}


class Desk:
    def __init__(self, client: TestClient, tokens: dict[str, str], db: Any) -> None:
        self.client, self.tokens, self.db = client, tokens, db

    def h(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: str, url: str) -> Any:
        return self.client.get(url, headers=self.h(user))

    def post(self, user: str, url: str, body: Any = None) -> Any:
        return self.client.post(url, json=body, headers=self.h(user))

    def rec(self, user: str, rid: int) -> dict[str, Any]:
        r = self.get(user, f"/api/flows/sales_order/records/{rid}")
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def move(self, user: str, rid: int, name: str, **body: Any) -> dict[str, Any]:
        r = self.post(user, f"/api/flows/sales_order/records/{rid}/transitions/{name}", body)
        assert r.status_code == 200, (name, user, r.text)
        return r.json()  # type: ignore[no-any-return]

    def act(self, user: str, rid: int, what: str, body: Any = None) -> Any:
        return self.post(user, f"/api/flows/sales_order/records/{rid}/{what}", body)


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[Desk]:
    from api.app import create_app

    folder = tmp_path / "flows"
    folder.mkdir()
    for name in ("sales_order.yaml", "calendars.yaml"):
        shutil.copy(HERE / name, folder / name)
    app = create_app(Settings(database_url=database_url, flows_dir=folder))
    db = app.state.db
    tokens = {}
    for name, roles in PEOPLE.items():
        uid = create_user(db, name, display_name=name.title(), roles=list(roles), is_admin=name == "root")
        tokens[name] = create_token(db, uid, "tests").secret
    add_department(db, "sales", "销售部", manager="mia")
    add_member(db, "sales", "sally")
    client = TestClient(app, raise_server_exceptions=False)
    with client:
        yield Desk(client, tokens, db)
    db.dispose()


def _submitted(d: Desk, **values: Any) -> int:
    r = d.client.post("/api/flows/sales_order/files/contract", content=pdf_bytes(),
                      headers={**d.h("sally"), "X-File-Name": quote("合同.pdf")})
    assert r.status_code == 201, r.text
    r = d.post("sally", "/api/flows/sales_order/records", {"values": {**ORDER, **values, "contract": [r.json()["id"]]}})
    assert r.status_code == 201, r.text
    rid = int(r.json()["id"])
    d.move("sally", rid, "submit")
    return rid


def _name(d: Desk, uid: int) -> str:
    from engine.storage.schema import users
    with d.db.connect() as conn:
        return str(conn.execute(select(users.c.username).where(users.c.id == uid)).scalar())


def test_a_large_order_through_joint_review(desk: Desk) -> None:
    d = desk
    rid = _submitted(d)
    clerk = _name(d, d.rec("root", rid)["assignee_id"])
    d.move(clerk, rid, "to_joint_review")
    view = d.get("fiona", f"/api/flows/sales_order/records/{rid}/approval").json()
    assert [t["approver_name"] for t in view["approval"]["tasks"]] == ["Fiona", "Paul", "Mia"]
    assert view["approval"]["my_task"]["approver_name"] == "Fiona"
    # the creator is not an approver and may not decide; an outsider does not even see the record
    r = d.act("sally", rid, "approval", {"decision": "approve"})
    assert r.status_code == 403 and r.json()["code"] == "self_approval"
    assert d.act("nobody", rid, "approval", {"decision": "approve"}).status_code == 404
    # a rejection without a comment is refused, nothing is counted
    r = d.act("mia", rid, "approval", {"decision": "reject"})
    assert r.status_code == 422 and "comment" in r.text
    # fiona approves; mia rejects: back to review (where it came from) with the comment on the history
    assert d.act("fiona", rid, "approval", {"decision": "approve", "comment": "额度够"}).json()["moved_to"] is None
    r = d.act("mia", rid, "approval", {"decision": "reject", "comment": "交期太紧,请重新确认"})
    assert r.status_code == 200 and r.json()["moved_to"] == "review"
    rec = d.rec("sally", rid)
    assert rec["state"] == "review" and rec["values"]["quantity"] == 100
    hist = d.get("sally", f"/api/flows/sales_order/records/{rid}/history").json()
    assert hist[-1]["action"] == "sent_back" and hist[-1]["comment"] == "交期太紧,请重新确认"
    # second round: paul is away, dave decides for him
    now = datetime.now(timezone.utc)
    set_delegation(d.db, "paul", "dave", now - timedelta(hours=1), now + timedelta(days=2))
    clerk = _name(d, d.rec("root", rid)["assignee_id"])
    d.move(clerk, rid, "to_joint_review")
    assert d.act("fiona", rid, "approval", {"decision": "approve"}).status_code == 200
    r = d.act("dave", rid, "approval", {"decision": "approve", "comment": "代 Paul 审批"})
    assert r.status_code == 200, r.text
    r = d.act("mia", rid, "approval", {"decision": "approve"})
    assert r.json()["moved_to"] == "production"
    hist = d.get("root", f"/api/flows/sales_order/records/{rid}/history").json()
    by_dave = [h for h in hist if h.get("comment") == "代 Paul 审批"][0]
    assert by_dave["action"] == "approve"
    steps = d.get("root", f"/api/flows/sales_order/records/{rid}/responsibility").json()
    dave_step = [s for s in steps if s["id"] == by_dave["id"]][0]
    assert (_name(d, dave_step["acted"]), _name(d, dave_step["responsible"])) == ("dave", "paul")
    assert hist[-1]["transition"] == "joint_approved"


def test_urge_hand_over_and_return(desk: Desk) -> None:
    d = desk
    rid = _submitted(d)
    first = _name(d, d.rec("root", rid)["assignee_id"])
    other = "clerk2" if first == "clerk1" else "clerk1"
    # urge: the creator may, once per 2h window; the assignee may not urge themself, the other clerk does not
    # even see the record (visibility: department)
    assert d.act(first, rid, "urge", {}).status_code == 403
    assert d.act(other, rid, "urge", {}).status_code == 404
    r = d.act("sally", rid, "urge", {"reason": "客户在催"})
    assert r.status_code == 200, r.text
    r = d.act("mia", rid, "urge", {})
    assert r.status_code == 409 and r.json()["code"] == "urge_too_soon"
    with d.db.connect() as conn:
        sent = conn.execute(select(outbox.c.user_id, outbox.c.channel).where(outbox.c.event == "urge")).all()
    assert sorted(sent) == sorted([(d.rec("root", rid)["assignee_id"], c) for c in ("inbox", "email", "dingtalk")])
    # hand over: only the assignee; to a member of the owner role; a reason is required
    assert d.act(other, rid, "hand_over", {"to": other, "reason": "x"}).status_code == 404
    assert d.act(first, rid, "hand_over", {"to": "fiona", "reason": "x"}).status_code == 422
    assert d.act(first, rid, "hand_over", {"to": other, "reason": " "}).status_code == 422
    r = d.act(first, rid, "hand_over", {"to": other, "reason": "我休假"})
    assert r.status_code == 200, r.text
    assert _name(d, d.rec("root", rid)["assignee_id"]) == other
    hist = d.get("sally", f"/api/flows/sales_order/records/{rid}/history").json()
    assert hist[-1]["action"] == "hand_over" and hist[-1]["comment"] == "我休假"
    # return to draft (a state it passed): the data stay; an unknown target is refused
    assert d.act(other, rid, "return", {"to": "production", "reason": "x"}).status_code == 422
    assert d.act(first, rid, "return", {"to": "draft", "reason": "x"}).status_code == 404  # no longer theirs to see
    r = d.act(other, rid, "return", {"to": "draft", "reason": "缺少附件说明"})
    assert r.status_code == 200, r.text
    rec = d.rec("sally", rid)
    assert rec["state"] == "draft" and rec["values"]["customer"] == "ACME 有限公司" and len(rec["values"]["contract"]) == 1
    steps = d.get("root", f"/api/flows/sales_order/records/{rid}/responsibility").json()
    ret = steps[-1]
    assert ret["action"] == "return" and _name(d, ret["acted"]) == other and _name(d, ret["responsible"]) == first
    # in draft nothing of this is allowed
    r = d.act("sally", rid, "hand_over", {"to": "sally", "reason": "x"})
    assert r.status_code == 403 and r.json()["code"] == "action_not_allowed"


@pytest.mark.parametrize(("who", "what", "status"), [
    ("nobody", "urge", 404), ("clerk1", "urge", 403), ("mia", "urge", 200), ("root", "urge", 200),
    ("nobody", "approval", 404), ("fiona", "approval", 404), ("root", "approval", 409),
])
def test_permission_matrix_of_the_new_actions(desk: Desk, who: str, what: str, status: int) -> None:
    rid = _submitted(desk)
    body = {"decision": "approve"} if what == "approval" else {}
    assert desk.act(who, rid, what, body).status_code == status
