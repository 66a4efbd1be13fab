"""The reference sales-order flow, end to end, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine.records.errors import (
    CommentRequired,
    ConditionFailed,
    Forbidden,
    MissingRequired,
    NotFound,
    ReadOnlyField,
    RecordClosed,
    StaleVersion,
    UnknownTransition,
    ValidationFailed,
    WrongState,
)
from engine.storage.schema import history

# Monday 2026-11-23 10:00 in Shanghai: inside working hours.
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)

ORDER = {"customer": "ACME 有限公司", "product_model": "X-100", "quantity": 10, "unit_price": "1250.50",
         "delivery_date": "2026-12-20", "contact_phone": "+86 21 5555 0101"}


@pytest.fixture
def team(reference_world):  # type: ignore[no-untyped-def]
    w = reference_world
    return {
        "sales": w.user("sally", "sales"),
        "clerk": w.user("clerk1", "clerk"),
        "clerk2": w.user("clerk2", "clerk"),
        "manager": w.user("mia", "manager"),
        "production": w.user("paul", "production"),
        "qc": w.user("quinn", "qc"),
        "warehouse": w.user("walt", "warehouse"),
        "finance": w.user("fiona", "finance"),
    }


def _history_count(w, record_id: int) -> int:  # type: ignore[no-untyped-def]
    with w.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(history).where(history.c.record_id == record_id)).scalar_one()


def move(w, rec, name, actor, **kw):  # type: ignore[no-untyped-def]
    return w.records.transition(w.flow, rec.id, name, actor, expected_version=rec.version, now=MONDAY_10, **kw)


def test_order_from_draft_to_done(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w, t = reference_world, team
    rec = w.records.create(w.flow, t["sales"], ORDER, now=MONDAY_10)
    assert rec.state == "draft" and rec.version == 1
    assert rec.values["amount"] == Decimal("12505.00")  # computed and stored
    assert rec.values["priority"] == "normal"  # default
    assert rec.system["assignee_id"] == t["sales"].id  # assign: creator
    assert rec.title == "ACME 有限公司 · X-100 × 10"

    rec = move(w, rec, "submit", t["sales"])
    assert rec.state == "review" and rec.system["assignee_role"] == "clerk"
    assert rec.system["assignee_id"] in (t["clerk"].id, t["clerk2"].id)  # round robin among clerks
    # 4 working hours from Monday 10:00 (lunch 12-13) → 15:00 Shanghai = 07:00 UTC; warn at 75% → 13:00+... 14:00 local.
    assert rec.system["sla_due_at"] == datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)
    assert rec.system["sla_warn_at"] == datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)

    clerk = t["clerk"] if rec.system["assignee_id"] == t["clerk"].id else t["clerk2"]
    rec = move(w, rec, "approve", clerk)
    assert rec.state == "production" and rec.system["assignee_id"] is None  # waits in the production queue
    rec = move(w, rec, "finish_production", t["production"], values={"planned_finish": "2026-12-10"})
    assert rec.values["planned_finish"].isoformat() == "2026-12-10"
    rec = move(w, rec, "pass_inspection", t["qc"], values={"qc_result": "pass"})
    rec = move(w, rec, "ship", t["warehouse"], values={"carrier": "SF Express", "tracking_no": "SF123"})
    assert rec.state == "collection"
    # collection: 30d elapsed clock
    assert rec.system["sla_due_at"] == datetime(2026, 12, 23, 2, 0, tzinfo=timezone.utc)
    rec = move(w, rec, "close", t["finance"], values={"invoice_no": "INV-1", "paid_amount": "12505.00"})
    assert rec.state == "done" and rec.system["assignee_id"] is None and rec.system["sla_due_at"] is None

    hist = w.history(rec.id)
    assert [h["action"] for h in hist] == ["create"] + ["transition"] * 6
    assert [h["to_state"] for h in hist] == ["draft", "review", "production", "inspection", "shipping", "collection", "done"]
    assert hist[0]["changes"]["customer"] == [None, "ACME 有限公司"]
    assert hist[3]["changes"] == {"planned_finish": [None, "2026-12-10"]}
    assert hist[6]["actor_name"] == "Fiona"
    stored = w.records.get(w.flow, rec.id)
    assert stored.state == "done" and stored.version == 7 and stored.values["paid_amount"] == Decimal("12505.00")


def test_failed_inspection_and_rework(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w, t = reference_world, team
    rec = w.records.create(w.flow, t["sales"], ORDER, now=MONDAY_10)
    rec = move(w, rec, "submit", t["sales"])
    rec = move(w, rec, "approve", t["clerk"])
    rec = move(w, rec, "finish_production", t["production"], values={"planned_finish": "2026-12-10"})
    with pytest.raises(MissingRequired) as info:  # fail needs defect notes
        move(w, rec, "fail_inspection", t["qc"], values={"qc_result": "fail"})
    assert info.value.fields == ["defect_notes"]
    rec = move(w, rec, "fail_inspection", t["qc"], values={"qc_result": "fail", "defect_notes": "划痕"})
    assert rec.state == "production"
    with pytest.raises(ConditionFailed):  # qc_result is still fail
        move(w, w.records.transition(w.flow, rec.id, "finish_production", t["production"],
                                     expected_version=rec.version, now=MONDAY_10),
             "pass_inspection", t["qc"])
    rec = w.records.get(w.flow, rec.id)
    assert rec.state == "inspection"
    rec = move(w, rec, "pass_inspection", t["qc"], values={"qc_result": "pass"})
    assert rec.state == "shipping"
    states = [h["to_state"] for h in w.history(rec.id)]
    assert states == ["draft", "review", "production", "inspection", "production", "inspection", "shipping"]


def test_cancel_needs_a_comment(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w, t = reference_world, team
    rec = w.records.create(w.flow, t["sales"], ORDER, now=MONDAY_10)
    with pytest.raises(CommentRequired):
        move(w, rec, "cancel", t["sales"])
    with pytest.raises(CommentRequired):
        move(w, rec, "cancel", t["sales"], comment="   ")
    rec = move(w, rec, "cancel", t["sales"], comment="客户取消 <script>alert(1)</script>")
    assert rec.state == "cancelled"
    assert w.history(rec.id)[-1]["comment"] == "客户取消 <script>alert(1)</script>"


def test_large_order_needs_the_manager(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w, t = reference_world, team
    rec = w.records.create(w.flow, t["sales"], {**ORDER, "quantity": 100}, now=MONDAY_10)
    assert rec.values["amount"] == Decimal("125050.00")
    rec = move(w, rec, "submit", t["sales"])
    with pytest.raises(ConditionFailed) as info:
        move(w, rec, "approve", t["clerk"])
    # the condition is named by the title of the field it reads, never by its expression
    assert "金额(元)" in info.value.message and "amount < 100000" not in info.value.message
    with pytest.raises(Forbidden):
        move(w, rec, "approve_large", t["clerk"])
    options = {o.name: o for o in w.records.available_transitions(rec, t["clerk"], now=MONDAY_10)}
    assert not options["approve"].allowed and options["approve"].has_role
    assert options["send_back"].allowed and options["send_back"].comment == "required"
    rec = move(w, rec, "approve_large", t["manager"])
    assert rec.state == "production"


def _assert_nothing_written(w, rec) -> None:  # type: ignore[no-untyped-def]
    now = w.records.get(w.flow, rec.id)
    assert (now.state, now.version, now.values) == (rec.state, rec.version, rec.values)
    assert _history_count(w, rec.id) == len(w.history(rec.id))


@pytest.mark.parametrize(
    "case",
    ["wrong_role", "false_condition", "missing_required", "missing_comment", "stale_version", "final_state",
     "wrong_state", "unknown_transition", "read_only_field", "bad_value"],
)
def test_forbidden_moves_write_nothing(reference_world, team, case: str) -> None:  # type: ignore[no-untyped-def]
    w, t = reference_world, team
    rec = w.records.create(w.flow, t["sales"], {**ORDER, "unit_price": None}, now=MONDAY_10)
    before = len(w.history(rec.id))
    if case == "wrong_role":
        with pytest.raises(Forbidden, match="needs one of the roles: 销售"):
            move(w, rec, "submit", t["clerk"])
    elif case == "missing_required":
        with pytest.raises(MissingRequired) as info:
            move(w, rec, "submit", t["sales"])
        assert info.value.fields == ["unit_price"]
    elif case == "false_condition":
        rec = move(w, rec, "submit", t["sales"], values={"unit_price": "100000"})
        before = len(w.history(rec.id))
        with pytest.raises(ConditionFailed):
            move(w, rec, "approve", t["clerk"])
    elif case == "missing_comment":
        with pytest.raises(CommentRequired):
            move(w, rec, "cancel", t["manager"])
    elif case == "stale_version":
        w.records.edit(w.flow, rec.id, t["sales"], {"unit_price": "5"}, expected_version=1, now=MONDAY_10)
        rec = w.records.get(w.flow, rec.id)
        before = len(w.history(rec.id))
        with pytest.raises(StaleVersion) as info:
            w.records.transition(w.flow, rec.id, "submit", t["sales"], expected_version=1, now=MONDAY_10)
        assert info.value.current_version == 2
    elif case == "final_state":
        rec = move(w, rec, "cancel", t["sales"], comment="不要了")
        before = len(w.history(rec.id))
        with pytest.raises(RecordClosed):
            move(w, rec, "submit", t["sales"])
        with pytest.raises(RecordClosed):
            w.records.edit(w.flow, rec.id, t["sales"], {"customer": "x"}, expected_version=rec.version)
    elif case == "wrong_state":
        with pytest.raises(WrongState):
            move(w, rec, "approve", t["clerk"])
    elif case == "unknown_transition":
        with pytest.raises(UnknownTransition):
            move(w, rec, "teleport", t["sales"])
    elif case == "read_only_field":
        with pytest.raises(ReadOnlyField):
            w.records.edit(w.flow, rec.id, t["sales"], {"amount": "1"}, expected_version=1)
        with pytest.raises(ReadOnlyField):
            move(w, rec, "submit", t["sales"], values={"unit_price": "1", "qc_result": "pass"})
    elif case == "bad_value":
        with pytest.raises(ValidationFailed) as info:
            w.records.edit(w.flow, rec.id, t["sales"], {"quantity": "0", "delivery_date": "soon", "customer": ""},
                           expected_version=1)
        assert set(info.value.field_errors) == {"quantity", "delivery_date", "customer"}
    _assert_nothing_written(w, rec)
    assert len(w.history(rec.id)) == before


def test_create_rules(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w, t = reference_world, team
    with pytest.raises(Forbidden):
        w.records.create(w.flow, t["clerk"], ORDER)
    with pytest.raises(ValidationFailed) as info:
        w.records.create(w.flow, t["sales"], {"quantity": "abc"})
    assert {"customer", "product_model", "quantity", "delivery_date"} <= set(info.value.field_errors)
    with pytest.raises(ReadOnlyField):
        w.records.create(w.flow, t["sales"], {**ORDER, "paid_amount": "1"})
    with pytest.raises(ValidationFailed) as info:
        w.records.create(w.flow, t["sales"], {**ORDER, "sales_rep": t["clerk"].id})
    assert "sales_rep" in info.value.field_errors
    rec = w.records.create(w.flow, t["sales"], {**ORDER, "sales_rep": t["sales"].id})
    assert rec.values["sales_rep"] == t["sales"].id
    with pytest.raises(NotFound):
        w.records.get(w.flow, 999999)


def test_edit_writes_a_diff(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w, t = reference_world, team
    rec = w.records.create(w.flow, t["sales"], ORDER, now=MONDAY_10)
    rec = w.records.edit(w.flow, rec.id, t["sales"], {"quantity": 20}, expected_version=1, now=MONDAY_10)
    assert rec.version == 2 and rec.values["amount"] == Decimal("25010.00")
    last = w.history(rec.id)[-1]
    assert last["action"] == "edit"
    assert last["changes"] == {"quantity": [10, 20], "amount": ["12505.00", "25010.00"]}
    same = w.records.edit(w.flow, rec.id, t["sales"], {"quantity": 20}, expected_version=2)
    assert same.version == 2 and len(w.history(rec.id)) == 2  # no change, no history
    with pytest.raises(Forbidden):  # clerks cannot edit drafts
        w.records.edit(w.flow, rec.id, t["clerk"], {"quantity": 1}, expected_version=2)


def test_hold_pauses_and_resume_continues_the_review_clock(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w, t = reference_world, team
    rec = w.records.create(w.flow, t["sales"], ORDER, now=MONDAY_10)
    rec = move(w, rec, "submit", t["sales"])  # review due 15:00 local
    one_hour_later = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)  # 11:00 local, 3h left
    rec = w.records.transition(w.flow, rec.id, "hold", t["manager"], expected_version=rec.version,
                               comment="客户要求暂停", now=one_hour_later)
    assert rec.state == "on_hold" and rec.system["sla_status"] == "paused"
    tuesday_9 = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
    rec = w.records.transition(w.flow, rec.id, "resume", t["sales"], expected_version=rec.version, now=tuesday_9)
    assert rec.state == "review" and rec.system["sla_paused_at"] is None
    # 3 working hours from Tuesday 09:00 → 12:00 local = 04:00 UTC
    assert rec.system["sla_due_at"] == datetime(2026, 11, 24, 4, 0, tzinfo=timezone.utc)


def test_least_loaded_and_round_robin_spread_work(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w, t = reference_world, team
    assignees = []
    for _ in range(4):
        rec = w.records.create(w.flow, t["sales"], ORDER, now=MONDAY_10)
        rec = move(w, rec, "submit", t["sales"])
        assignees.append(rec.system["assignee_id"])
    assert sorted(assignees) == sorted([t["clerk"].id, t["clerk2"].id] * 2)
    assert assignees[0] != assignees[1]


def test_inbox_shows_mine_and_my_roles_queue(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    from engine.records.inbox import inbox

    w, t = reference_world, team
    a = w.records.create(w.flow, t["sales"], ORDER, now=MONDAY_10)
    b = move(w, w.records.create(w.flow, t["sales"], {**ORDER, "customer": "Beta"}, now=MONDAY_10), "submit", t["sales"])
    b = move(w, b, "approve", t["clerk"] if b.system["assignee_id"] == t["clerk"].id else t["clerk2"])
    assert [i.record_id for i in inbox(w.db, w.registry, t["sales"])] == [a.id]
    prod = inbox(w.db, w.registry, t["production"])
    assert [(i.record_id, i.state, i.title) for i in prod] == [(b.id, "production", "Beta · X-100 × 10")]
    assert inbox(w.db, w.registry, t["finance"]) == []


def test_two_users_racing_on_one_version(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w, t = reference_world, team
    rec = w.records.create(w.flow, t["sales"], ORDER, now=MONDAY_10)
    rec = move(w, rec, "submit", t["sales"])
    results: list[object] = []
    barrier = threading.Barrier(2)

    def fire(name: str, actor) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            results.append(w.records.transition(w.flow, rec.id, name, actor, expected_version=rec.version,
                                                comment="退回" if name == "send_back" else None))
        except StaleVersion as exc:
            results.append(exc)

    threads = [threading.Thread(target=fire, args=("approve", t["clerk"])),
               threading.Thread(target=fire, args=("send_back", t["manager"]))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(isinstance(r, StaleVersion) for r in results) == 1
    winners = [r for r in results if not isinstance(r, StaleVersion)]
    assert len(winners) == 1
    hist = w.history(rec.id)
    assert len(hist) == 3  # create, submit, and exactly one of the racing moves
    assert w.records.get(w.flow, rec.id).version == rec.version + 1


def test_a_breach_survives_a_pause(reference_world, team) -> None:  # type: ignore[no-untyped-def]
    w, t = reference_world, team
    rec = move(w, w.records.create(w.flow, t["sales"], ORDER, now=MONDAY_10), "submit", t["sales"])
    due = rec.system["sla_due_at"]  # Monday 15:00 local
    tuesday = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
    rec = w.records.transition(w.flow, rec.id, "hold", t["sales"], expected_version=rec.version, comment="等客户", now=tuesday)
    wednesday = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
    rec = w.records.transition(w.flow, rec.id, "resume", t["sales"], expected_version=rec.version, now=wednesday)
    assert rec.system["sla_due_at"] == due and rec.system["sla_status"] == "breached"
