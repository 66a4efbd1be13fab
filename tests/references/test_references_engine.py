"""References at run time on SQLite and PostgreSQL: the one answer for a target one may not pick,
fetched snapshots and their marks, live lookups, the picker's search and what refers to a record."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.records.errors import ValidationFailed
from engine.records.references import backlinks, fetch_statuses, lookup_values, search_targets, shown_targets
from tests.references.conftest import Desk
from tests.references.helpers import set_customer


@pytest.fixture
def people(desk: Desk) -> dict[str, Any]:
    return {"sales": desk.user("sally", "sales"), "sales2": desk.user("sam", "sales"),
            "agent": desk.user("alex", "agent"), "clerk": desk.user("clara", "clerk")}


def customer(desk: Desk, who: Any, name: str, city: str = "Shanghai", credit: str | None = None) -> Any:
    rec = desk.access.create("customer", who, {"name": name, "city": city})
    if credit is not None:
        set_customer(desk.db, desk.registry, rec.id, credit_limit=Decimal(credit))
    return desk.records.get("customer", rec.id)


def refusal(desk: Desk, who: Any, values: dict[str, Any]) -> tuple[str, dict[str, str]]:
    with pytest.raises(ValidationFailed) as info:
        desk.access.create("sales_order", who, values)
    return str(info.value), info.value.field_errors


def test_hidden_filtered_out_and_missing_targets_get_the_same_answer(desk: Desk, people: dict[str, Any]) -> None:
    acme = customer(desk, people["sales"], "ACME Trading")
    gone = customer(desk, people["sales"], "Gone Ltd")
    desk.access.transition("customer", gone.id, "retire", people["sales"], expected_version=gone.version,
                           comment="closed down")
    missing = refusal(desk, people["sales"], {"order_no": "SO-000001", "customer": 999_999})
    retired = refusal(desk, people["sales"], {"order_no": "SO-000001", "customer": gone.id})
    hidden = refusal(desk, people["agent"], {"order_no": "SO-000001", "customer": acme.id})
    assert missing == retired == hidden
    assert missing[1] == {"customer": "there is no such 客户"}
    # the same customer is fine for someone who may see it; an edit to a retired one gets the same answer
    order = desk.access.create("sales_order", people["sales"], {"order_no": "SO-000001", "customer": acme.id})
    assert order.values["customer"] == acme.id
    with pytest.raises(ValidationFailed) as info:
        desk.access.edit("sales_order", order.id, people["sales"], {"customer": gone.id}, expected_version=order.version)
    assert info.value.field_errors == missing[1]
    # a customer retired after it was picked does not stop the order from being edited
    desk.access.transition("customer", acme.id, "retire", people["sales"], expected_version=acme.version, comment="x")
    rec = desk.access.edit("sales_order", order.id, people["sales"], {"total": "10"}, expected_version=order.version)
    assert rec.values["customer"] == acme.id


def test_a_bad_reference_value_is_a_field_error(desk: Desk, people: dict[str, Any]) -> None:
    for bad in ("abc", -1, True, "1.5"):
        with pytest.raises(ValidationFailed) as info:
            desk.access.create("sales_order", people["sales"], {"order_no": "SO-000001", "customer": bad})
        assert set(info.value.field_errors) == {"customer"}


def test_a_fetched_credit_limit_is_a_snapshot_marked_when_the_source_changes(desk: Desk, people: dict[str, Any]) -> None:
    acme = customer(desk, people["sales"], "ACME Trading", credit="5000")
    flow = desk.registry.get("sales_order").flow
    order = desk.access.create("sales_order", people["sales"], {"order_no": "SO-000001", "customer": acme.id})
    assert order.values["credit_limit"] == Decimal("5000.00")

    def marks() -> dict[str, Any]:
        rec = desk.records.get("sales_order", order.id)
        targets = shown_targets(desk.db, desk.registry, flow, rec.values, people["sales"])
        return {k: (v.changed, v.current) for k, v in fetch_statuses(desk.db, desk.registry, flow, order.id, targets).items()}

    assert marks() == {"credit_limit": (False, Decimal("5000.00"))}
    set_customer(desk.db, desk.registry, acme.id, credit_limit=Decimal("8000"))
    rec = desk.records.get("sales_order", order.id)
    assert rec.values["credit_limit"] == Decimal("5000.00")  # a snapshot: the order keeps what was fetched
    assert marks() == {"credit_limit": (True, Decimal("8000.00"))}
    # re-fetch: an edit setting the source's value now; the mark goes away
    rec = desk.access.edit("sales_order", order.id, people["sales"], {"credit_limit": Decimal("8000")},
                           expected_version=rec.version)
    assert rec.values["credit_limit"] == Decimal("8000.00")
    assert marks() == {"credit_limit": (False, Decimal("8000.00"))}
    # an edit by hand to another value keeps that value and is not marked (the source did not change)
    rec = desk.access.edit("sales_order", order.id, people["sales"], {"credit_limit": "100"}, expected_version=rec.version)
    assert rec.values["credit_limit"] == Decimal("100.00")
    assert marks() == {"credit_limit": (False, Decimal("8000.00"))}


def test_changing_the_reference_fetches_again(desk: Desk, people: dict[str, Any]) -> None:
    acme = customer(desk, people["sales"], "ACME Trading", credit="5000")
    beta = customer(desk, people["sales"], "Beta Corp", credit="700")
    order = desk.access.create("sales_order", people["sales"], {"order_no": "SO-000001", "customer": acme.id})
    rec = desk.access.edit("sales_order", order.id, people["sales"], {"customer": beta.id}, expected_version=order.version)
    assert rec.values["credit_limit"] == Decimal("700.00")
    history = desk.records.history("sales_order", order.id)
    assert history[-1]["changes"]["credit_limit"] == ["5000.00", "700.00"]
    # set in the same step as the reference, a value given by hand wins over the copy
    rec = desk.access.edit("sales_order", order.id, people["sales"], {"customer": acme.id, "credit_limit": "1"},
                           expected_version=rec.version)
    assert rec.values["credit_limit"] == Decimal("1.00")


def test_a_lookup_is_live_and_follows_visibility(desk: Desk, people: dict[str, Any]) -> None:
    acme = customer(desk, people["sales"], "ACME Trading", city="Shanghai")
    flow = desk.registry.get("sales_order").flow
    order = desk.access.create("sales_order", people["sales"], {"order_no": "SO-000001", "customer": acme.id})

    def city(who: Any) -> Any:
        targets = shown_targets(desk.db, desk.registry, flow, order.values, who)
        return lookup_values(flow, targets)["customer_city"]

    assert city(people["sales"]) == "Shanghai"
    desk.access.edit("customer", acme.id, people["sales"], {"city": "Suzhou"}, expected_version=acme.version)
    assert city(people["sales"]) == "Suzhou"
    assert city(people["agent"]) is None  # the agent may not see the customer: nothing of it is shown


def test_the_picker_offers_only_visible_records_passing_the_filter(desk: Desk, people: dict[str, Any]) -> None:
    flow = desk.registry.get("sales_order").flow
    names = ["ACME Trading", "Acme Steel", "Beta Corp", "上海华为"]
    made = {n: customer(desk, people["sales"], n) for n in names}
    gone = made["Acme Steel"]
    desk.access.transition("customer", gone.id, "retire", people["sales"], expected_version=gone.version, comment="x")

    def titles(who: Any, q: str) -> list[str]:
        return [t.title for t in search_targets(desk.db, desk.registry, flow, "customer", who, q)]

    assert titles(people["sales"], "acm") == ["ACME Trading"]
    assert titles(people["sales"], "华为") == ["上海华为"]
    assert titles(people["sales"], "") == ["上海华为", "Beta Corp", "ACME Trading"]  # newest first, retired left out
    assert titles(people["agent"], "acm") == []
    assert titles(people["sales"], "zzz") == []
    with pytest.raises(ValidationFailed):
        search_targets(desk.db, desk.registry, flow, "order_no", people["sales"], "a")
    with pytest.raises(ValidationFailed):
        search_targets(desk.db, desk.registry, flow, "customer", people["sales"], "a" * 101)


def test_the_customer_lists_the_orders_referring_to_it_that_the_reader_may_see(desk: Desk, people: dict[str, Any]) -> None:
    acme = customer(desk, people["sales"], "ACME Trading")
    other = customer(desk, people["sales"], "Other")
    mine = desk.access.create("sales_order", people["sales"], {"order_no": "SO-000001", "customer": acme.id})
    desk.access.create("sales_order", people["sales"], {"order_no": "SO-000002", "customer": other.id})

    def listed(who: Any) -> list[str]:
        return [t.title for b in backlinks(desk.db, desk.registry, "customer", acme.id, who) for t in b.records]

    assert listed(people["sales"]) == ["SO-000001"]
    # orders under `roles` visibility: a clerk sees draft orders only once they reach a clerk's state
    assert listed(people["clerk"]) == []
    desk.access.transition("sales_order", mine.id, "submit", people["sales"], expected_version=mine.version)
    assert listed(people["clerk"]) == ["SO-000001"]


def test_a_reload_adds_renames_and_removes_a_reference_field(desk: Desk, people: dict[str, Any]) -> None:
    from engine.evolve.planner import plan_flow
    from engine.language.loader import load_flow_text
    from engine.storage.registry import install_flow

    acme = customer(desk, people["sales"], "ACME Trading")
    order = desk.access.create("sales_order", people["sales"], {"order_no": "SO-000001", "customer": acme.id})
    text = desk.registry.get("sales_order").flow.source_text
    renamed = text.replace("  customer:\n    type: reference", "  client:\n    renamed_from: customer\n    type: reference")
    renamed = renamed.replace("fetch: customer.", "fetch: client.").replace("lookup: customer.", "lookup: client.")
    renamed = renamed.replace("[order_no, customer,", "[order_no, client,").replace("require: [customer]", "require: [client]")
    flow = load_flow_text(renamed)
    plan = plan_flow(desk.db, flow)
    assert not plan.refused, plan.to_dict()
    desk.registry.put(install_flow(desk.db, flow))
    rec = desk.records.get("sales_order", order.id)
    assert rec.values["client"] == acme.id
    second = renamed.replace("  total:", "  backup_customer: {type: reference, flow: customer}\n  total:")
    desk.registry.put(install_flow(desk.db, load_flow_text(second)))
    rec = desk.access.edit("sales_order", order.id, people["sales"], {"total": "1"}, expected_version=rec.version)
    assert rec.values["backup_customer"] is None and rec.values["client"] == acme.id
