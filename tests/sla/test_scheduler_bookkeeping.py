"""The scheduler's bookkeeping: events fanned out into the outbox, scan marks, repeats filed across upgrades."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text, update

from engine.delivery.fanout import fan_out
from engine.delivery.outbox import epoch, list_rows
from engine.evolve import apply_flow, plan_flow
from engine.language.loader import load_flow_text
from engine.people.users import create_user, load_actor
from engine.records.records import Records
from engine.sla.scheduler import flow_pass_in, run_pass
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.registry import FlowRegistry, install_flow
from tests.sla.conftest import MONDAY_10, ORDER, in_review, utc
from tests.sla.test_reminders_over_time import DUE, REPEAT_1, SECOND

SLA_INDEXES = {"ix_flow_sales_order_sla_due_at", "ix_flow_sales_order_sla_warn_at"}
OLD_INDEXES = {"ix_flow_sales_order_sla_due": "sla_status, sla_due_at",
               "ix_flow_sales_order_sla_warn": "sla_status, sla_warn_at",
               "ix_flow_sales_order_sla_remind": "sla_status, sla_next_remind_at"}


def test_a_pass_writes_one_event_per_breach_and_the_fan_out_one_row_per_recipient_and_channel(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    rec = in_review(w, team)
    live = w.registry.get(w.flow)
    with w.db.begin() as conn:
        result = flow_pass_in(conn, live, DUE)
    assert (result.breached, result.events, result.enqueued) == (1, 1, 0)
    assert list_rows(w.db, record_id=rec.id) == []  # not in the outbox until the fan-out

    w.records.transition(w.flow, rec.id, "approve", team["clerk"], expected_version=rec.version,
                         now=DUE + timedelta(minutes=1))  # acted upon meanwhile: the breach was still missed
    assert fan_out(w.db, live, DUE) == (1, 5)
    rows = [r for r in list_rows(w.db, record_id=rec.id) if r["event"] == "breach"]
    clerk, manager = team["clerk"].id, team["manager"].id
    assert sorted((r["recipient"], r["channel"]) for r in rows) == [
        ("all", "webhook"), (f"u{clerk}", "email"), (f"u{clerk}", "inbox"), (f"u{manager}", "email"),
        (f"u{manager}", "inbox")]
    stage = epoch(rec.system["sla_started_at"])
    assert f"sales_order:{rec.id}:review@{stage}:breach:u{manager}:email" in {r["dedupe_key"] for r in rows}
    assert fan_out(w.db, live, DUE) == (0, 0)  # the events are gone: nothing is written twice


def test_a_reload_that_moves_due_instants_back_is_caught_by_the_next_pass(reference_world, team,
                                                                         reference_flow_text) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    rec = in_review(w, team)  # Monday 10:00 Shanghai: warn 14:00, due 15:00
    assert run_pass(w.db, w.registry, now=utc(2026, 11, 23, 5, 0))[0].events == 0  # 13:00: nothing yet
    old = "    sla: {due: 4h, warn: 75%}\n"
    assert reference_flow_text.count(old) == 1
    shorter = load_flow_text(reference_flow_text.replace(old, "    sla: {due: 2h, warn: 75%, on_change: recompute}\n"))
    apply_flow(w.db, shorter, expected=plan_flow(w.db, shorter))
    w.registry.refresh(w.db)
    assert w.records.get(w.flow, rec.id).system["sla_due_at"] == utc(2026, 11, 23, 4, 0)  # 12:00, before 13:00
    [result] = run_pass(w.db, w.registry, now=utc(2026, 11, 23, 5, 5))
    assert (result.breached, result.enqueued) == (1, 5)


def test_upgrade_moves_flow_table_indexes_and_keeps_repeating_earlier_breaches(database_url: str,
                                                                               reference_flow_text: str) -> None:
    db = make_engine(database_url)
    try:
        upgrade_database(db, "0004")
        live = install_flow(db, load_flow_text(reference_flow_text))
        with db.begin() as conn:  # the flow table as the code before revision 0005 built it
            for name in SLA_INDEXES:
                conn.execute(text(f"DROP INDEX {name}"))
            for name, columns in OLD_INDEXES.items():
                conn.execute(text(f"CREATE INDEX {name} ON flow_sales_order ({columns})"))
        create_user(db, "sally", roles=["sales"])
        create_user(db, "carol", roles=["clerk"])
        create_user(db, "mia", roles=["manager"])
        registry = FlowRegistry()
        registry.put(live)
        records = Records(db, registry)
        sally = load_actor(db, username="sally")
        rec = records.create("sales_order", sally, ORDER, now=MONDAY_10)
        rec = records.transition("sales_order", rec.id, "submit", sally, expected_version=rec.version, now=MONDAY_10)
        with db.begin() as conn:  # breached and reminded by the scheduler of that version
            conn.execute(update(live.table).where(live.table.c.id == rec.id).values(
                sla_status="breached", sla_escalated=True, sla_next_remind_at=REPEAT_1))

        upgrade_database(db)

        with db.connect() as conn:
            names = {ix["name"] for ix in inspect(conn).get_indexes("flow_sales_order")}
            assert SLA_INDEXES <= names and not names & set(OLD_INDEXES)
            if conn.dialect.name == "postgresql":
                options = conn.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'flow_sales_order'"))
                assert "fillfactor=90" in options.scalar_one()
        assert run_pass(db, registry, now=REPEAT_1 - SECOND)[0].repeated == 0
        [result] = run_pass(db, registry, now=REPEAT_1)
        assert (result.repeated, result.enqueued) == (1, 5)
    finally:
        db.dispose()


@pytest.mark.postgres
def test_status_updates_of_a_pass_write_no_index_entries_on_postgres(postgres_url: str, reference_flow_text: str) -> None:
    from tests.conftest import World

    w = World(postgres_url, reference_flow_text)
    try:
        sally = w.user("sally", "sales")
        w.user("carol", "clerk")
        for _ in range(3):
            rec = w.records.create(w.flow, sally, ORDER, now=MONDAY_10)
            w.records.transition(w.flow, rec.id, "submit", sally, expected_version=rec.version, now=MONDAY_10)
        counters = text("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                        "WHERE relname = 'flow_sales_order'")
        with w.db.connect() as conn, conn.begin():
            before = conn.execute(counters).one()  # may hold earlier transactions' counts not yet reported
            result = flow_pass_in(conn, w.registry.get(w.flow), DUE)
            after = conn.execute(counters).one()
        assert result.breached == 3
        assert (after[0] - before[0], after[1] - before[1]) == (3, 3)  # three updates, all HOT
    finally:
        w.db.dispose()


def test_a_breach_resumed_while_the_pass_settles_its_repeats_keeps_repeating(reference_world, team,
                                                                              monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: a resume that commits between the pass's read of sla_repeats and its delete must not
    lose the row it filed (SQLite serialises the two)."""
    import engine.sla.scheduler as scheduler
    from engine.storage.schema import sla_repeats

    w = reference_world
    if w.db.dialect.name != "postgresql":
        pytest.skip("one writer at a time on SQLite")
    sales = team["sales"]
    paused = in_review(w, team)
    moved_on = in_review(w, team)
    run_pass(w.db, w.registry, now=DUE)  # both breached, both filed for REPEAT_1
    paused = w.records.transition(w.flow, paused.id, "hold", sales, expected_version=paused.version,
                                  now=DUE + timedelta(hours=1), comment="等客户")
    w.records.transition(w.flow, moved_on.id, "approve", team["clerk"], expected_version=moved_on.version,
                         now=DUE + timedelta(hours=1))  # its row is dropped by the next pass
    real_delete, resumed = scheduler.delete, []

    def delete_after_a_resume(table):  # type: ignore[no-untyped-def]
        if not resumed:  # another worker's request commits the resume just now
            resumed.append(w.records.transition(w.flow, paused.id, "resume", sales, expected_version=paused.version,
                                                now=REPEAT_1))
        return real_delete(table)

    monkeypatch.setattr(scheduler, "delete", delete_after_a_resume)
    assert run_pass(w.db, w.registry, now=REPEAT_1)[0].repeated == 0
    assert resumed and resumed[0].system["sla_status"] == "breached"
    monkeypatch.setattr(scheduler, "delete", real_delete)
    with w.db.connect() as conn:
        assert set(conn.execute(select(sla_repeats.c.record_id)).scalars()) == {paused.id}
    assert run_pass(w.db, w.registry, now=REPEAT_1 + SECOND)[0].repeated == 1


