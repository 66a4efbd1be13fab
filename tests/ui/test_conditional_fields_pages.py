"""Conditional fields on the pages: hidden and required as the values say, live while typing (chromium)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from engine.people.users import create_user, load_actor
from tests.ui.live import PASSWORD, LiveServer, browser_sign_in, make_app, screenshot, sign_in

QC = (Path(__file__).parents[1] / "engine" / "conditional_qc.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def qc_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    app = make_app(Path(tmp_path_factory.mktemp("cond")), flow_text=QC)
    create_user(app.state.db, "quinn", display_name="Quinn QC", password=PASSWORD, roles=["qc"])
    create_user(app.state.db, "olga", display_name="Olga Outsider", password=PASSWORD, roles=["qc"])
    yield app
    app.state.db.dispose()


def make(app: FastAPI, **values: Any) -> Any:
    actor = load_actor(app.state.db, username="quinn")
    return app.state.api.records.create("qc_check", actor, {"batch": "B-1", **values})


def wrapper(html: str, name: str) -> str:
    found = re.search(rf'<div class="field[^"]*" id="wrap-{name}"[^>]*>', html)
    assert found, name
    return found.group(0)


def test_the_record_page_hides_and_requires_as_the_stored_values_say(qc_app: FastAPI) -> None:
    client, _ = sign_in(qc_app, "quinn")
    passed = make(qc_app, qc_result="pass")
    html = client.get(f"/records/qc_check/{passed.id}").text
    assert " hidden" in wrapper(html, "defect_notes")
    failed = make(qc_app, qc_result="fail", defect_notes="dent")
    html = client.get(f"/records/qc_check/{failed.id}").text
    assert " hidden" not in wrapper(html, "defect_notes")
    label = re.search(r'<label for="f-defect_notes">.*?</label>', html, re.S).group(0)  # type: ignore[union-attr]
    assert '<abbr class="req"' in label and "hidden" not in label
    assert 'id="field-conditions"' in html and 'data-required="defect_notes"' in html


def test_a_refused_transition_names_the_field_by_title_in_the_readers_language(qc_app: FastAPI) -> None:
    rec = make(qc_app, qc_result="pass")
    for lang, words, title in (("zh-CN", "请填写", "不合格说明"), ("en", "fill in", "Defects found")):
        client, csrf = sign_in(qc_app, "quinn", lang=lang)
        current = qc_app.state.api.records.get("qc_check", rec.id)
        res = client.post(f"/records/qc_check/{rec.id}", data={
            "csrf_token": csrf, "version": str(current.version), "action": "save", "batch": "B-1",
            "qc_result": "fail", "defect_notes": ""})
        assert res.status_code == 422
        error = re.search(r'<p class="error" id="f-defect_notes-error">(.*?)</p>', res.text).group(1)  # type: ignore[union-attr]
        assert words in error and title in error and "qc_result" not in error and "==" not in error
        # the form came back as typed: the notes are shown (the typed result is fail), marked required
        assert " hidden" not in wrapper(res.text, "defect_notes")
    assert qc_app.state.api.records.get("qc_check", rec.id).values["qc_result"] == "pass"  # nothing saved


def test_a_value_posted_for_a_hidden_field_is_not_written_by_the_page(qc_app: FastAPI) -> None:
    client, csrf = sign_in(qc_app, "quinn")
    rec = make(qc_app, qc_result="fail", defect_notes="dent")
    res = client.post(f"/records/qc_check/{rec.id}", data={
        "csrf_token": csrf, "version": str(rec.version), "action": "t:pass_it", "batch": "B-1",
        "qc_result": "pass", "defect_notes": "typed before choosing pass"}, follow_redirects=False)
    assert res.status_code == 303, res.text
    after = qc_app.state.api.records.get("qc_check", rec.id)
    assert after.state == "passed" and after.values["defect_notes"] == "dent"
    # the history keeps the notes written before: a hidden field's old value stays in the history
    page = client.get(f"/records/qc_check/{rec.id}").text
    assert "dent" in page.split('id="history-h"')[1]


def test_a_typing_mistake_in_a_field_hidden_meanwhile_does_not_refuse_the_post(qc_app: FastAPI) -> None:
    client, csrf = sign_in(qc_app, "quinn")
    res = client.post("/records/qc_check/new", data={"csrf_token": csrf, "batch": "B-9", "qc_result": "pass",
                                                     "rework_hours": "many"}, follow_redirects=False)
    assert res.status_code == 303, res.text
    rec_id = int(res.headers["location"].split("?")[0].rsplit("/", 1)[1])
    assert qc_app.state.api.records.get("qc_check", rec_id).values["rework_hours"] is None
    # shown, the same mistake is an error beside the field
    res = client.post("/records/qc_check/new", data={"csrf_token": csrf, "batch": "B-9", "qc_result": "fail",
                                                     "defect_notes": "dent", "rework_hours": "many"})
    assert res.status_code == 422 and 'id="f-rework_hours-error"' in res.text


def test_the_live_preview_says_what_is_hidden_and_required(qc_app: FastAPI) -> None:
    client, csrf = sign_in(qc_app, "quinn")
    res = client.post("/records/qc_check/preview", data={"csrf_token": csrf, "batch": "x", "qc_result": "fail"})
    state = re.search(r'<div id="field-conditions"[^>]*>', res.text).group(0)  # type: ignore[union-attr]
    assert 'data-required="defect_notes"' in state and "hx-swap-oob" in state
    assert "defect_notes" not in re.search(r'data-hidden="([^"]*)"', state).group(1)  # type: ignore[union-attr]
    res = client.post("/records/qc_check/preview", data={"csrf_token": csrf, "batch": "x", "qc_result": "pass"})
    hidden = re.search(r'data-hidden="([^"]*)"', res.text).group(1).split()  # type: ignore[union-attr]
    assert "defect_notes" in hidden and "waiver" in hidden


def _sign_in(browser: Any, url: str, username: str) -> Any:
    return browser_sign_in(browser, url, username, width=1100)



def test_show_if_toggles_in_the_browser(browser: Any, qc_app: FastAPI) -> None:
    expect = pytest.importorskip("playwright.sync_api").expect
    errors: list[str] = []
    with LiveServer(qc_app) as server:
        page = _sign_in(browser, server.url, "quinn")
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # a CSP refusal shows here
        page.goto(server.url + "/records/qc_check/new")
        notes, marker = page.locator("#wrap-defect_notes"), page.locator("#wrap-defect_notes abbr.req")
        expect(notes).to_be_hidden()
        page.fill("#f-batch", "B-77")
        page.select_option("#f-qc_result", "fail")
        expect(notes).to_be_visible()  # no reload: the live preview answered
        expect(marker).to_be_visible()
        expect(page.locator("#f-defect_notes")).to_have_attribute("aria-required", "true")
        screenshot(page, "cond_01_fail_shows_notes")
        page.select_option("#f-qc_result", "pass")
        expect(notes).to_be_hidden()
        page.select_option("#f-qc_result", "fail")
        expect(notes).to_be_visible()
        # the chain: rework hours appear once there are notes
        expect(page.locator("#wrap-rework_hours")).to_be_hidden()
        page.fill("#f-defect_notes", "scratched housing")
        expect(page.locator("#wrap-rework_hours")).to_be_visible()
        page.click("#record-form button.primary")
        expect(page.locator(".flash.ok")).to_be_visible()
        expect(page.locator("#f-defect_notes")).to_have_value("scratched housing")
        # on the record page: passing hides the notes again, and the Pass button fires
        page.select_option("#f-qc_result", "pass")
        expect(notes).to_be_hidden()
        expect(page.locator("button[value='t:pass_it']")).to_be_enabled()
        page.click("button[value='t:pass_it']")
        expect(page.locator(".flash.ok")).to_be_visible()
        rec_id = int(page.url.split("?")[0].rsplit("/", 1)[1])
        assert qc_app.state.api.records.get("qc_check", rec_id).values["defect_notes"] == "scratched housing"
        # the closed record: the notes are hidden on the read-only page too
        expect(page.locator("#wrap-defect_notes")).to_be_hidden()
        screenshot(page, "cond_02_passed_hides_notes")
    assert not [e for e in errors if "Content Security Policy" in e], errors
