"""Urges (催办) in the SLA report, on SQLite and PostgreSQL: per stage how often, and per person urged; on the
flow's admin page (en and zh-CN) and in `relayflow sla-report`."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi import FastAPI

from engine.people.users import create_user, load_actor
from engine.records.approvals import decide
from engine.records.task_actions import urge
from engine.sla.report import stage_report
from engine.sla.urge_report import urged_people
from tests.approvals.page_world import make_page_app, submitted
from tests.ui.live import PASSWORD, sign_in


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    app = make_page_app(tmp_path, database_url)
    create_user(app.state.db, "root", display_name="Root", password=PASSWORD, is_admin=True)
    yield app
    app.state.db.dispose()


def _urged(app: FastAPI) -> int:
    """A request urged twice by its buyer (both approvers pending), then once more after Fiona approved."""
    svc = app.state.api
    rec = submitted(app)
    bob = load_actor(app.state.db, username="bob")
    t = datetime.now(timezone.utc)
    urge(svc.records, "purchase", rec.id, bob, "the supplier is waiting", now=t)
    urge(svc.records, "purchase", rec.id, bob, None, now=t + timedelta(hours=3))
    decide(svc.records, "purchase", rec.id, load_actor(app.state.db, username="fiona"), "approve", None,
           now=t + timedelta(hours=4))
    urge(svc.records, "purchase", rec.id, bob, None, now=t + timedelta(hours=6))
    return int(rec.id)


def test_the_report_counts_urges_per_stage_and_per_person(app: FastAPI) -> None:
    _urged(app)
    check = next(s for s in stage_report(app.state.db, app.state.api.registry, flow="purchase") if s.state == "check")
    assert check.urges == 3
    with app.state.db.connect() as conn:
        people = [(u.state, u.name, u.count) for u in urged_people(conn, "purchase")]
    assert people == [("check", "Fred 付", 3), ("check", "Fiona Finance", 2)]  # Fiona had decided by the third
    # A period that ends before the first urge has none.
    before = stage_report(app.state.db, app.state.api.registry, flow="purchase",
                          until=datetime.now(timezone.utc) - timedelta(days=1))
    assert next(s for s in before if s.state == "check").urges == 0


def test_the_admin_page_and_the_cli_show_the_urges(app: FastAPI, database_url: str, tmp_path: Path) -> None:
    _urged(app)
    for lang, head, people in (("en", "Urges", "Urged people"), ("zh-CN", "催办次数", "被催办的人")):
        client, _ = sign_in(app, "root", lang=lang)
        page = client.get("/admin/flows/purchase").text
        report = page.split('class="plain sla-report"', 1)[1].split("</table>", 1)[0]
        assert f">{head}</th>" in report and "<td>3</td></tr>" in report
        assert people in page
        urged = page.split('class="plain urged"', 1)[1].split("</table>", 1)[0]
        assert '<th scope="row">Fred 付</th><td>3</td>' in urged and '<th scope="row">Fiona Finance</th><td>2</td>' in urged
    from cli.commands import main

    runner = CliRunner(env={"RELAYFLOW_FLOWS_DIR": str(tmp_path / "flows")})
    out = runner.invoke(main, ["--db", database_url, "sla-report", "--flow", "purchase"])
    assert out.exit_code == 0, out.output
    head, row = out.output.splitlines()[0], next(ln for ln in out.output.splitlines() if " check " in ln)
    assert head.split()[-1] == "urges" and row.split()[-1] == "3"
    by_person = runner.invoke(main, ["--db", database_url, "sla-report", "--urged"])
    assert by_person.exit_code == 0 and "Fred 付" in by_person.output and "Fiona Finance" in by_person.output
