"""References inside table rows: checked, and their `fetch:` fields filled, before a step is decided.

A row such as `{product: 12, quantity: 2}` of `lines` (sales_order.yaml) names a
product; its `unit_price` has `fetch: product.list_price` and is `required`. The
row must be complete when the table value is checked, so this step runs first,
on the values as given:

* every row reference the step brings in (a target not already in the rows
  before) must be a record the actor may see and that passes the row field's
  `filter`, else the row field gets the one answer for a missing target
  ("there is no such 产品"), as for a reference outside a table;
* a row's fetched field left empty is filled from its reference's target (a
  snapshot: later changes of the product's price do not touch the order; a
  price given in the row wins).

Rows already stored keep their references unchecked: a product discontinued
since does not make an old order impossible to edit.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.read_memo import ReadMemo
from engine.records.references import no_such, target_flow, visible_target
from engine.storage.registry import FlowRegistry
from forms.base import FieldSpecBase


def _as_id(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        return int(raw.strip())
    return None  # the table's own check says what is wrong with it


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _row_refs(row_fields: Mapping[str, FieldSpecBase]) -> dict[str, FieldSpecBase]:
    return {n: f for n, f in row_fields.items() if f.type == "reference"}


def prefill_rows(conn: Connection, registry: FlowRegistry, flow: CompiledFlow, actor: Actor,
                 given: Mapping[str, Any], before: Mapping[str, Any] | None = None, memo: ReadMemo | None = None
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """`given` with its rows' fetched fields filled in, and the errors of refused row references
    (keyed like the table's own errors: `lines[2].product`; `memo`: engine/records/read_memo.py)."""
    out = dict(given)
    errors: dict[str, str] = {}
    for name, table in flow.tables.items():
        rows = given.get(name)
        row_fields = table.spec.fields
        refs = _row_refs(row_fields)
        if not refs or not isinstance(rows, list):
            continue
        stored = [r for r in ((before or {}).get(name) or []) if isinstance(r, Mapping)]
        filled: list[Any] = []
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                filled.append(row)
                continue
            row = dict(row)
            for ref_name, ref in refs.items():
                rid = _as_id(row.get(ref_name))
                tname = target_flow(ref)
                if rid is None or tname not in registry:
                    continue
                known = any(r.get(ref_name) == rid for r in stored)
                fetches = {n: f.fetch.partition(".")[2] for n, f in row_fields.items()
                           if f.fetch and f.fetch.partition(".")[0] == ref_name and _empty(row.get(n))}
                if known and not fetches:
                    continue
                live = registry.get(tname)
                target = visible_target(conn, live, rid, actor, None if known else ref, memo)
                if target is None:
                    if not known:
                        errors[f"{name}[{i}].{ref_name}"] = no_such(ref, ref_name, flow.spec.language)
                    continue
                for field_name, source in fetches.items():
                    source_field = live.flow.fields.get(source)
                    value = target.values.get(source)
                    if source_field is not None and value is not None:
                        row[field_name] = source_field.to_json(value)
            filled.append(row)
        out[name] = filled
    return out, errors
