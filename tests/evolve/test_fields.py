"""Fields on reload: renamed, retired and restored, converted or refused, indexed — never a value lost."""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.evolve import PlanRefused, schema_steps
from tests.evolve.helpers import BASE, Evolving, change, edit

EDIT_LIST = "edit: [customer, code, qty, note]"


def test_a_rename_keeps_the_values_under_the_new_name(world: Evolving) -> None:
    a = world.create({"customer": "ACME", "qty": 3})
    b = world.create({"customer": "Globex"})
    renamed = edit(BASE, ("  customer: {type: text, title: Customer, max_length: 100}",
                          "  client: {type: text, title: Customer, max_length: 100, renamed_from: customer}"),
                   (EDIT_LIST, "edit: [client, code, qty, note]"))
    plan = world.plan(renamed)
    c = change(plan, "field_renamed", "client")
    assert c.count == 2 and c.effect == "data" and "'customer' is renamed" in c.text
    assert not plan.refused and not plan.safe
    world.apply(renamed, plan)
    assert world.get(a.id).values["client"] == "ACME" and world.get(b.id).values["client"] == "Globex"
    assert "customer" not in world.get(a.id).values and "customer" not in world.columns()
    # The file may keep renamed_from: applying it again changes nothing.
    assert world.plan(renamed).unchanged



def test_a_rename_that_also_makes_the_field_required_counts_the_old_column(world: Evolving) -> None:
    a = world.create({"customer": "ACME"})
    world.create({"qty": 1})
    renamed = edit(BASE, ("  customer: {type: text, title: Customer, max_length: 100}",
                          "  client: {type: text, title: Customer, max_length: 100, renamed_from: customer, "
                          "required: true}"),
                   (EDIT_LIST, "edit: [client, code, qty, note]"))
    plan = world.plan(renamed)
    assert change(plan, "field_renamed", "client").count == 1
    assert "1 record have no value yet" in change(plan, "field_required", "client").text
    world.apply(renamed, plan)
    assert world.get(a.id).values["client"] == "ACME"

def test_rolling_a_rename_back_brings_the_values_back(world: Evolving) -> None:
    a = world.create({"customer": "ACME"})
    renamed = edit(BASE, ("  customer: {type: text, title: Customer, max_length: 100}",
                          "  client: {type: text, max_length: 100, renamed_from: customer}"),
                   (EDIT_LIST, "edit: [client, code, qty, note]"))
    world.apply(renamed)
    world.apply(BASE)  # the earlier revision's text: a rollback
    assert world.get(a.id).values["customer"] == "ACME"
    assert world.revisions() == [1, 2, 3]


def test_a_removed_field_is_kept_hidden_and_comes_back(world: Evolving) -> None:
    a = world.create({"customer": "ACME", "note": "call back on Monday"})
    without = edit(BASE, ("  note: {type: longtext}\n", ""), (EDIT_LIST, "edit: [customer, code, qty]"))
    plan = world.plan(without)
    retired = change(plan, "field_retired", "note")
    assert retired.count == 1 and "kept" in retired.text
    world.apply(without, plan)
    assert "note" not in world.get(a.id).values
    assert world.raw("note") == {a.id: "call back on Monday"}  # the column and its value are still there
    b = world.create({"customer": "Initech"})
    back = world.plan(BASE)
    assert change(back, "field_restored", "note").count == 1
    world.apply(BASE, back)
    assert world.get(a.id).values["note"] == "call back on Monday"
    assert world.get(b.id).values["note"] is None


def test_a_refused_narrowing_names_the_records_and_leaves_the_table_untouched(world: Evolving) -> None:
    long = world.create({"code": "ABCDEFGHIJ"})
    world.create({"code": "ABC"})
    narrow = edit(BASE, ("  code: {type: text, max_length: 100}", "  code: {type: text, max_length: 5}"))
    before = world.columns(), world.indexes(), world.live_revision()
    plan = world.plan(narrow)
    problem = change(plan, "type_refused", "code")
    assert plan.refused and problem.effect == "refused" and problem.count == 1
    assert problem.examples == (f"record #{long.id}: 'ABCDEFGHIJ' — must be at most 5 characters long (has 10)",)
    with pytest.raises(PlanRefused, match="would not convert"):
        world.apply(narrow)
    assert (world.columns(), world.indexes(), world.live_revision()) == before
    assert world.get(long.id).values["code"] == "ABCDEFGHIJ"


def test_text_to_integer_is_refused_while_a_value_is_not_a_number(world: Evolving) -> None:
    world.create({"code": "12"})
    bad = world.create({"code": "twelve"})
    to_int = edit(BASE, ("  code: {type: text, max_length: 100}", "  code: {type: integer, index: true}"))
    plan = world.plan(to_int)
    assert change(plan, "type_refused", "code").examples[0].startswith(f"record #{bad.id}: 'twelve'")
    world.records.edit(world.name, bad.id, world.actor, {"code": "12.0"}, expected_version=None)
    plan = world.plan(to_int)  # text "12.0" is refused as a clerk's "12.0" would be: not written as a whole number
    assert change(plan, "type_refused", "code").examples[0].startswith(f"record #{bad.id}: '12.0'")
    world.records.edit(world.name, bad.id, world.actor, {"code": "12"}, expected_version=None)
    plan = world.plan(to_int)
    assert not plan.refused and change(plan, "type_changed", "code").effect == "data"
    world.apply(to_int, plan)
    assert world.get(bad.id).values["code"] == 12
    assert "ix_flow_orders_code" in world.indexes()