def test_a_worker_clock_running_ahead_does_not_hide_later_breaches(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL: the scan mark never runs past the database's clock (SQLite's writers share the
    worker's machine and clock)."""
    from datetime import datetime, timezone

    w = reference_world
    if w.db.dialect.name != "postgresql":
        pytest.skip("SQLite: one machine, one clock")
    real = datetime.now(timezone.utc).replace(microsecond=0)
    live = w.registry.get(w.flow)
    run_pass(w.db, w.registry, now=real + timedelta(days=30))  # a worker whose clock is a month ahead
    rec = in_review(w, team, now=real)  # written by a server with the right clock
    due = rec.system["sla_due_at"]
    assert due < real + timedelta(days=20)
    with w.db.begin() as conn:
        assert flow_pass_in(conn, live, due).breached == 1


def test_a_reload_that_stops_repeating_leaves_nothing_filed(reference_world, team, reference_flow_text) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func

    from engine.storage.schema import sla_repeats

    w = reference_world
    in_review(w, team)
    run_pass(w.db, w.registry, now=DUE)  # breached, filed for its repeat
    assert reference_flow_text.count("    repeat: 4h\n") == 1
    quiet = load_flow_text(reference_flow_text.replace("    repeat: 4h\n", ""))
    apply_flow(w.db, quiet, expected=plan_flow(w.db, quiet))
    w.registry.refresh(w.db)
    run_pass(w.db, w.registry, now=DUE + SECOND)
    with w.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sla_repeats)).scalar_one() == 0


def test_a_flow_whose_pass_fails_does_not_silence_the_others(reference_world, team, reference_flow_text,  # type: ignore[no-untyped-def]
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.sla.scheduler as scheduler

    w = reference_world
    other = install_flow(w.db, load_flow_text(reference_flow_text.replace("flow: sales_order", "flow: other_order", 1)))
    w.registry.put(other)
    rec = in_review(w, team)
    real = scheduler.flow_pass_in

    def broken_for_other(conn, live, now):  # type: ignore[no-untyped-def]
        if live.flow.name == "other_order":
            raise RuntimeError("a broken flow")
        return real(conn, live, now)

    monkeypatch.setattr(scheduler, "flow_pass_in", broken_for_other)
    results = {r.flow: r for r in run_pass(w.db, w.registry, now=DUE)}
    assert results["other_order"].failed == "RuntimeError: a broken flow"
    assert results["sales_order"].failed is None and results["sales_order"].breached == 1
    assert {r["event"] for r in list_rows(w.db, record_id=rec.id)} >= {"breach"}
