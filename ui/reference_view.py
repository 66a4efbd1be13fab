"""References on the pages: the target's title as a link, the picker's settings, lookups shown live,
the mark of a fetched value whose source changed since, and what refers to a record."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.public import ApiServices
from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.references import (
    Backlinks, Target, backlinks, fetch_statuses, lookup_spec, lookup_values, reference_fields, shown_targets,
)
from engine.records.row_fetches import row_fetch_statuses
from forms.local_text import pick
from ui.formview import FieldView
from ui.row_reference_view import with_row_references
from ui.values import Gettext, display


def record_href(target: Target) -> str:
    return f"/records/{target.flow}/{target.id}"


def with_references(svc: ApiServices, flow: CompiledFlow, fields: list[FieldView], values: Mapping[str, Any],
                    actor: Actor, _: Gettext, *, record_id: int | None = None,
                    typed: Mapping[str, list[str]] | None = None) -> list[FieldView]:
    """`fields` (as ui/formview.py built them) with references shown as links to their targets, the
    picker's settings on editable ones, lookups added after their reference, fetched values marked."""
    with_row_references(svc, flow, fields, actor, _("(not available)"))  # products in order lines, by title
    if record_id is not None and flow.has_row_references:
        mark_row_fetches(svc, flow, fields, values, actor, _, record_id, typed)
    refs = reference_fields(flow)
    if not refs:
        return fields
    lang = getattr(_, "locale", None)
    shown = {f.name for f in fields}
    targets = shown_targets(svc.db, svc.registry, flow, {k: v for k, v in values.items() if k in shown}, actor)
    lookups = lookup_values(flow, targets)
    marks = fetch_statuses(svc.db, svc.registry, flow, record_id, targets) if record_id is not None else {}
    out: list[FieldView] = []
    for fv in fields:
        out.append(fv)
        if fv.name in refs:
            target = targets.get(fv.name)
            rid = values.get(fv.name)
            fv.display = target.title if target is not None else (_("(not available)") if rid is not None else "")
            fv.href = record_href(target) if target is not None else None
            fv.attrs["options_url"] = f"/records/{flow.name}/pick/{fv.name}"
            fv.attrs["picked_title"] = "" if typed and fv.name in typed else fv.display
            for name, lk in flow.spec.lookups.items():
                if lk.reference == fv.name:
                    out.append(_lookup_view(svc, flow, name, lookups.get(name), _, lang))
        mark = marks.get(fv.name)
        if mark is not None and mark.changed:
            fv.attrs["fetch_changed"] = True
            spec = flow.fields[fv.name]
            fv.attrs["fetch_now"] = display(spec, mark.current, flow.timezone, _) or "—"
            fv.attrs["refetch_value"] = "" if mark.current is None else (spec.form_inputs(mark.current, flow.timezone) or [""])[-1]
    return out


def mark_row_fetches(svc: ApiServices, flow: CompiledFlow, fields: list[FieldView], values: Mapping[str, Any],
                     actor: Actor, _: Gettext, record_id: int, typed: Mapping[str, list[str]] | None) -> None:
    """Mark (in place) the grid cells whose fetched value changed at the source since it was copied, with the
    source's value now; a grid shown as typed after a refused post is left unmarked (its rows may have moved)."""
    grids = {fv.name: fv.table for fv in fields if fv.table is not None and fv.name in flow.tables
             and not (typed and fv.name in typed)}
    if not grids:
        return
    with svc.db.connect().execution_options(readonly=True) as conn:
        found = row_fetch_statuses(conn, svc.registry, flow, record_id, values, actor, list(grids))
    changed_rows: dict[str, set[int]] = {}
    for status in found.values():
        grid = grids[status.table]
        if status.row >= len(grid.rows):
            continue
        for cell in grid.rows[status.row].cells:
            if cell.column == status.column:
                spec = flow.tables[status.table].spec.fields[status.column]
                cell.fetch_now = display(spec, status.current, flow.timezone, _) or "—"
                changed_rows.setdefault(status.table, set()).add(status.row)
    for name, rows in changed_rows.items():
        grids[name].changed_at_source = len(rows)


def _lookup_view(svc: ApiServices, flow: CompiledFlow, name: str, value: Any, _: Gettext, lang: str | None) -> FieldView:
    lk = flow.spec.lookups[name]
    spec = lookup_spec(svc.registry, flow, name)
    text = "" if value is None or spec is None else display(spec, value, flow.timezone, _)
    return FieldView(name=name, widget="text", label=pick(lk.title, lang, flow.spec.language) or name,
                     help=pick(lk.help, lang, flow.spec.language), required=False, editable=False, computed=False,
                     inputs=[], display=text, attrs={"lookup": True})


@dataclass(frozen=True)
class BacklinkView:
    title: str
    field: str
    flow: str
    records: list[Target]
    more: bool


def backlink_views(svc: ApiServices, flow_name: str, record_id: int, actor: Actor, _: Gettext) -> list[BacklinkView]:
    """What refers to the record, per referring flow and field, as the reader may see it."""
    lang = getattr(_, "locale", None)
    found: list[Backlinks] = backlinks(svc.db, svc.registry, flow_name, record_id, actor)
    return [BacklinkView(pick(b.flow.spec.title, lang, b.flow.spec.language) or b.flow.name,
                         pick(b.flow.fields[b.field].title, lang, b.flow.spec.language) or b.field,
                         b.flow.name, b.records, b.more) for b in found]
