"""`enter` reminders are written in the transition's own transaction, to users and e-mail fields."""
from __future__ import annotations

import pytest

from engine.delivery.outbox import epoch, list_rows
from engine.records.errors import CommentRequired
from tests.conftest import World
from tests.sla.conftest import MONDAY_10, ORDER

EXTRA = """
  - on: enter
    states: [review]
    notify: [owner, creator, field:sales_rep, field:customer_email]
    via: [inbox, email, wecom]
"""


@pytest.fixture
def world(database_url, reference_flow_text):  # type: ignore[no-untyped-def]
    text = reference_flow_text.replace(
        "  contact_phone: {type: phone, title: 联系电话}",
        "  contact_phone: {type: phone, title: 联系电话}\n  customer_email: {type: email, title: 客户邮箱}")
    text = text.replace("delivery_date, priority, special_requirements]",
                        "delivery_date, priority, special_requirements, customer_email]")
    w = World(database_url, text + EXTRA)
    yield w
    w.db.dispose()


def test_enter_reminders_are_written_with_the_transition(world) -> None:  # type: ignore[no-untyped-def]
    w = world
    sally, rep = w.user("sally", "sales"), w.user("rex", "sales")
    carol, cleo = w.user("carol", "clerk"), w.user("cleo", "clerk")
    rec = w.records.create(w.flow, sally, {**ORDER, "sales_rep": rep.id, "customer_email": "buyer@acme.example"},
                           now=MONDAY_10)
    assert list_rows(w.db) == []
    with pytest.raises(CommentRequired):  # a refused transition writes nothing
        w.records.transition(w.flow, rec.id, "cancel", sally, expected_version=rec.version, now=MONDAY_10)
    w.records.transition(w.flow, rec.id, "submit", sally, expected_version=rec.version, now=MONDAY_10)
    rows = list_rows(w.db, limit=100)
    got = sorted((r["recipient"], r["channel"]) for r in rows)
    people = [f"u{i}" for i in (sally.id, rep.id, carol.id, cleo.id)]
    expected = sorted([(p, c) for p in people for c in ("inbox", "email")]
                      + [("a:buyer@acme.example", "email"), ("all", "wecom")])
    assert got == expected
    assert {r["event"] for r in rows} == {"enter"} and {r["state"] for r in rows} == {"review"}
    started = epoch(MONDAY_10)
    assert f"sales_order:{rec.id}:review@{started}:enter:a:buyer@acme.example:email" in {r["dedupe_key"] for r in rows}


def test_two_entries_into_one_state_within_a_second_get_their_own_reminders(world) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    w = world
    sally, carol = w.user("sally", "sales"), w.user("carol", "clerk")
    rec = w.records.create(w.flow, sally, ORDER, now=MONDAY_10)
    first = w.records.transition(w.flow, rec.id, "submit", sally, expected_version=1, now=MONDAY_10)
    back = w.records.transition(w.flow, rec.id, "send_back", carol, expected_version=first.version,
                                comment="price", now=MONDAY_10 + timedelta(milliseconds=300))
    w.records.transition(w.flow, rec.id, "submit", sally, expected_version=back.version,
                         now=MONDAY_10 + timedelta(milliseconds=600))
    keys = [r["dedupe_key"] for r in list_rows(w.db, limit=100) if r["recipient"] == f"u{carol.id}"
            and r["channel"] == "inbox"]
    assert len(keys) == 2 and len(set(keys)) == 2  # the second review is a stage of its own
