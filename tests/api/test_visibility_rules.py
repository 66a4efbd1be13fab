"""The three visibility rules, on SQLite and PostgreSQL, through engine/records/access.py and engine/records/listing.py."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine.records.access import Access, FieldMode, create_modes, field_modes, may_create, my_states
from engine.records.errors import NotFound
from engine.records.listing import ListQuery, count_by_state, list_records
from tests.api.conftest import ORDER
from tests.conftest import World

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def _world(url: str, text: str, rule: str | None) -> World:
    if rule is not None:
        text = text.replace("\nroles:\n", f"\nvisibility: {rule}\nroles:\n", 1)
    return World(url, text)


def _visible(w: World, actor) -> list[int]:  # type: ignore[no-untyped-def]
    page = list_records(w.db, w.records, w.live, actor, ListQuery(sort="id", limit=200))
    return [r.id for r in page.records]


@pytest.mark.parametrize("rule", ["all", "roles", "own"])
def test_visibility_rules(database_url: str, reference_flow_text: str, rule: str) -> None:
    w = _world(database_url, reference_flow_text, rule)
    try:
        sally, sam = w.user("sally", "sales"), w.user("sam", "sales")
        clerk1, clerk2 = w.user("clerk1", "clerk"), w.user("clerk2", "clerk")
        paul, stranger = w.user("paul", "production"), w.user("stranger")
        admin = w.user("root")
        from engine.people.users import load_actor, update_user
        update_user(w.db, "root", is_admin=True)
        admin = load_actor(w.db, username="root")
        access = Access(w.db, w.registry, w.records)

        def move(rec, name, actor, **kw):  # type: ignore[no-untyped-def]
            return w.records.transition(w.flow, rec.id, name, actor, expected_version=rec.version, now=MONDAY_10, **kw)

        draft = w.records.create(w.flow, sally, ORDER, now=MONDAY_10)
        review = move(w.records.create(w.flow, sally, ORDER, now=MONDAY_10), "submit", sally)
        reviewer = clerk1 if review.assignee_id == clerk1.id else clerk2
        other_clerk = clerk2 if reviewer is clerk1 else clerk1
        second = move(w.records.create(w.flow, sam, ORDER, now=MONDAY_10), "submit", sam)
        # Round robin gave the second review to the other clerk: a manager hands it to the reviewer first
        # (task ownership: only the assignee acts on an assigned record).
        from engine.records.claims import reassign
        version = reassign(w.db, w.registry, w.flow, second.id, admin, reviewer.id, expected_version=second.version)
        second = w.records.get(w.flow, second.id)
        assert second.version == version and second.assignee_id == reviewer.id
        produced = move(second, "approve", reviewer)
        produced = w.records.get(w.flow, produced.id)
        done_production = move(produced, "hold", sam, comment="wait")

        every = sorted([draft.id, review.id, produced.id])
        assert _visible(w, admin) == every
        if rule == "all":  # every signed-in user, a role of the flow or not (master data)
            for who in (sally, sam, clerk1, clerk2, paul, stranger):
                assert _visible(w, who) == every
        elif rule == "roles":
            assert _visible(w, stranger) == []
            assert _visible(w, sally) == every  # drafts and held orders are sales states
            assert _visible(w, other_clerk) == every[1:]  # passed through review (history)
            assert _visible(w, paul) == [produced.id]  # was in production, now on hold
        else:  # own
            assert _visible(w, stranger) == []
            assert _visible(w, sally) == every  # two she created, one waiting in the sales queue (on hold)
            assert _visible(w, sam) == [produced.id]  # not sally's draft: it is assigned to her
            assert _visible(w, reviewer) == [review.id]  # assigned to them (round robin)
            assert _visible(w, other_clerk) == []  # assigned to the other clerk
            assert _visible(w, paul) == []  # moved on to someone else
        # a single read follows the same rule; invisible is NotFound, like unknown
        for who in (sally, sam, clerk1, clerk2, paul, stranger):
            seen = set(_visible(w, who))
            for rec_id in every:
                if rec_id in seen:
                    assert access.get(w.flow, rec_id, who).id == rec_id
                else:
                    with pytest.raises(NotFound):
                        access.get(w.flow, rec_id, who)
        counts = count_by_state(w.db, w.live, admin)
        assert counts["draft"] == 1 and counts["review"] == 1 and counts["on_hold"] == 1 and counts["done"] == 0
        assert done_production.state == "on_hold"
    finally:
        w.db.dispose()


def test_field_modes_and_create(reference_world) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    sales, qc, manager = w.user("sally", "sales"), w.user("quinn", "qc"), w.user("mia", "manager")
    flow = w.live.flow
    assert may_create(flow, sales) and not may_create(flow, qc)
    modes = field_modes(flow, "inspection", qc)
    assert modes["qc_result"] is FieldMode.EDIT and modes["defect_notes"] is FieldMode.EDIT
    assert modes["customer"] is FieldMode.READ and modes["amount"] is FieldMode.READ
    assert set(field_modes(flow, "done", qc).values()) == {FieldMode.READ}
    assert create_modes(flow, sales)["customer"] is FieldMode.EDIT
    assert create_modes(flow, sales)["amount"] is FieldMode.READ  # computed
    assert create_modes(flow, qc)["customer"] is FieldMode.READ
    assert my_states(flow, manager) == {"draft", "review", "production", "on_hold"}


def test_keyset_pages_over_a_nullable_sort(reference_world) -> None:  # type: ignore[no-untyped-def]
    w = reference_world
    sally = w.user("sally", "sales")
    ids = []
    for i in range(7):
        values = {**ORDER, "customer": f"C{i % 3}"}
        rec = w.records.create(w.flow, sally, values, now=MONDAY_10)
        if i % 2:
            rec = w.records.transition(w.flow, rec.id, "submit", sally, expected_version=1, now=MONDAY_10)
        ids.append(rec.id)
    for sort in ("sla_due_at", "-sla_due_at", "customer", "-customer", "-delivery_date", "updated_at"):
        seen, after = [], None
        while True:
            page = list_records(w.db, w.records, w.live, sally, ListQuery(sort=sort, limit=2, after=after))
            seen += [r.id for r in page.records]
            after = page.next_cursor
            if after is None:
                break
        assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen)), sort
        due = [w.records.get(w.flow, i).system["sla_due_at"] for i in seen]
        if "sla_due_at" in sort:
            assert due[-3:] == [None] * 3  # the four submitted records have a clock; empty ones come last
