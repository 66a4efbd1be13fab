"""Data-table views in the engine, on SQLite and PostgreSQL: columns, filters per type, sums over the whole
filtered set, keyset pages under concurrent inserts, the unindexed-filter guard, visibility, saved views
and bulk actions."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.records.bulk_actions import bulk_assign, bulk_transition
from engine.records.data_view import ViewSpec, ViewTooLarge, iter_view_rows, run_view, spec_from_json, view_sums
from engine.records.errors import Forbidden, NotFound, ValidationFailed
from engine.records.saved_views import SavedViews
from engine.records.view_filters import ViewFilter
from forms.message_text import message_in
from tests.datatable.conftest import Desk


def _seed(desk: Desk, n: int = 12) -> tuple[Any, Any, list[Any]]:
    sales = desk.user("sally", "sales")
    cust = desk.records.create("customer", sales, {"name": "ACME 华东"})
    other = desk.records.create("customer", sales, {"name": "Beta"})
    recs = []
    for i in range(n):
        recs.append(desk.order(
            sales, order_no=f"PO-{i:03d}", customer=cust.id if i % 3 else other.id,
            region="north" if i % 2 else "south", amount=f"{10 * i}.25", qty=i, due=f"2026-03-{i + 1:02d}",
            urgent=i % 4 == 0, rep=sales.id if i % 5 == 0 else None, note="rush order" if i % 3 == 0 else "normal",
            lines=[{"item": "bolt", "price": "1.50"}] * (i % 3)))
    return sales, cust, recs


def _nos(page_or_rows: Any) -> list[str]:
    rows = page_or_rows.rows if hasattr(page_or_rows, "rows") else page_or_rows
    return [r.cells["order_no"].value for r in rows]


def test_a_saved_view_with_columns_filters_and_sums_over_the_whole_filtered_set(desk: Desk) -> None:
    sales, cust, recs = _seed(desk)
    spec = ViewSpec(("order_no", "customer", "region", "amount", "qty", "lines@count", "lines_total", "@state"),
                    (ViewFilter("region", "in", ["north"]), ViewFilter("amount", "ge", "20")), "amount")
    views = SavedViews(desk.db)
    saved = views.create(desk.live.flow, sales, "  北方 大单  ", spec)
    assert saved.name == "北方 大单"
    reopened = views.get("purchase", saved.id, sales)
    assert reopened.spec == spec

    seen: list[Any] = []
    after = None
    sums: list[Any] = []
    while True:  # pages of 2: the sums are of every matching record, on every page
        page = run_view(desk.reader(sales), desk.live, reopened.spec, limit=2, after=after, sums=True)
        seen += page.rows
        sums.append((page.sums, page.count))
        after = page.next_cursor
        if after is None:
            break
    expected = [r for r in recs if r.values["region"] == "north" and r.values["amount"] >= 20]
    assert _nos(seen) == [r.values["order_no"] for r in sorted(expected, key=lambda r: r.values["amount"])]
    total = sum((r.values["amount"] for r in expected), Decimal(0))
    assert all(s == ({"amount": total, "qty": sum(r.values["qty"] for r in expected),
                      "lines_total": sum((r.values["lines_total"] for r in expected), Decimal(0))}, len(expected))
               for s in sums)
    first = seen[0].cells
    assert first["customer"].label in ("ACME 华东", "Beta") and first["region"].label == "North"
    assert first["@state"].label == "Draft"
    assert [r.cells["lines@count"].value for r in seen] == [len(r.values["lines"]) for r in
                                                           sorted(expected, key=lambda r: r.values["amount"])]
    zh = run_view(desk.reader(sales, lang="zh-CN"), desk.live, spec, limit=1)
    assert zh.rows[0].cells["region"].label == "北方" and zh.rows[0].cells["@state"].label == "草稿"


FILTERS = [
    (ViewFilter("order_no", "equals", "PO-003"), {3}),
    (ViewFilter("order_no", "starts", "po-01"), {10, 11}),
    (ViewFilter("note", "contains", "RUSH"), {0, 3, 6, 9}),
    (ViewFilter("amount", "eq", "30.25"), {3}),
    (ViewFilter("amount", "ne", "30.25"), set(range(12)) - {3}),
    (ViewFilter("amount", "lt", "20.25"), {0, 1}),
    (ViewFilter("amount", "le", "20.25"), {0, 1, 2}),
    (ViewFilter("amount", "gt", "100.25"), {11}),
    (ViewFilter("amount", "ge", "100.25"), {10, 11}),
    (ViewFilter("amount", "between", ["20", "40.25"]), {2, 3, 4}),
    (ViewFilter("qty", "between", [5, 6]), {5, 6}),
    (ViewFilter("due", "lt", "2026-03-03"), {0, 1}),
    (ViewFilter("due", "between", ["2026-03-11", "2026-03-30"]), {10, 11}),
    (ViewFilter("region", "in", ["north"]), {1, 3, 5, 7, 9, 11}),
    (ViewFilter("urgent", "is", True), {0, 4, 8}),
    (ViewFilter("urgent", "is", "false"), {1, 2, 3, 5, 6, 7, 9, 10, 11}),
    (ViewFilter("rep", "empty"), set(range(12)) - {0, 5, 10}),
    (ViewFilter("rep", "not_empty"), {0, 5, 10}),
    (ViewFilter("@state", "in", ["draft"]), set(range(12))),
    (ViewFilter("@state", "in", ["done"]), set()),
    (ViewFilter("@late", "is", True), set()),
    (ViewFilter("@assignee", "empty"), set()),
]


@pytest.mark.parametrize("flt, expected", FILTERS, ids=[f"{f.field}-{f.op}" for f, _ in FILTERS])
def test_operators_per_type(desk: Desk, flt: ViewFilter, expected: set[int]) -> None:
    sales, cust, recs = _seed(desk)
    rows = list(iter_view_rows(desk.reader(sales), desk.live, ViewSpec(("order_no",), (flt,), "@id"), batch=5))
    assert {int(no[3:]) for no in _nos(rows)} == expected


def test_user_and_reference_filters(desk: Desk) -> None:
    sales, cust, recs = _seed(desk)
    spec = ViewSpec(("order_no",), (ViewFilter("customer", "is", cust.id), ViewFilter("rep", "in", [sales.id])))
    assert sorted(_nos(run_view(desk.reader(sales), desk.live, spec))) == ["PO-005", "PO-010"]
    spec = ViewSpec(("order_no",), (ViewFilter("@assignee", "is", sales.id),))
    assert len(run_view(desk.reader(sales), desk.live, spec).rows) == 12


@pytest.mark.parametrize("raw, key", [
    ({"columns": ["order_no"], "filters": [{"field": "amount", "op": "gt", "value": "abc"}]}, "filters[0]"),
    ({"columns": ["order_no"], "filters": [{"field": "amount", "op": "contains", "value": "1"}]}, "filters[0]"),
    ({"columns": ["order_no"], "filters": [{"field": "nope", "op": "eq", "value": 1}]}, "filters[0]"),
    ({"columns": ["order_no"], "filters": [{"field": "amount", "op": "between", "value": ["9", "1"]}]}, "filters[0]"),
    ({"columns": ["order_no"], "filters": [{"field": "amount", "op": "between", "value": "1"}]}, "filters[0]"),
    ({"columns": ["order_no"], "filters": [{"field": "region", "op": "in", "value": ["east"]}]}, "filters[0]"),
    ({"columns": ["order_no"], "filters": [{"field": "customer", "op": "is", "value": "x"}]}, "filters[0]"),
    ({"columns": ["order_no"], "filters": [{"field": "@state", "op": "in", "value": ["gone"]}]}, "filters[0]"),
    ({"columns": ["order_no"], "filters": ["amount > 3"]}, "filters[0]"),
    ({"columns": ["nope"]}, "columns[0]"),
    ({"columns": []}, "columns"),
    ({"columns": ["order_no"], "sort": "note"}, "sort"),  # not sortable: text is, but note? -> see below
])
def test_malformed_view_input_gets_a_clear_validation_error(desk: Desk, raw: dict[str, Any], key: str) -> None:
    sales, cust, recs = _seed(desk, 2)
    if raw.get("sort") == "note":
        raw = {**raw, "sort": "lines"}  # a table field cannot be sorted
    with pytest.raises(ValidationFailed) as err:
        run_view(desk.reader(sales), desk.live, spec_from_json(raw))
    assert key in err.value.field_errors
    assert "Traceback" not in str(err.value.field_errors[key])


def test_keyset_pages_give_every_record_once_under_concurrent_inserts(desk: Desk) -> None:
    sales, cust, recs = _seed(desk, 30)
    for sort in ("-@id", "amount", "-due", "region", "@created_at"):
        spec = ViewSpec(("order_no",), (), sort)
        seen: list[str] = []
        after = None
        n = 0
        while True:
            page = run_view(desk.reader(sales), desk.live, spec, limit=4, after=after)
            seen += _nos(page)
            n += 1  # someone adds records while the pages are read, with values on both sides of the cursor
            desk.order(sales, order_no=f"NEW-{sort}-{n}", amount=str(5 * n), region="north" if n % 2 else "south",
                       due=f"2026-03-{(n % 28) + 1:02d}")
            after = page.next_cursor
            if after is None:
                break
        assert len(seen) == len(set(seen)), sort
        assert {r.values["order_no"] for r in recs} <= set(seen), sort


def test_an_unindexed_filter_is_noted_and_refused_above_the_scan_limit(desk: Desk) -> None:
    sales, cust, recs = _seed(desk, 12)
    spec = ViewSpec(("order_no",), (ViewFilter("note", "contains", "rush"),))
    page = run_view(desk.reader(sales, scan_limit=50), desk.live, spec)
    assert len(page.rows) == 4 and page.notes and "Note" in message_in(page.notes[0], "en")
    with pytest.raises(ViewTooLarge):
        view_sums(desk.reader(sales, scan_limit=10), desk.live, spec)
    with pytest.raises(ViewTooLarge) as err:
        run_view(desk.reader(sales, scan_limit=10), desk.live, spec)
    text = message_in(err.value.field_errors["filters"], "en")
    assert "Note" in text and "10" in text and "index" in text
    # narrowed by an indexed filter to few records first, the same filter runs
    narrowed = ViewSpec(("order_no",), (ViewFilter("region", "in", ["south"]), ViewFilter("note", "contains", "rush")))
    assert sorted(_nos(run_view(desk.reader(sales, scan_limit=10), desk.live, narrowed))) == ["PO-000", "PO-006"]
    # a sort by an unindexed field is guarded the same way; indexed filters and sorts never are
    with pytest.raises(ViewTooLarge):
        run_view(desk.reader(sales, scan_limit=10), desk.live, ViewSpec(("order_no",), (), "qty"))
    assert not run_view(desk.reader(sales, scan_limit=0), desk.live, ViewSpec(("order_no",), (
        ViewFilter("amount", "ge", "1"),), "-due")).notes


def test_visibility_of_records_and_hidden_fields(desk: Desk) -> None:
    sales, cust, recs = _seed(desk, 6)
    clerk = desk.user("clara", "clerk")
    outsider = desk.user("otto", "outsider")
    for rec in recs[:3]:  # to review, where the cost is shown and set
        desk.access.transition("purchase", rec.id, "submit", sales, expected_version=None)
        desk.access.edit("purchase", rec.id, clerk, {"cost": "7.00"}, expected_version=None)
    spec = ViewSpec(("order_no", "cost", "amount"), (), "@id")
    assert run_view(desk.reader(outsider), desk.live, spec, sums=True).rows == []
    page = run_view(desk.reader(outsider), desk.live, spec, sums=True)
    assert page.count == 0 and page.sums == {"cost": Decimal("0.00"), "amount": Decimal("0.00")}
    page = run_view(desk.reader(clerk), desk.live, spec, sums=True)
    assert sorted(_nos(page)) == ["PO-000", "PO-001", "PO-002"]  # only the records in or past review
    assert page.sums is not None and page.sums["cost"] == Decimal("21.00")
    # the seller sees all six; the cost is hidden in draft: empty there, not summed, not matched
    page = run_view(desk.reader(sales), desk.live, spec, sums=True)
    cost = {r.cells["order_no"].value: r.cells["cost"].value for r in page.rows}
    assert cost["PO-000"] == Decimal("7.00")
    desk.access.transition("purchase", recs[0].id, "approve", clerk, expected_version=None)
    flt = ViewSpec(("order_no",), (ViewFilter("cost", "ge", "0"),))
    assert sorted(_nos(run_view(desk.reader(sales), desk.live, flt))) == ["PO-000", "PO-001", "PO-002"]
    empty = ViewSpec(("order_no",), (ViewFilter("cost", "empty"),))
    assert sorted(_nos(run_view(desk.reader(sales), desk.live, empty))) == ["PO-003", "PO-004", "PO-005"]


def test_saved_views_personal_shared_default_rename_delete(desk: Desk) -> None:
    sales, cust, recs = _seed(desk, 2)
    sales2 = desk.user("sam", "sales")
    boss = desk.user("max", "manager")
    views = SavedViews(desk.db)
    spec = ViewSpec(("order_no", "amount"))
    mine = views.create(desk.live.flow, sales, "Mine", spec, is_default=True)
    with pytest.raises(Forbidden):
        views.create(desk.live.flow, sales, "For all sales", spec, shared_role="sales")
    with pytest.raises(ValidationFailed):
        views.create(desk.live.flow, boss, "Bad role", spec, shared_role="nobody")
    with pytest.raises(ValidationFailed):
        views.create(desk.live.flow, boss, "   ", spec)
    shared = views.create(desk.live.flow, boss, "销售 视图", spec, shared_role="sales", is_default=True)
    assert [v.name for v in views.list("purchase", sales)] == ["Mine", "销售 视图"]
    assert [v.name for v in views.list("purchase", sales2)] == ["销售 视图"]
    assert views.default("purchase", sales) == mine and views.default("purchase", sales2) == shared
    with pytest.raises(NotFound):
        views.get("purchase", mine.id, sales2)
    with pytest.raises(Forbidden):
        views.delete("purchase", shared.id, sales)
    second = views.create(desk.live.flow, sales, "Second", spec, is_default=True)
    assert views.default("purchase", sales) == second and not views.get("purchase", mine.id, sales).is_default
    renamed = views.update(desk.live.flow, second.id, sales, name="Zweite Ansicht")
    assert renamed.name == "Zweite Ansicht" and renamed.is_default
    views.delete("purchase", second.id, sales)
    assert views.default("purchase", sales) == shared
    with pytest.raises(ValidationFailed):  # a definition that does not fit the flow is refused when saved
        views.update(desk.live.flow, mine.id, sales, spec=ViewSpec(("gone",)))


def test_bulk_transition_moves_some_and_refuses_others_with_reasons(desk: Desk) -> None:
    sales = desk.user("sally", "sales")
    clerk = desk.user("clara", "clerk")
    ok1 = desk.order(sales, order_no="A1", amount="10", qty=1)
    too_many = desk.order(sales, order_no="A2", amount="10", qty=500)  # `when` fails
    no_amount = desk.order(sales, order_no="A3", qty=1)  # required amount missing
    ok2 = desk.order(sales, order_no="A4", amount="20")
    other = desk.user("sven", "sales")
    theirs = desk.order(other, order_no="B1", amount="1")  # visible to sally (roles), but assigned to sven
    results = bulk_transition(desk.access, "purchase", [ok1.id, too_many.id, no_amount.id, ok2.id, 999_999],
                              "submit", sales)
    by_id = {r.record_id: r for r in results}
    assert [r.record_id for r in results] == [ok1.id, too_many.id, no_amount.id, ok2.id, 999_999]
    assert by_id[ok1.id].outcome == "moved" and by_id[ok1.id].state == "review"
    assert by_id[ok2.id].outcome == "moved"
    assert by_id[too_many.id].outcome == "refused" and by_id[too_many.id].code == "condition_failed"
    assert by_id[no_amount.id].code == "missing_required" and "金额" in str(by_id[no_amount.id].reason)
    assert by_id[999_999].code == "not_found"
    assert desk.records.get("purchase", too_many.id).state == "draft"
    assert desk.records.get("purchase", ok2.id).state == "review"
    # a role that may not fire it: each refused, nothing moved
    refused = bulk_transition(desk.access, "purchase", [too_many.id, theirs.id], "approve", clerk)
    assert all(not r.ok for r in refused)
    # hand-over: only a manager may; each record checked against its state's owner role
    boss = desk.user("max", "manager")
    clerk2 = desk.user("cleo", "clerk")
    assert all(r.code == "forbidden" for r in bulk_assign(desk.access, desk.db, "purchase", [ok1.id], clerk2.id, sales))
    got = bulk_assign(desk.access, desk.db, "purchase", [ok1.id, ok2.id, too_many.id], clerk2.id, boss)
    assert [r.outcome for r in got] == ["assigned", "assigned", "refused"]  # too_many is a draft: sales owns it
    assert desk.records.get("purchase", ok1.id).assignee_id == clerk2.id
