"""The task page (SQLite and PostgreSQL): the fields to fill in first and the read-only ones folded, the time
left in working days as the calendar counts them, "no deadline" for an empty date, money typed and shown with
thousands separators; and the Chinese catalogue written with Chinese punctuation."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from fastapi import FastAPI

from engine.language.loader import load_flow_text
from engine.people.users import create_user, load_actor
from engine.settings import Settings
from tests.tasks13.flows import JOB
from tests.ui.live import PASSWORD, sign_in
from ui.i18n import Translator
from ui.sla_view import working_span

FLOW = JOB.replace("  qty: {type: integer}\n", "  qty: {type: integer}\n"
                   "  price: {type: money, currency: CNY, scale: 2, title: {zh-CN: 单价, en: Price}}\n"
                   ).replace("edit: [subject, ship_on, qty]", "edit: [subject, ship_on, qty, price]")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    from ui.app import create_app

    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "job.yaml").write_text(FLOW, encoding="utf-8")
    before = os.environ.get("RELAYFLOW_WORKER")
    os.environ["RELAYFLOW_WORKER"] = "off"
    try:
        app = create_app(Settings(database_url=database_url, flows_dir=flows))
    finally:
        if before is None:
            os.environ.pop("RELAYFLOW_WORKER", None)
        else:
            os.environ["RELAYFLOW_WORKER"] = before
    for username, roles in (("sam", ["sales"]), ("pat", ["plant"])):
        create_user(app.state.db, username, display_name=username.title(), password=PASSWORD, roles=roles)
    yield app
    app.state.db.dispose()


def _in_making(app: FastAPI, ship_on: date | None) -> Any:
    svc = app.state.api
    sam = load_actor(app.state.db, username="sam")
    rec = svc.records.create("job", sam, {"subject": "Gears", "ship_on": ship_on.isoformat() if ship_on else None,
                                          "price": "1234567.5"})
    return svc.records.transition("job", rec.id, "start", sam, expected_version=rec.version)


def _ahead(days: int) -> date:
    """A weekday about `days` days ahead (the flow's calendar works Monday to Friday)."""
    d = datetime.now(timezone(timedelta(hours=8))).date() + timedelta(days=days)
    while d.weekday() >= 5 or d == date(2026, 10, 20):
        d += timedelta(days=1)
    return d


def test_the_fields_to_fill_in_come_first_and_the_others_are_folded(app: FastAPI) -> None:
    rec = _in_making(app, _ahead(40))
    client, _ = sign_in(app, "pat")
    page = client.get(f"/records/job/{rec.id}").text
    main, folded = page.split('id="readonly-fields"', 1)
    assert 'name="ship_on"' in main and 'name="qty"' in main  # what Pat must do now
    folded = folded.split("</details>", 1)[0]
    assert "Other fields, read-only in this stage (2)" in folded
    assert 'id="wrap-subject"' in folded and 'id="wrap-price"' in folded
    assert "1,234,567.50 CNY" in folded  # money read with thousands separators
    assert 'id="wrap-subject"' not in main
    # Someone with nothing to edit reads everything unfolded.
    sam, _ = sign_in(app, "sam")
    reader = sam.get(f"/records/job/{rec.id}").text
    assert 'id="readonly-fields"' not in reader and 'id="wrap-subject"' in reader


def test_time_left_is_in_working_days_and_an_empty_date_says_no_deadline(app: FastAPI) -> None:
    rec = _in_making(app, _ahead(40))
    for lang, pattern in (("zh-CN", r"还剩 \d+ 个工作日"), ("en", r"\d+ working days( \d+ h)? left")):
        client, _ = sign_in(app, "pat", lang=lang)
        badge = re.search(r'<span class="badge sla-on_track"[^>]*>(.*?)</span>', client.get(f"/records/job/{rec.id}").text)
        assert badge and re.search(pattern, badge.group(1)), badge.group(1) if badge else None
    empty = _in_making(app, None)
    zh, _ = sign_in(app, "pat", lang="zh-CN")
    assert '<span class="badge sla-none">无截止时间</span>' in zh.get(f"/records/job/{empty.id}").text


def test_working_time_is_counted_in_the_calendars_days() -> None:
    clock = load_flow_text(FLOW).clocks["making"].clock  # 09:00-12:00 and 13:00-18:00: an 8-hour day
    en, zh = Translator("en"), Translator("zh-CN")
    assert working_span(20 * 3600, clock, en) == "2 working days 4 h"  # type: ignore[arg-type]
    assert working_span(8 * 3600, clock, zh) == "1 个工作日"  # type: ignore[arg-type]
    assert working_span(16 * 3600 + 1800, clock, zh) == "2 个工作日"  # type: ignore[arg-type]
    assert working_span(5 * 3600 + 20 * 60, clock, zh) == "5 个工作小时 20 分钟"  # type: ignore[arg-type]
    assert working_span(40 * 60, clock, en) == "40 working minutes"  # type: ignore[arg-type]


def test_amounts_typed_with_thousands_separators_are_accepted(app: FastAPI) -> None:
    client, csrf = sign_in(app, "sam")
    res = client.post("/records/job/new", data={"csrf_token": csrf, "subject": "Bolts", "price": "12,345.60",
                                                "qty": "1,200"}, follow_redirects=False)
    assert res.status_code == 303, res.text
    rid = int(res.headers["location"].rstrip("/").split("/")[-1].split("?")[0])
    rec = app.state.api.records.get("job", rid)
    assert rec.values["price"] == Decimal("12345.60") and rec.values["qty"] == 1200
    bad = client.post("/records/job/new", data={"csrf_token": csrf, "subject": "Nuts", "price": "12,5"})
    assert bad.status_code == 422 and "12,5" in bad.text  # a decimal comma is not a thousands separator
    api = client.post("/api/flows/job/records", json={"values": {"subject": "X", "price": "12,345.60"}},
                      headers={"X-CSRF-Token": csrf})
    assert api.status_code == 422  # the API takes plain numbers only


def test_the_chinese_catalogue_uses_chinese_punctuation() -> None:
    with open(ROOT / "ui" / "i18n" / "zh_CN.po", "rb") as fh:
        texts = [str(m.string) for m in read_po(fh) if m.id and m.string]
    han = "[\u4e00-\u9fff“”]"
    ascii_marks = re.compile(rf"{han} ?[,:;?!()]|[,:;?!()] ?{han}")
    wrong = [t for t in texts if ascii_marks.search(re.sub(r"\{[^}]*\}", "", t))]
    assert wrong == []
