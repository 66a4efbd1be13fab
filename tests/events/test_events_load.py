"""`events:` mistakes are refused when the file loads, located at the mistake; the schema is served."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError

HERE = Path(__file__).parent
FLOW = (HERE / "purchase.yaml").read_text(encoding="utf-8")
GOOD = """events:
  - on: [create, edit, transition, warn, breach]
    via: webhook
    url_setting: ERP_WEBHOOK
    fields: [order_no, customer, delivery_date, priority, owner, lines, total]
"""


def problems(events_text: str) -> list[str]:
    assert GOOD in FLOW
    text = FLOW.replace(GOOD, events_text)
    with pytest.raises(FlowLoadError) as caught:
        load_flow_text(text, "purchase.yaml")
    return [str(p) for p in caught.value.problems]


def line_of(needle: str, events_text: str) -> int:
    text = FLOW.replace(GOOD, events_text)
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_fixture_flow_loads_with_its_events() -> None:
    flow = load_flow_text(FLOW)
    [ev] = flow.spec.events
    assert ev.url_setting == "ERP_WEBHOOK" and ev.on == ["create", "edit", "transition", "warn", "breach"]


@pytest.mark.parametrize(("events_text", "needle", "words"), [
    ("events:\n  - on: [create, shipped]\n    url_setting: ERP_WEBHOOK\n", "on: [create, shipped]",
     "'create', 'edit', 'transition', 'warn' or 'breach'"),
    ("events:\n  - on: create\n    via: email\n    url_setting: ERP_WEBHOOK\n", "via: email", "webhook"),
    ("events:\n  - on: create\n    url_setting: ERP_WEBHOOK\n    fields: [order_no, totl]\n", "fields: [order_no, totl]",
     "unknown field 'totl'"),
    ("events:\n  - on: create\n    url_setting: ERP_WEBHOOK\n    url: https://erp.example.com/hook\n", "- on: create",
     "the URL and the signing secret are settings"),
    ("events:\n  - on: create\n    url_setting: erp hook\n", "url_setting: erp hook", "not a setting's name"),
    ("events:\n  - on: create\n    url_setting: DATABASE_URL\n", "url_setting: DATABASE_URL", "Relayflow's own settings"),
    ("events:\n  - on: []\n    url_setting: ERP_WEBHOOK\n", "on: []", "at least 1 item"),
    ("events:\n  - on: create\n", "on: create", "missing required key 'url_setting'"),
])
def test_mistakes_are_refused_at_their_place(events_text: str, needle: str, words: str) -> None:
    found = problems(events_text)
    line = line_of(needle, events_text)
    assert any(p.startswith(f"purchase.yaml:{line}:") and words in p for p in found), found


def test_unknown_field_suggests_the_near_one() -> None:
    [problem] = problems("events:\n  - on: create\n    url_setting: ERP_WEBHOOK\n    fields: [totl]\n")
    assert "did you mean 'total'" in problem


def test_the_api_serves_the_published_schema(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tests.ui.live import make_app

    app = make_app(tmp_path)
    try:
        with TestClient(app) as client:
            res = client.get("/api/events/schema.json")  # open to anyone: a receiver's developer reads it
        assert res.status_code == 200 and res.headers["content-type"].startswith("application/schema+json")
        published = json.loads((HERE.parents[1] / "docs" / "events.schema.json").read_text(encoding="utf-8"))
        assert res.json() == published
    finally:
        app.state.db.dispose()
