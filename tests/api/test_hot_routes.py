"""The lean path for create/transition answers exactly as the full FastAPI routes do, good input or bad."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import ORDER, Api, make_api

URL = "/api/flows/sales_order/records"
VOLATILE = {"created_at", "updated_at", "due_at", "warn_at", "instance"}


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("*" if k in VOLATILE else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _script(api: Api) -> list[tuple[int, Any, dict[str, str | None]]]:
    """A conversation with good and bad requests; what came back (status, body, key headers)."""
    out = []

    def note(r: Any) -> Any:
        body = r.json() if r.content else None
        headers = {k: v for k, v in r.headers.items() if k not in ("date", "server", "content-length", "x-request-id")}
        out.append((r.status_code, _scrub(body), headers))
        return body

    c = api.client
    rec = note(api.post("sally", URL, {"values": ORDER}))
    note(api.post("sally", URL, {"values": {**ORDER, "quantity": "lots", "nope": 1}}))
    note(api.post("sally", URL, {"values": ORDER, "extra": True}))
    note(api.post("nobody", URL, {"values": ORDER}))
    note(c.post(URL, content=b"{not json", headers={**api.h("sally"), "Content-Type": "application/json"}))
    note(c.post(URL, content=b"[1, 2]", headers={**api.h("sally"), "Content-Type": "application/json"}))
    note(c.post(URL, content=b"{}", headers={**api.h("sally"), "Content-Type": "text/plain"}))
    note(c.post(URL, json={"values": ORDER}, headers={"Authorization": "Bearer not-a-token"}))
    note(c.post(URL, json={"values": ORDER}, headers={"Authorization": "Basic abc"}))
    move = f"{URL}/{rec['id']}/transitions"
    note(api.post("sally", f"{move}/submit", {"version": rec["version"] + 3}))
    note(api.post("sally", f"{move}/approve", {"version": rec["version"]}))
    note(api.post("sally", f"{move}/no_such_transition", {"version": rec["version"]}))
    note(api.post("sally", f"{URL}/999999/transitions/submit", {"version": 1}))
    note(api.post("sally", f"{move}/submit", {"version": 2}, headers={"If-Match": '"1"'}))
    note(api.post("sally", f"{move}/submit", None, headers={"If-Match": "garbage"}))
    rec = note(api.post("sally", f"{move}/submit", None, headers={"If-Match": f'"{rec["version"]}"'}))
    note(api.post("clerk1", f"{move}/approve", {"version": rec["version"], "comment": "x" * 10_001}))
    note(api.post("clerk1", f"{move}/approve", {"version": rec["version"], "comment": "fine"}))
    return out


def _run(hot: str, url: str, flow_text: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setenv("RELAYFLOW_API_HOT_ROUTES", hot)
    client, api = make_api(url, flow_text, folder)
    try:
        with client:
            return _script(api)
    finally:
        client.app.state.db.dispose()  # type: ignore[attr-defined]


def test_both_paths_answer_alike(reference_flow_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hot = _run("on", f"sqlite:///{tmp_path / 'hot.db'}", reference_flow_text, tmp_path / "hot", monkeypatch)
    full = _run("off", f"sqlite:///{tmp_path / 'full.db'}", reference_flow_text, tmp_path / "full", monkeypatch)
    statuses = [s for s, _, _ in hot]
    assert statuses == [201, 422, 422, 403, 400, 422, 415, 401, 401, 409, 403, 404, 404, 422, 400, 200, 422, 200]
    assert {e["field"] for e in hot[1][1]["errors"]} == {"quantity", "nope"}
    assert hot[9][1]["current_version"] == 1 and hot[9][2]["etag"] == '"1"'
    assert hot[0][2]["location"] == "/api/flows/sales_order/records/1"
    assert all(h["content-type"] == ("application/json" if s < 400 else "application/problem+json")
               for s, _, h in hot)
    assert hot == full


@pytest.mark.parametrize("hot", ["on", "off"])
def test_an_unexpected_failure_is_a_problem_500_on_both_paths(
        hot: str, reference_flow_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lean path runs in front of FastAPI's error middleware: a crash still answers problem+json 500
    without internals, and the server goes on serving."""
    monkeypatch.setenv("RELAYFLOW_API_HOT_ROUTES", hot)
    client, api = make_api(f"sqlite:///{tmp_path / 'db.sqlite'}", reference_flow_text, tmp_path / "flows")
    svc = client.app.state.api  # type: ignore[attr-defined]

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    try:
        with client:
            monkeypatch.setattr(svc.access, "create", crash)
            r = api.post("sally", URL, {"values": ORDER})
            assert r.status_code == 500
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == "internal_error" and "secret" not in r.text
            monkeypatch.delattr(svc.access, "create")  # the class's own again
            assert api.post("sally", URL, {"values": ORDER}).status_code == 201
    finally:
        client.app.state.db.dispose()  # type: ignore[attr-defined]


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_a_transition_answers_the_values_it_stored(db: str, request: pytest.FixtureRequest,
                                                   reference_flow_text: str, tmp_path: Path) -> None:
    """Values given with a transition (every kind of field the draft state edits, a computed one
    too) come back in its answer exactly as a later read gives them."""
    url = request.getfixturevalue("sqlite_url" if db == "sqlite" else "postgres_url")
    client, api = make_api(url, reference_flow_text, tmp_path / "flows")
    try:
        with client:
            rec = api.create()
            values = {"customer": "  Übersee GmbH  ", "contact_phone": "+49 30 1234567", "sales_rep": api.ids["sam"],
                      "quantity": "12", "unit_price": "99.5", "delivery_date": "2027-01-15", "priority": "urgent",
                      "special_requirements": "Zwei Paletten\nbitte"}
            moved = api.post("sally", f"{URL}/{rec['id']}/transitions/submit",
                             {"version": rec["version"], "values": values})
            assert moved.status_code == 200, moved.text
            stored = api.get("sally", f"{URL}/{rec['id']}").json()
            assert moved.json()["values"] == stored["values"]
            assert stored["values"]["amount"] == "1194.00" and stored["values"]["unit_price"] == "99.50"
            assert moved.json()["title"] == stored["title"]
    finally:
        client.app.state.db.dispose()  # type: ignore[attr-defined]
