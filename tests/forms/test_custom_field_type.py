"""A field type defined only here (one class, one widget template) works everywhere, no other file touched.

"percent" stores a whole number from 0 to 100. Defining its class registers it; its
`template_dir` (a folder this test writes) brings its widget. The flow that uses it
loads, its form page shows the widget and parses a post, the API creates it and
/openapi.json describes it, a list filters and sorts by it, and a reload plan names
it. The type is unregistered afterwards, so other tests (in this process too) never
meet it.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.types import Integer, TypeEngine

from engine.evolve import plan_flow
from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError
from engine.people.tokens import create_token
from engine.people.users import load_actor
from forms import FIELD_TYPES, FieldValueError, unregister_field_type
from forms.base import Gettext
from forms.checked_spec import CheckedFieldSpec
from tests.ui.live import make_app, sign_in

FLOW = """\
flow: survey
title: Survey
roles: {sales: Sales}
fields:
  topic: {type: text, title: Topic, required: true}
  share: {type: percent, title: Share, index: true, required: true}
states:
  open: {owner: sales, edit: [topic, share]}
  done: {final: true}
transitions:
  close: {from: open, to: done, by: sales}
"""

WIDGET = """<input type="number" min="0" max="100" step="1" data-widget="percent" \
{% include "widgets/_attrs.html" %} value="{{ f.value }}"> %
"""


def define_percent(templates: Path) -> type[CheckedFieldSpec]:
    """The whole field type: what a plugin would ship (with `templates/widgets/percent.html`)."""

    class PercentField(CheckedFieldSpec):
        """A whole percentage, 0 to 100; "42", 42 and "42 %" are the same value."""

        type: Literal["percent"] = "percent"

        widget: ClassVar[str] = "percent"
        template_dir: ClassVar[str | None] = str(templates)
        filter_ops: ClassVar[frozenset[str]] = frozenset({"eq", "gte", "lte"})
        sortable: ClassVar[bool] = True

        def column_type(self) -> TypeEngine[Any]:
            return Integer()

        def coerce(self, raw: Any, *, tz: tzinfo | None = None) -> int | None:
            if isinstance(raw, str):
                raw = raw.strip().removesuffix("%").strip() or None
            if raw is None:
                return None
            if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).isdigit():
                raise FieldValueError.of("percent", "must be a whole percentage, such as 42")
            value = int(raw)
            if value > 100:
                raise FieldValueError.of("percent", "must be between 0 and 100")
            return value

        def from_db(self, value: Any) -> int | None:
            return None if value is None else int(value)

        def value_schema(self) -> dict[str, Any]:
            return self._described({"type": "integer", "minimum": 0, "maximum": 100, "x-unit": "%"})

        def display_text(self, value: Any, tz: tzinfo, _: Gettext, user_names: Mapping[int, str] | None) -> str:
            return f"{value} %"

        def type_details(self) -> list[str]:
            return ["a share from 0 to 100"]

    return PercentField


@pytest.fixture
def percent(tmp_path: Path) -> Iterator[type[CheckedFieldSpec]]:
    templates = tmp_path / "percent_templates"
    (templates / "widgets").mkdir(parents=True)
    (templates / "widgets" / "percent.html").write_text(WIDGET, encoding="utf-8")
    assert "percent" not in FIELD_TYPES
    cls = define_percent(templates)
    try:
        assert FIELD_TYPES["percent"] is cls
        yield cls
    finally:
        unregister_field_type("percent")
    assert "percent" not in FIELD_TYPES


@pytest.fixture
def app(percent: type[CheckedFieldSpec], tmp_path: Path) -> Iterator[FastAPI]:
    app = make_app(tmp_path / "app", flow_text=FLOW)
    yield app
    app.state.db.dispose()


def _bearer(app: FastAPI, username: str) -> dict[str, str]:
    user = load_actor(app.state.db, username=username)
    return {"Authorization": f"Bearer {create_token(app.state.db, user.id, 'tests').secret}"}


def test_a_flow_using_it_loads(percent: type[CheckedFieldSpec]) -> None:
    flow = load_flow_text(FLOW)
    assert type(flow.fields["share"]) is percent
    with pytest.raises(FlowLoadError, match="unknown field type 'percnt'"):
        load_flow_text(FLOW.replace("type: percent", "type: percnt"))


def test_unregistered_it_is_an_unknown_type() -> None:
    with pytest.raises(FlowLoadError, match="unknown field type 'percent'"):
        load_flow_text(FLOW)


def test_its_form_shows_the_widget_and_a_post_becomes_its_value(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sales1")
    form = client.get("/records/survey/new")
    assert form.status_code == 200
    assert re.search(r'<input type="number" min="0" max="100" step="1" data-widget="percent" id="f-share" name="share"',
                     form.text), form.text
    bad = client.post("/records/survey/new", data={"csrf_token": csrf, "topic": "T", "share": "150"})
    assert bad.status_code == 422 and "must be between 0 and 100" in bad.text
    assert 'value="150"' in bad.text  # what was typed comes back
    made = client.post("/records/survey/new", data={"csrf_token": csrf, "topic": "Tea", "share": " 42 % "},
                       follow_redirects=False)
    assert made.status_code == 303, made.text
    record_id = int(re.search(r"/records/survey/([0-9]+)", made.headers["location"]).group(1))  # type: ignore[union-attr]
    assert app.state.api.records.get("survey", record_id).values["share"] == 42
    page = client.get(f"/records/survey/{record_id}")
    assert 'data-widget="percent"' in page.text and 'value="42"' in page.text
    # Read-only (a final state), the type's own text shows.
    app.state.api.records.transition("survey", record_id, "close", load_actor(app.state.db, username="sales1"),
                                     expected_version=None)
    shown = client.get(f"/records/survey/{record_id}")
    assert "42 %" in shown.text and 'data-widget="percent"' not in shown.text


def test_the_api_creates_it_lists_by_it_and_openapi_describes_it(app: FastAPI) -> None:
    client = TestClient(app)
    auth = _bearer(app, "sales1")
    url = "/api/flows/survey/records"
    for topic, share in (("low", 10), ("mid", "50"), ("high", 90)):
        res = client.post(url, json={"values": {"topic": topic, "share": share}}, headers=auth)
        assert res.status_code == 201, res.text
        assert isinstance(res.json()["values"]["share"], int)
    refused = client.post(url, json={"values": {"topic": "x", "share": 101}}, headers=auth)
    assert refused.status_code == 422 and "share" in refused.text

    def topics(**params: Any) -> list[str]:
        res = client.get(url, params=params, headers=auth)
        assert res.status_code == 200, res.text
        return [item["values"]["topic"] for item in res.json()["items"]]

    assert topics(**{"share.gte": "50"}, sort="share") == ["mid", "high"]
    assert topics(share="10") == ["low"]
    assert topics(**{"share.lte": "50 %"}, sort="-share") == ["mid", "low"]
    assert client.get(url, params={"share": "lots"}, headers=auth).status_code == 422

    doc = client.get("/openapi.json", headers=auth).json()
    share = doc["components"]["schemas"]["SurveyValues"]["properties"]["share"]
    value = next(s for s in share.get("anyOf", [share]) if s.get("type") == "integer")  # nullable on reads
    assert value["maximum"] == 100 and value["x-unit"] == "%" and share["title"] == "Share"
    params = {p["name"] for p in doc["paths"][url]["get"]["parameters"]}
    assert {"share", "share.gte", "share.lte"} <= params


def test_the_list_page_filters_by_it(app: FastAPI) -> None:
    for topic, share in (("low", 10), ("high", 90)):
        app.state.api.records.create("survey", load_actor(app.state.db, username="sales1"),
                                     {"topic": topic, "share": share})
    client, _ = sign_in(app, "sales1")
    page = client.get("/lists/survey", params={"share.gte": "50"})
    assert page.status_code == 200 and 'name="share.gte"' in page.text
    assert "Share: 90 %" in page.text and "Share: 10 %" not in page.text  # the type's text, in the list too


def test_a_reload_plan_describes_it(app: FastAPI) -> None:
    grown = FLOW.replace("  share: {type: percent, title: Share, index: true, required: true}\n",
                         "  share: {type: percent, title: Share, index: true, required: true}\n"
                         "  discount: {type: percent, title: Discount}\n")
    plan = plan_flow(app.state.db, load_flow_text(grown))
    added = [c for c in plan.changes if c.kind == "field_added" and c.subject == "discount"]
    assert added and "percent (a share from 0 to 100)" in added[0].text, [c.text for c in plan.changes]
    as_text = FLOW.replace("{type: percent, title: Share, index: true, required: true}",
                           "{type: text, title: Share, index: true, required: true}")
    app.state.api.records.create("survey", load_actor(app.state.db, username="sales1"), {"topic": "t", "share": 5})
    changed = plan_flow(app.state.db, load_flow_text(as_text))
    texts = [c.text for c in changed.changes if c.subject == "share"]
    assert any("from percent (a share from 0 to 100) to text" in t for t in texts), texts


def test_a_type_name_is_taken_once(percent: type[CheckedFieldSpec], tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="field type 'percent' is already defined"):
        define_percent(tmp_path)
    assert FIELD_TYPES["percent"] is percent
