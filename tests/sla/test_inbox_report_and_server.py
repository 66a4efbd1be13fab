"""The in-app inbox, the stage report, the CLI commands and the worker thread in the server."""
from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from engine.delivery.channels.inbox import InboxChannel
from engine.delivery.notifications import list_notifications, mark_read, unread_count
from engine.delivery.worker import Worker, worker_enabled
from engine.settings import Settings
from engine.sla.report import stage_report
from engine.sla.scheduler import run_pass
from tests.conftest import REFERENCE_FLOW
from tests.sla.conftest import MONDAY_10, in_review, utc

DUE = utc(2026, 11, 23, 7, 0)


def test_inbox_list_and_mark_read(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    in_review(w, team)
    in_review(w, team)
    worker = Worker(w.db, w.registry, channels={"inbox": InboxChannel(w.db)})
    worker.run_once(now=DUE - timedelta(hours=1))
    worker.run_once(now=DUE)
    carol = team["clerk"].id
    assert unread_count(w.db, carol) == 4  # two records: warn + breach each
    newest = list_notifications(w.db, carol)
    assert mark_read(w.db, carol, [newest[0].id]) == 1
    assert unread_count(w.db, carol) == 3 and len(list_notifications(w.db, carol, unread_only=True)) == 3
    assert mark_read(w.db, team["manager"].id, [newest[1].id]) == 0  # not hers
    assert mark_read(w.db, carol) == 3 and unread_count(w.db, carol) == 0
    assert [n.id for n in list_notifications(w.db, carol, before_id=newest[1].id)] == [n.id for n in newest[2:]]


def test_stage_report(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    a, b, c = in_review(w, team), in_review(w, team), in_review(w, team)
    w.records.transition(w.flow, a.id, "approve", team["clerk"], expected_version=a.version, now=MONDAY_10 + timedelta(hours=1))
    w.records.transition(w.flow, b.id, "approve", team["clerk"], expected_version=b.version, now=DUE + timedelta(hours=1))
    run_pass(w.db, w.registry, now=DUE)
    review = {s.state: s for s in stage_report(w.db, w.registry)}["review"]
    assert (review.finished, review.met, review.missed, review.met_rate) == (2, 1, 1, 0.5)
    assert review.worst_late_seconds == 3600 and (review.open_breached, review.open_escalated) == (1, 1)
    assert c.id


def test_worker_thread_runs_in_the_server_unless_switched_off(sqlite_url, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app

    assert not worker_enabled(Settings.from_mapping({"RELAYFLOW_WORKER": "off"}))
    assert worker_enabled(Settings.from_mapping({}))
    # Settings are read when the app is assembled: a server keeps what it started with.
    monkeypatch.setenv("RELAYFLOW_WORKER", "on")
    app = create_app(Settings(database_url=sqlite_url, flows_dir=tmp_path))
    with TestClient(app):
        assert any(t.name == "relayflow-worker" for t in threading.enumerate())
    assert not any(t.name == "relayflow-worker" and t.is_alive() for t in threading.enumerate())
    app.state.db.dispose()
    monkeypatch.setenv("RELAYFLOW_WORKER", "off")
    app = create_app(Settings(database_url=sqlite_url, flows_dir=tmp_path))
    with TestClient(app):
        assert not any(t.name == "relayflow-worker" for t in threading.enumerate())
    app.state.db.dispose()


def test_cli_worker_outbox_and_report(sqlite_url, tmp_path: Path) -> None:
    from cli.commands import main

    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "sales_order.yaml").write_text(REFERENCE_FLOW.read_text(encoding="utf-8"), encoding="utf-8")
    runner = CliRunner(env={"RELAYFLOW_FLOWS_DIR": str(flows)})
    base = ["--db", sqlite_url]
    assert runner.invoke(main, [*base, "load"]).exit_code == 0
    once = runner.invoke(main, [*base, "worker", "--once"])
    assert once.exit_code == 0 and "enqueued 0" in once.output, once.output
    out = runner.invoke(main, [*base, "outbox"])
    assert out.exit_code == 0 and "empty" in out.output
    log = runner.invoke(main, [*base, "outbox", "--log"])
    assert log.exit_code == 0
    report = runner.invoke(main, [*base, "sla-report"])
    assert report.exit_code == 0 and "review" in report.output
