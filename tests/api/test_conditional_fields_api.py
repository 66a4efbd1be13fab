"""Conditional fields through the REST API (full routes and the lean ones), on SQLite and PostgreSQL."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api, _running_api

QC = (Path(__file__).parents[1] / "engine" / "conditional_qc.yaml").read_text(encoding="utf-8")
BASE = "/api/flows/qc_check/records"


@pytest.fixture
def qc_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    yield from _running_api(database_url, QC, tmp_path / "flows")


def create(api: Api, values: dict[str, Any], status: int = 201, **headers: str) -> dict[str, Any]:
    r = api.post("quinn", BASE, {"values": values}, headers=headers)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "full"])
def test_create_ignores_a_hidden_field_and_asks_for_a_required_one(qc_api: Api, lean: bool) -> None:
    # an Idempotency-Key sends the request to the full routes; without it the lean route answers
    extra = {} if lean else {"Idempotency-Key": "k-create-1"}
    rec = create(qc_api, {"batch": "B-1", "qc_result": "pass", "defect_notes": "ignored"}, **extra)
    assert rec["values"]["defect_notes"] is None
    refused = create(qc_api, {"batch": "B-2", "qc_result": "fail"}, status=422,
                     **({} if lean else {"Idempotency-Key": "k-create-2"}))
    text = str(refused)
    assert "defect_notes" in text and "不合格说明" in text and "==" not in text


def test_edit_and_transition(qc_api: Api) -> None:
    rec = create(qc_api, {"batch": "B-1", "qc_result": "pass"})
    url = f"{BASE}/{rec['id']}"
    r = qc_api.patch("quinn", url, {"version": rec["version"], "values": {"qc_result": "fail", "defect_notes": ""}})
    assert r.status_code == 422, r.text
    assert "不合格说明" in r.text and "qc_result ==" not in r.text
    r = qc_api.patch("quinn", url, {"version": rec["version"], "values": {"qc_result": "fail"}})
    assert r.status_code == 200, r.text
    rec = r.json()
    r = qc_api.post("quinn", f"{url}/transitions/fail_it", {"version": rec["version"]})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "missing_required" and "不合格说明" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["defect_notes"]
    r = qc_api.post("quinn", f"{url}/transitions/fail_it", {"version": rec["version"], "values": {"defect_notes": "dent"}})
    assert r.status_code == 200, r.text
    assert r.json()["values"]["defect_notes"] == "dent" and r.json()["state"] == "rework"


def test_a_value_for_a_hidden_field_is_not_written_by_an_edit(qc_api: Api) -> None:
    rec = create(qc_api, {"batch": "B-1", "qc_result": "fail", "defect_notes": "dent"})
    url = f"{BASE}/{rec['id']}"
    r = qc_api.patch("quinn", url, {"version": rec["version"], "values": {"qc_result": "pass", "defect_notes": "new"}})
    assert r.status_code == 200, r.text
    assert r.json()["values"]["defect_notes"] == "dent"  # kept as stored, not overwritten
    history = qc_api.get("quinn", f"{url}/history").json()
    entries = history if isinstance(history, list) else history.get("items", history.get("entries", []))
    assert entries and "defect_notes" not in (entries[-1].get("changes") or {})


def test_the_schema_says_the_conditions_in_plain_words(qc_api: Api) -> None:
    from api.models import build_models
    from engine.language.loader import load_flow_text

    schema = qc_api.get("quinn", "/api/flows/qc_check/schema").json()
    notes = schema["$defs"]["QcCheckValues"]["properties"]["defect_notes"]["description"]
    assert "Only used while `qc_result == 'fail'`" in notes and "Required while `qc_result == 'fail'`" in notes
    # supervisor_note is `required: true`, but only while shown: a create without it is valid by the schema
    create_values = build_models(load_flow_text(QC)).create_values.model_json_schema()
    assert "batch" in create_values["required"] and "supervisor_note" not in create_values["required"]
