"""Every transition × every role × a record in every state, through the HTTP API, against the flow file.

The expectation is computed here from the YAML alone (an independent reading
of the rules in docs/access-control.md), never from engine/records/access.py:

* 404 when the role's user may not see the record (visibility `roles`),
* 403 when the role is not in the transition's `by`,
* 409 when the record is not in one of its `from` states or the `when` is false,
* 200 otherwise, and the record is then in the `to` state.

Edits: for every role and state, the record's `editable` list is what the file
says, a crafted edit of a read-only field is refused with 403, and an edit of
an editable one succeeds. Lists show each role exactly the visible records.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

from tests.api.conftest import ORDER, Api

# The user who plays each role in the matrix (sam is a sales rep who did not create the records).
PLAYERS = {"sales": "sam", "clerk": "clerk2", "manager": "mia", "production": "paul", "qc": "quinn",
           "warehouse": "walt", "finance": "fiona"}
LARGE = {**ORDER, "quantity": 100}  # 125 050.00 ≥ 100 000: the manager approves

# How each record is made: (user, transition, body), starting from a draft created by sally.
STEP = {
    "submit": ("sally", "submit", {}),
    "approve": ("clerk1", "approve", {}),
    "finish": ("paul", "finish_production", {"values": {"planned_finish": "2026-12-10"}}),
    "pass": ("quinn", "pass_inspection", {"values": {"qc_result": "pass"}}),
    "ship": ("walt", "ship", {"values": {"carrier": "SF Express", "tracking_no": "SF100"}}),
    "close": ("fiona", "close", {"values": {"invoice_no": "INV-1", "paid_amount": "12505.00"}}),
    "hold": ("sally", "hold", {"comment": "customer asked to wait"}),
    "cancel": ("sally", "cancel", {"comment": "customer cancelled"}),
}
CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "draft": (ORDER, []),
    "review": (ORDER, ["submit"]),
    "review_large": (LARGE, ["submit"]),
    "production": (ORDER, ["submit", "approve"]),
    "inspection": (ORDER, ["submit", "approve", "finish"]),
    "shipping": (ORDER, ["submit", "approve", "finish", "pass"]),
    "collection": (ORDER, ["submit", "approve", "finish", "pass", "ship"]),
    "done": (ORDER, ["submit", "approve", "finish", "pass", "ship", "close"]),
    "on_hold": (ORDER, ["submit", "hold"]),
    "cancelled": (ORDER, ["cancel"]),
}
# What a probe sends with each transition so that its `require` and `when` can be met.
PROBE_VALUES = {
    "finish_production": {"planned_finish": "2026-12-10"},
    "pass_inspection": {"qc_result": "pass"},
    "fail_inspection": {"qc_result": "fail", "defect_notes": "scratched housing"},
    "ship": {"carrier": "SF Express", "tracking_no": "SF200"},
    "close": {"invoice_no": "INV-2", "paid_amount": "999999.00"},
}
# The `when` expressions of the file, read by hand.
WHEN = {
    "amount < 100000": lambda v: Decimal(v["amount"]) < 100000,
    "amount >= 100000": lambda v: Decimal(v["amount"]) >= 100000,
    "qc_result == 'pass'": lambda v: v.get("qc_result") == "pass",
    "qc_result == 'fail'": lambda v: v.get("qc_result") == "fail",
    "paid_amount >= amount": lambda v: Decimal(v["paid_amount"]) >= Decimal(v["amount"]),
}


def _listify(v: Any) -> list[str]:
    return [v] if isinstance(v, str) else list(v or [])


class FlowFile:
    """The reference flow as plain YAML data: the rules, read independently of the engine."""

    def __init__(self, text: str) -> None:
        data = yaml.safe_load(text)
        self.states: dict[str, dict[str, Any]] = data["states"]
        self.transitions: dict[str, dict[str, Any]] = data["transitions"]
        self.fields: dict[str, dict[str, Any]] = data["fields"]
        assert data.get("visibility", "roles") == "roles"

    def acting_states(self, role: str) -> set[str]:
        out = set()
        for name, st in self.states.items():
            if st.get("final"):
                continue
            editors = _listify(st.get("edit_by")) or _listify(st.get("owner"))
            if st.get("owner") == role or role in editors:
                out.add(name)
        for t in self.transitions.values():
            if role in _listify(t["by"]):
                out.update(s for s in _listify(t["from"]) if not self.states[s].get("final"))
        return out

    def editable(self, state: str, role: str) -> list[str]:
        st = self.states[state]
        if st.get("final"):
            return []
        editors = _listify(st.get("edit_by")) or _listify(st.get("owner"))
        if role not in editors:
            return []
        return [f for f in _listify(st.get("edit")) if not self.fields[f].get("compute")]


class Made:
    """A record made through the API, with the states it went through and who acted on it."""

    def __init__(self, api: Api, case: str) -> None:
        values, steps = CASES[case]
        rec = api.create("sally", values)
        self.path = ["draft"]
        self.actors = {"sally"}
        by_id = {uid: name for name, uid in api.ids.items()}
        for step in steps:
            user, name, body = STEP[step]
            if step == "approve":  # round robin picked one of the clerks: the review is theirs to do
                user = by_id[rec["assignee_id"]]
            rec = api.move(user, rec, name, **body)
            self.path.append(rec["state"])
            self.actors.add(user)
        self.rec = rec

    def acts_freely(self, flow: FlowFile, role: str, user: str, api: Api) -> bool:
        """Task ownership (docs/access-control.md): on a record assigned to someone else, the owner role of
        its state does nothing; other roles keep what the flow gives them."""
        assignee = self.rec["assignee_id"]
        owner = flow.states[self.rec["state"]].get("owner")
        return assignee is None or assignee == api.ids[user] or (owner is not None and role != owner)

    def visible_to(self, flow: FlowFile, role: str, user: str, api: Api) -> bool:
        mine = user in self.actors or self.rec["assignee_id"] == api.ids[user]
        return mine or bool(flow.acting_states(role) & set(self.path))


def expected(flow: FlowFile, made: Made, name: str, role: str, api: Api) -> int:
    t = flow.transitions[name]
    if not made.visible_to(flow, role, PLAYERS[role], api):
        return 404
    if role not in _listify(t["by"]):
        return 403
    if made.rec["state"] not in _listify(t["from"]):
        return 409
    if not made.acts_freely(flow, role, PLAYERS[role], api):
        return 403  # task ownership: assigned to another member of the owner role
    when = t.get("when")
    if when is not None and not WHEN[when]({**made.rec["values"], **PROBE_VALUES.get(name, {})}):
        return 409
    return 200


def fire(api: Api, user: str, made: Made, name: str):  # type: ignore[no-untyped-def]
    body = {"version": made.rec["version"], "comment": "matrix check"}
    if name in PROBE_VALUES:
        body["values"] = PROBE_VALUES[name]
    return api.post(user, f"/api/flows/sales_order/records/{made.rec['id']}/transitions/{name}", body)


def run_matrix(api: Api, flow_text: str) -> int:
    flow = FlowFile(flow_text)
    roles = sorted({r for t in flow.transitions.values() for r in _listify(t["by"])} | set(PLAYERS))
    assert set(roles) == set(PLAYERS)
    assert {t["when"] for t in flow.transitions.values() if t.get("when")} <= set(WHEN)
    shared = {case: Made(api, case) for case in CASES}
    checked = 0
    mismatches = []
    for case, made in shared.items():
        for name, t in flow.transitions.items():
            for role in roles:
                want = expected(flow, made, name, role, api)
                target = made
                if want == 200:  # a fresh record; its round-robin assignee may differ, so ask again
                    target = Made(api, case)
                    want = expected(flow, target, name, role, api)
                r = fire(api, PLAYERS[role], target, name)
                checked += 1
                if r.status_code != want:
                    mismatches.append((case, name, role, want, r.status_code, r.json().get("code")))
                elif want == 200:
                    assert r.json()["state"] == t["to"]
                    assert r.json()["version"] == target.rec["version"] + 1
                elif want != 200:
                    assert r.headers["content-type"] == "application/problem+json"
    assert not mismatches, mismatches
    # nothing that was refused changed a record
    for case, made in shared.items():
        r = api.get("root", f"/api/flows/sales_order/records/{made.rec['id']}")
        assert r.json()["version"] == made.rec["version"], case
    return checked


def test_every_transition_role_and_state_matches_the_flow_file(api: Api, reference_flow_text: str) -> None:
    assert run_matrix(api, reference_flow_text) == len(CASES) * 12 * 7


def test_the_matrix_on_postgres(api_pg: Api, reference_flow_text: str) -> None:
    assert run_matrix(api_pg, reference_flow_text) == len(CASES) * 12 * 7


def test_edit_rights_per_role_and_state(api: Api, reference_flow_text: str) -> None:
    flow = FlowFile(reference_flow_text)
    made = {case: Made(api, case) for case in CASES}
    for case, m in made.items():
        state = m.rec["state"]
        for role, user in PLAYERS.items():
            url = f"/api/flows/sales_order/records/{m.rec['id']}"
            r = api.get(user, url)
            if not m.visible_to(flow, role, user, api):
                assert r.status_code == 404, (case, role)
                assert api.patch(user, url, {"version": 1, "values": {"customer": "x"}}).status_code == 404
                continue
            assert r.status_code == 200, (case, role)
            rec = r.json()
            editable = flow.editable(state, role)
            # the editable list follows ownership: a record assigned to someone else is read-only to its owner role
            assert rec["editable"] == (editable if m.acts_freely(flow, role, user, api) else []), (case, role)
            read_only = next(f for f in flow.fields if f not in editable and not flow.fields[f].get("compute"))
            crafted = api.patch(user, url, {"version": rec["version"], "values": {read_only: "1"}})
            assert crafted.status_code == (409 if flow.states[state].get("final") else 403), (case, role, crafted.text)
            assert crafted.headers["content-type"] == "application/problem+json"
            computed = api.patch(user, url, {"version": rec["version"], "values": {"amount": "1.00"}})
            assert computed.status_code in (403, 409)
            if editable and not m.acts_freely(flow, role, user, api):
                name = editable[0]
                refused = api.patch(user, url, {"version": rec["version"], "values": {name: rec["values"].get(name)}})
                assert refused.status_code == 403 and refused.json()["code"] == "not_assignee", (case, role, refused.text)
                assert "sally" not in refused.json()["detail"] and "assigned to" in refused.json()["detail"]
            elif editable:
                value = {"customer": "ACME Ltd", "planned_finish": "2026-12-11", "qc_result": "fail",
                         "carrier": "EMS", "invoice_no": "INV-9", "contact_phone": "123"}
                name = next(f for f in editable if f in value)
                ok = api.patch(user, url, {"version": rec["version"], "values": {name: value[name]}})
                assert ok.status_code == 200, (case, role, ok.text)
                assert ok.json()["values"][name] == value[name]
                m.rec = ok.json()


def test_lists_show_each_role_exactly_what_it_may_see(api: Api, reference_flow_text: str) -> None:
    flow = FlowFile(reference_flow_text)
    made = {case: Made(api, case) for case in CASES}
    for role, user in PLAYERS.items():
        want = sorted(m.rec["id"] for m in made.values() if m.visible_to(flow, role, user, api))
        got: list[int] = []
        after = None
        while True:
            r = api.get(user, "/api/flows/sales_order/records",
                        params={"limit": 3, "sort": "id", **({"after": after} if after else {})})
            assert r.status_code == 200, r.text
            got += [i["id"] for i in r.json()["items"]]
            after = r.json()["next"]
            if after is None:
                break
        assert got == want, role
        for m in made.values():
            status = api.get(user, f"/api/flows/sales_order/records/{m.rec['id']}/history").status_code
            assert status == (200 if m.rec["id"] in want else 404)
    everything = api.get("root", "/api/flows/sales_order/records", params={"limit": 200}).json()["items"]
    assert len(everything) == len(CASES)  # admins see all
    assert api.get("nobody", "/api/flows/sales_order/records").json()["items"] == []
