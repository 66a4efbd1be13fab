"""The live preview of a row's fetched cells: a product picked in an order line shows the price it brings.

On save the engine fills a row's empty fetched cell (`unit_price` with `fetch: product.list_price`) from its
reference (engine/records/row_references.py). The preview does the same on what is typed so far, so the
row's computed amount and the totals use that price before anything is saved, and the empty cell gets a
hint saying which value it will take ("from 产品: 1,200.00"). Nothing is saved; refused references are left
to the save, which says why.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.row_references import prefill_rows
from engine.storage.registry import FlowRegistry
from ui.i18n.flow_text import flow_text
from ui.values import Gettext, display


def hint_id(table: str, index: int, column: str) -> str:
    """The id of the hint beside a fetched cell of the grid (widgets/_table_row.html)."""
    return f"h-{table}-{index}-{column}"


def with_row_fetches(db: Engine, registry: FlowRegistry, flow: CompiledFlow, actor: Actor, values: dict[str, Any],
                     before: Mapping[str, Any] | None, _: Gettext) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """`values` with the rows' empty fetched cells filled as a save would fill them, and the hints
    (element id, text) for those cells."""
    if not any(f.fetch for t in flow.tables.values() for f in t.spec.fields.values()):
        return values, []
    with db.connect().execution_options(readonly=True) as conn:
        filled, _errors = prefill_rows(conn, registry, flow, actor, values, before)
    hints: list[tuple[str, str]] = []
    out = dict(values)
    for name, table in flow.tables.items():
        given, got = values.get(name), filled.get(name)
        if not isinstance(given, list) or not isinstance(got, list):
            continue
        rows = []
        for i, (row, new) in enumerate(zip(given, got)):
            if not isinstance(row, Mapping) or not isinstance(new, Mapping):
                rows.append(row)
                continue
            row = dict(row)
            for c, f in table.spec.fields.items():
                if not f.fetch or row.get(c) not in (None, "") or new.get(c) is None:
                    continue
                try:
                    row[c] = f.coerce(new[c])
                except Exception:  # noqa: BLE001 - the save checks it and says what is wrong
                    continue
                ref = table.spec.fields.get(f.fetch.partition(".")[0])
                source = (flow_text(ref.title, getattr(_, "locale", None), flow) if ref is not None else None) or c
                hints.append((hint_id(name, i, c), _("from {source}: {value}", source=source,
                                                     value=display(f, row[c], flow.timezone, _))))
            rows.append(row)
        out[name] = rows
    return out, hints
