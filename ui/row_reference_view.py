"""References inside a table's rows on the pages: a product shown by its title, picked from a list.

A row cell of `type: reference` (the product of an order line) would otherwise
show the target's id. Read-only cells show the target's title; editable cells
become a select box of the records the reader may pick (visibility and the row
field's `filter` in SQL, at most PICK_LIMIT, newest first), with the row's
current target kept as an option even when it may no longer be picked (a
product discontinued since the order was entered).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from api.public import ApiServices
from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.records import Records
from engine.records.references import pickable_clause, target_flow, visible_target
from engine.records.transitions import values_from_row
from ui.formview import FieldView
from ui.table_view import CellView

PICK_LIMIT = 500


def _options(svc: ApiServices, ref: Any, actor: Actor) -> list[tuple[str, str]]:
    live = svc.registry.get(target_flow(ref))
    t = live.table
    names = [n for n in (live.flow.title.names if live.flow.title else ()) if n in live.flow.stored_fields]
    q = (select(t.c.id, t.c.state, *(t.c[n] for n in names)).where(pickable_clause(live, ref, actor))
         .order_by(t.c.id.desc()).limit(PICK_LIMIT))
    with svc.db.connect().execution_options(readonly=True) as conn:
        rows = conn.execute(q).mappings().all()
    return [(str(r["id"]), Records.title_of(live.flow, values_from_row(live.flow, r, names), int(r["id"]), r["state"]))
            for r in rows]


def _titles(svc: ApiServices, ref: Any, ids: set[int], actor: Actor) -> dict[int, str]:
    live = svc.registry.get(target_flow(ref))
    out = {}
    with svc.db.connect().execution_options(readonly=True) as conn:
        for rid in sorted(ids):
            target = visible_target(conn, live, rid, actor)
            if target is not None:
                out[rid] = target.title
    return out


def with_row_references(svc: ApiServices, flow: CompiledFlow, fields: list[FieldView], actor: Actor,
                        not_available: str) -> None:
    """Rewrite (in place) the reference cells of every table grid among `fields`."""
    for fv in fields:
        grid = fv.table
        if grid is None or fv.name not in flow.tables:
            continue
        row_fields = flow.tables[fv.name].spec.fields
        refs = {c: f for c, f in row_fields.items() if f.type == "reference" and target_flow(f) in svc.registry}
        if not refs:
            continue
        cells: dict[str, list[CellView]] = {c: [] for c in refs}
        for row in [*grid.rows, grid.blank]:
            for cell in row.cells:
                if cell.column in cells:
                    cells[cell.column].append(cell)
        for c, ref in refs.items():
            ids = {int(cell.value) for cell in cells[c] if cell.value.isdigit()}
            titles = _titles(svc, ref, ids, actor) if ids else {}
            options = _options(svc, ref, actor) if grid.editable else []
            offered = {k for k, _label in options}
            for cell in cells[c]:
                title = titles.get(int(cell.value)) if cell.value.isdigit() else None
                if cell.editable:
                    extra = [(cell.value, title or not_available)] if cell.value and cell.value not in offered else []
                    cell.widget, cell.options = "choice", extra + options
                else:
                    cell.display = title or (not_available if cell.value else "")

