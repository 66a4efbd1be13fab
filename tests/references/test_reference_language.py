"""The flow language of references: the acceptance masters load, and every problem of a set of flows is
located in the file that holds it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.language.flow_set import load_flow_folder
from engine.language.loader import load_flow_text
from engine.language.problems import FlowLoadError
from forms import FIELD_TYPES

FLOWS = Path(__file__).parent / "flows"
ACCEPTANCE = Path("/work/shared/acceptance/order_desk")


def test_the_acceptance_masters_load_unchanged() -> None:
    product = load_flow_text((FLOWS / "product.yaml").read_text(encoding="utf-8"))
    assert product.fields["list_price"].type == "money"
    customer = load_flow_text((FLOWS / "customer.yaml").read_text(encoding="utf-8"))
    assert customer.spec.title == {"zh-CN": "客户档案", "en": "Customers"}
    order = load_flow_folder(FLOWS).good
    assert sorted(f.name for f in order) == ["customer", "product", "sales_order"]
    so = next(f for f in order if f.name == "sales_order")
    assert so.fields["customer"].type == "reference" and "customer_city" not in so.fields
    assert so.spec.lookups["customer_city"].lookup == "customer.city"


@pytest.mark.skipif("file" not in FIELD_TYPES or not ACCEPTANCE.exists(), reason="type: file is the file helper's")
def test_the_acceptance_customer_file_loads_as_it_is() -> None:
    load_flow_text((ACCEPTANCE / "customer.yaml").read_text(encoding="utf-8"))


def _folder(tmp_path: Path, **replace: str) -> Path:
    for name in ("customer.yaml", "product.yaml", "sales_order.yaml"):
        shutil.copy(FLOWS / name, tmp_path / name)
    order = (tmp_path / "sales_order.yaml").read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old.replace("_", " ") in order or old in order
        order = order.replace(old, new)
    (tmp_path / "sales_order.yaml").write_text(order, encoding="utf-8")
    return tmp_path


def _problems(folder: Path) -> list[str]:
    found = load_flow_folder(folder)
    return [str(p).replace(str(folder) + "/", "") for e in found.bad for p in e.problems]


def _line_of(folder: Path, needle: str) -> int:
    lines = (folder / "sales_order.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def test_cross_flow_problems_are_located_in_the_file_that_holds_them(tmp_path: Path) -> None:
    folder = tmp_path
    for name in ("customer.yaml", "product.yaml", "sales_order.yaml"):
        shutil.copy(FLOWS / name, folder / name)
    text = (folder / "sales_order.yaml").read_text(encoding="utf-8")
    text = text.replace("fetch: customer.credit_limit", "fetch: customer.credit_limt")
    text = text.replace("lookup: customer.city", "lookup: customer.town")
    text = text.replace("filter: \"state == 'active'\"", "filter: \"state == 'activ' and rating > 2\"")
    text = text.replace("  total: {type: money,", "  rep: {type: reference, flow: custmer}\n"
                        "  city_copy: {type: integer, fetch: customer.city}\n  total: {type: money,")
    (folder / "sales_order.yaml").write_text(text, encoding="utf-8")
    found = load_flow_folder(folder)
    assert sorted(f.name for f in found.good) == ["customer", "product"]
    problems = _problems(folder)
    filt = _line_of(folder, "filter:")
    assert problems == [
        f"sales_order.yaml:{filt}:13: filter names unknown state 'activ' of flow 'customer' — did you mean 'active'?",
        f"sales_order.yaml:{filt}:13: filter uses unknown field 'rating' of flow 'customer'",
        f"sales_order.yaml:{_line_of(folder, 'credit_limt')}:63: fetch reads unknown field 'credit_limt' of flow 'customer' — "
        "did you mean 'credit_limit'?",
        f"sales_order.yaml:{_line_of(folder, 'customer.town')}:27: lookup reads unknown field 'town' of flow 'customer'",
        f"sales_order.yaml:{_line_of(folder, 'rep:')}:32: reference to unknown flow 'custmer' — did you mean 'customer'?",
        f"sales_order.yaml:{_line_of(folder, 'city_copy')}:37: fetch copies 'city' of flow 'customer' (type text) "
        "into a field of type integer",
    ]


def test_a_reference_to_a_broken_file_says_so(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "customer.yaml").write_text((FLOWS / "customer.yaml").read_text(encoding="utf-8").replace(
        "owner: sales", "owner: salez"), encoding="utf-8")
    problems = _problems(folder)
    assert any(p.startswith("customer.yaml:") and "unknown role 'salez'" in p for p in problems)
    assert any(p.startswith("sales_order.yaml:") and "reference to flow 'customer', whose file has errors" in p
               for p in problems)


BASE = """\
flow: orders
roles: {sales: Sales}
fields:
  customer: {type: reference, flow: customer, filter: "FILTER"}
  note: {type: text}
  credit: {type: money, fetch: FETCH}
  city: {lookup: LOOKUP, title: City}
states:
  draft: {owner: sales, edit: [customer, note, EDIT]}
  done: {final: true}
transitions:
  close: {from: draft, to: done, by: sales}
"""


def _load(**parts: str) -> list[str]:
    text = BASE
    defaults = {"FILTER": "state == 'active'", "FETCH": "customer.credit_limit", "LOOKUP": "customer.city", "EDIT": "credit"}
    for key, value in {**defaults, **parts}.items():
        text = text.replace(key, value)
    try:
        load_flow_text(text)
    except FlowLoadError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_single_flow_problems_of_references_are_located() -> None:
    assert _load() == []
    assert _load(FILTER="state.startswith('a')") == [
        "<flow>:4:55: a reference filter compares fields of the target record with fixed values "
        "(==, !=, <, <=, >, >=, in [...], is none), joined by and, or, not"]
    assert _load(FETCH="note.credit_limit") == [
        "<flow>:6:32: fetch needs a reference field before the dot; 'note' is a text field"]
    assert _load(FETCH="credit_limit") == [
        "<flow>:6:32: fetch names a field of the referenced record as reference_field.field, not 'credit_limit'"]
    assert _load(LOOKUP="custmer.city") == [
        "<flow>:7:18: lookup uses unknown reference field 'custmer' — did you mean 'customer'?"]
    assert _load(EDIT="city") == [
        "<flow>:9:48: 'city' is a lookup (shown from the referenced record); it cannot be edited"]
    assert _load(LOOKUP="customer.city, colour: red") == ["<flow>:7:33: unknown key 'colour' in fields.city"]


def test_filters_in_the_supported_shape_load() -> None:
    for good in ("state in ['active', 'retired'] and credit_limit > 0", "not (city is none)", "0 < credit_limit",
                 "city != none or state != 'retired'"):
        assert _load(FILTER=good) == [], good
