"""SLA on the admin pages: the simulation timeline, the stage report, the delivery log with its retry."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI
from sqlalchemy import insert, select

from engine.sla.report import stage_report
from engine.storage.schema import outbox
from tests.ui.live import move, new_order, sign_in

FLOW_PAGE = "/admin/flows/sales_order"
SCRIPT = "<script>alert('x')</script>"


def _row(page: str, stage: str, table: str = "timeline-table") -> str:
    body = page.split(f'class="plain {table}"', 1)[1].split("</table>", 1)[0]
    m = re.search(rf"<tr><th scope=\"row\">{stage}[ <].*?</tr>", body, re.S)
    assert m, f"no row for {stage}"
    return m.group(0)


def test_the_simulation_shows_each_stage_across_the_holidays(app: FastAPI) -> None:
    client, _ = sign_in(app, "admin")
    form = client.get(FLOW_PAGE).text
    assert 'id="sim-start" name="sim_start" type="datetime-local" value="' in form
    assert '<label for="sim-path">' in form and "<code>approve_large</code> (经理审批通过)" in form
    assert "Start (Asia/Shanghai time)" in form
    page = client.get(FLOW_PAGE, params={"sim_start": "2026-09-30T17:30", "sim_path": "submit, approve"}).text
    review = _row(page, "订单审核")
    # 17:30-18:00 on 30 Sep; 1-7 Oct holidays and a weekend; 8 Oct 09:00-12:00, 13:00-13:30 (4 working hours).
    assert "2026-09-30 17:30 Wed" in review and "2026-10-08 11:30 Thu" in review and "2026-10-08 13:30 Thu" in review
    assert "审核通过" in _row(page, "生产中") and "2026-10-14 13:30 Wed" in _row(page, "生产中")
    assert 'class="badge sla-breached">Breached<' in review  # left when due: the default leave is the due instant
    fragment = client.get(f"{FLOW_PAGE}/simulate", params={"sim_start": "2026-09-30T17:30", "sim_path": "submit"},
                          headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "2026-10-08 13:30" in fragment.text
    plain = client.get(f"{FLOW_PAGE}/simulate", params={"sim_start": "2026-09-30T17:30", "sim_path": "submit"},
                       follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"].startswith(f"{FLOW_PAGE}?sim_start=")


def test_bad_simulation_input_is_shown_at_its_field(app: FastAPI) -> None:
    client, _ = sign_in(app, "admin")
    wrong = client.get(FLOW_PAGE, params={"sim_start": "2026-09-30T17:30", "sim_path": "submit,teleport"}).text
    assert "flow &#39;sales_order&#39; has no transition &#39;teleport&#39;" in wrong
    assert re.search(r'id="sim-path"[^>]*aria-describedby="sim-help sim-error"[^>]*aria-invalid="true"', wrong)
    order = client.get(FLOW_PAGE, params={"sim_start": "2026-09-30T17:30", "sim_path": "approve"}).text
    assert "cannot fire from state &#39;draft&#39;" in order
    start = client.get(FLOW_PAGE, params={"sim_start": "yesterday", "sim_path": "submit"}).text
    assert "Give the start as a date and time" in start and re.search(r'id="sim-start"[^>]*aria-invalid="true"', start)
    instant = client.get(FLOW_PAGE, params={"sim_start": "2026-09-30T17:30", "sim_path": f"submit@{SCRIPT}"}).text
    assert "<script>alert" not in instant and "Write each step as a transition id" in instant
    zh, _ = sign_in(app, "admin", lang="zh-CN")
    text = zh.get(FLOW_PAGE, params={"sim_start": "2026-09-30T17:30", "sim_path": "teleport"}).text
    assert "流程“sales_order”没有流转“teleport”" in text and "SLA 模拟" in text


def test_the_sla_report_counts_open_and_finished_stages(app: FastAPI) -> None:
    done = new_order(app, customer="Report Co")
    move(app, done.id, "submit", "sales1")
    move(app, done.id, "approve", "clerk1")  # review finished well before its due instant
    waiting = new_order(app, customer="Waiting Co")
    move(app, waiting.id, "submit", "sales1")
    client, _ = sign_in(app, "admin")
    page = client.get(FLOW_PAGE).text
    cells = re.findall(r"<td>([^<]*)</td>", _row(page, "订单审核", "sla-report"))
    finished, met, missed, rate, avg, _worst, on_track, warning, breached, escalated = cells[:10]  # then the urges
    review = {s.state: s for s in stage_report(app.state.db, app.state.registry, flow="sales_order")}["review"]
    assert (int(finished), int(met), int(missed)) == (review.finished, review.met, review.missed)
    assert review.met >= 1 and rate.endswith("%") and avg.endswith("early")
    assert (int(on_track), int(warning), int(breached), int(escalated)) == (
        review.open_on_track, review.open_warning, review.open_breached, review.open_escalated)
    assert review.open_on_track + review.open_warning + review.open_breached >= 1


def _outbox(app: FastAPI, key: str, status: str, *, error: str | None = None, attempts: int = 0) -> int:
    now = datetime.now(timezone.utc)
    row: dict[str, Any] = {"dedupe_key": key, "flow": "sales_order", "record_id": 1, "state": "review",
                           "event": "breach", "rule": 1, "channel": "webhook", "recipient": "role:manager",
                           "event_at": now, "created_at": now, "status": status, "attempts": attempts,
                           "next_attempt_at": now, "last_error": error}
    with app.state.db.begin() as conn:
        return int(conn.execute(insert(outbox).values(**row).returning(outbox.c.id)).scalar_one())


def test_the_delivery_log_filters_escapes_and_retries(app: FastAPI) -> None:
    dead = _outbox(app, "sales_order:1:review@1:breach:dead:webhook", "dead", error=f"HTTP 500 {SCRIPT}", attempts=8)
    sent = _outbox(app, "sales_order:1:review@1:breach:sent:webhook", "sent", attempts=1)
    client, csrf = sign_in(app, "admin")
    everything = client.get("/admin/deliveries").text
    assert f'id="delivery-{dead}"' in everything and f'id="delivery-{sent}"' in everything
    assert "sales_order:1:review@1:breach:dead:webhook" in everything and "role:manager" in everything
    assert "<script>alert" not in everything and "HTTP 500 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in everything
    only_dead = client.get("/admin/deliveries", params={"status": "dead"}).text
    assert f'id="delivery-{dead}"' in only_dead and f'id="delivery-{sent}"' not in only_dead
    assert f'action="/admin/deliveries/{dead}/retry"' in only_dead
    assert client.get("/admin/deliveries", params={"status": "lost"}).status_code == 422
    res = client.post(f"/admin/deliveries/{dead}/retry", data={"csrf_token": csrf, "back": "dead"},
                      follow_redirects=False)
    assert res.status_code == 303 and res.headers["location"] == "/admin/deliveries?status=dead&msg=requeued"
    with app.state.db.connect() as conn:
        status, attempts = conn.execute(select(outbox.c.status, outbox.c.attempts).where(outbox.c.id == dead)).one()
    assert (status, attempts) == ("pending", 0)
    assert "The message will be delivered again." in client.get(res.headers["location"]).text
    again = client.post(f"/admin/deliveries/{sent}/retry", data={"csrf_token": csrf}, follow_redirects=False)
    assert again.headers["location"].endswith("msg=not_requeued")
    assert client.post(f"/admin/deliveries/{dead}/retry", data={}).status_code == 403
    assert client.post(f"/admin/deliveries/{10**30}/retry", data={"csrf_token": csrf}).status_code == 404
    zh, _ = sign_in(app, "admin", lang="zh-CN")
    assert "消息投递" in zh.get("/admin/deliveries").text