def test_widenings_apply(world: Evolving) -> None:
    a = world.create({"code": "ABCDEFGHIJ", "qty": 7})
    wider = edit(BASE, ("  code: {type: text, max_length: 100}", "  code: {type: text, max_length: 400}"),
                 ("  qty: {type: integer}", "  qty: {type: decimal, scale: 2}"))
    plan = world.plan(wider)
    assert change(plan, "type_changed", "code").effect == "safe"  # the stored text stays as it is
    assert change(plan, "type_changed", "qty").count == 1
    world.apply(wider, plan)
    rec = world.get(a.id)
    assert rec.values["code"] == "ABCDEFGHIJ" and rec.values["qty"] == Decimal("7.00")
    world.records.edit(world.name, a.id, world.actor, {"code": "X" * 300, "qty": "2.25"}, expected_version=None)
    assert world.get(a.id).values["qty"] == Decimal("2.25")


def test_adding_an_indexed_field(world: Evolving) -> None:
    a = world.create({"customer": "ACME"})
    indexed = edit(BASE, ("  note: {type: longtext}\n", "  note: {type: longtext}\n  region: {type: text, index: true}\n"),
                   (EDIT_LIST, "edit: [customer, code, qty, note, region]"))
    plan = world.plan(indexed)
    assert change(plan, "field_added", "region").effect == "safe"
    assert "1 record" in change(plan, "index_added", "region").text
    assert plan.safe
    world.apply(indexed, plan)
    assert "ix_flow_orders_region" in world.indexes()
    assert world.get(a.id).values["region"] is None
    assert world.create({"region": "north"}).values["region"] == "north"


def test_a_unique_field_is_refused_while_values_repeat(world: Evolving) -> None:
    world.create({"code": "A1"})
    world.create({"code": "A1"})
    unique = edit(BASE, ("  code: {type: text, max_length: 100}", "  code: {type: text, max_length: 100, unique: true}"))
    problem = change(world.plan(unique), "unique_refused", "code")
    assert problem.examples == ("'A1' is used by 2 records",)


def test_sqlite_without_native_alter_copies_the_table_in_batch_mode(sqlite_url: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema_steps, "NATIVE_DROP_COLUMN", False)
    monkeypatch.setattr(schema_steps, "NATIVE_RENAME_COLUMN", False)
    world = Evolving(sqlite_url)
    try:
        a = world.create({"customer": "ACME", "code": "42"})
        changed = edit(BASE, ("  customer: {type: text, title: Customer, max_length: 100}",
                              "  client: {type: text, max_length: 100, renamed_from: customer}"),
                       ("  code: {type: text, max_length: 100}", "  code: {type: integer}"),
                       (EDIT_LIST, "edit: [client, code, qty, note]"))
        world.apply(changed)
        assert world.get(a.id).values["client"] == "ACME" and world.get(a.id).values["code"] == 42
    finally:
        world.close()


def test_a_rollback_over_two_renames_finds_the_values(world: Evolving) -> None:
    a = world.create({"customer": "ACME"})
    first = edit(BASE, ("  customer: {type: text, title: Customer, max_length: 100}",
                        "  client: {type: text, max_length: 100, renamed_from: customer}"),
                 (EDIT_LIST, "edit: [client, code, qty, note]"))
    second = edit(first, ("  client: {type: text, max_length: 100, renamed_from: customer}",
                          "  buyer: {type: text, max_length: 100, renamed_from: client}"),
                  ("edit: [client, code, qty, note]", "edit: [buyer, code, qty, note]"))
    world.apply(first)
    world.apply(second)
    assert world.get(a.id).values["buyer"] == "ACME"
    back = world.plan(BASE)
    assert change(back, "field_renamed", "customer").text.startswith("Field 'buyer' is renamed to 'Customer'")
    world.apply(BASE, back)
    assert world.get(a.id).values["customer"] == "ACME"


def test_a_field_that_comes_back_with_another_type_is_checked_against_its_kept_values(world: Evolving) -> None:
    a = world.create({"note": "a rather long note"})
    world.apply(edit(BASE, ("  note: {type: longtext}\n", ""), (EDIT_LIST, "edit: [customer, code, qty]")))
    short = edit(BASE, ("  note: {type: longtext}", "  note: {type: text, max_length: 5}"))
    assert change(world.plan(short), "type_refused", "note").count == 1
    fits = edit(BASE, ("  note: {type: longtext}", "  note: {type: text, max_length: 500}"))
    plan = world.plan(fits)
    assert change(plan, "field_restored", "note").count == 1 and not plan.refused
    world.apply(fits, plan)
    assert world.get(a.id).values["note"] == "a rather long note"


def test_more_decimal_places_keep_every_amount(world: Evolving) -> None:
    two = edit(BASE, ("  qty: {type: integer}", "  qty: {type: decimal, scale: 2}"))
    world.apply(two)
    a = world.create({"qty": "12.34"})
    three = edit(BASE, ("  qty: {type: integer}", "  qty: {type: decimal, scale: 3}"))
    world.apply(three)
    assert world.get(a.id).values["qty"] == Decimal("12.340")
    back = world.plan(two)
    assert not back.refused  # 12.340 has two places that carry information
    world.records.edit(world.name, a.id, world.actor, {"qty": "1.125"}, expected_version=None)
    assert change(world.plan(two), "type_refused", "qty").examples[0].endswith("must have at most 2 decimal places")
