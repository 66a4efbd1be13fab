"""Line items on the pages: the inline grid of a table field, its form post, live row values, history.

A table field's cells are posted as `lines.<row>.<field>` (rows numbered from
0 in the order shown; ui/static/app.js renumbers them when a row is added,
removed or moved), beside a hidden `lines` input that says the grid was in
the form (so a grid whose rows were all removed still counts). A row whose
inputs are all empty is left out. Errors come back keyed `lines[2].quantity`
(the engine's keys, engine/records/transitions.py) and are shown in the cell.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from starlette.datastructures import FormData

from engine.language.flow import CompiledFlow
from forms import FieldValueError, TableField
from forms.local_text import pick
from ui.i18n import translate_message
from ui.row_fetch_preview import hint_id
from ui.values import Gettext, display, to_inputs

_CELL = re.compile(r"^([a-z][a-z0-9_]*)\.(\d{1,4})\.([a-z][a-z0-9_]*)$")
MAX_POSTED_ROW = 10_000  # a posted row number beyond this is not a row of any table
MAX_SHOWN_ROW_CHANGES = 20  # row changes worded in one history entry; the rest are counted


@dataclass
class CellView:
    """One cell: quacks like ui.formview.FieldView for the widget templates."""

    name: str
    column: str
    widget: str
    label: str
    required: bool
    editable: bool
    computed: bool
    inputs: list[str]
    display: str
    out_id: str
    error: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    help: str | None = None
    hint_id: str | None = None  # a fetched cell: where the live preview says what it will take (ui/row_fetch_preview.py)
    fetch_now: str | None = None  # a fetched cell whose source changed since: its value there now (ui/reference_view.py)

    @property
    def id(self) -> str:
        return f"f-{self.name}"

    @property
    def value(self) -> str:
        return self.inputs[-1] if self.inputs else ""


@dataclass
class RowView:
    index: int
    cells: list[CellView]
    error: str | None = None


@dataclass
class ColumnView:
    name: str
    label: str
    required: bool
    computed: bool
    numeric: bool


@dataclass
class TableView:
    name: str
    columns: list[ColumnView]
    rows: list[RowView]
    blank: RowView  # the row "Add a row" copies (index -1: renumbered when added)
    min_rows: int | None
    max_rows: int
    editable: bool
    changed_at_source: int = 0  # rows with a fetched cell whose source changed since (ui/reference_view.py)


def _label(f: Any, name: str, lang: str | None) -> str:
    return pick(f.title, None, lang) or name


def table_view(flow: CompiledFlow, name: str, spec: TableField, rows: Any, editable: bool, _: Gettext, *,
               typed: Mapping[str, list[str]] | None = None, errors: Mapping[str, str] | None = None,
               user_options: Mapping[str, list[tuple[str, str]]] | None = None,
               user_names: Mapping[int, str] | None = None) -> TableView:
    """The grid of table field `name` holding `rows` (or what was typed, after an error)."""
    typed = typed or {}
    errors = errors or {}
    lang = flow.spec.language
    tz = flow.timezone
    columns = [ColumnView(c, _label(f, c, lang), f.required and editable, f.compute is not None,
                          f.expression_kind == "number") for c, f in spec.fields.items()]
    values = rows if isinstance(rows, list) else []
    count = len(values)
    if name in typed:  # the rows as typed, after a refused post
        count = int(typed[name][0]) if typed[name] and typed[name][0].isdecimal() else 0

    # What every row's cell of a column shares, worked out once per column (a page may show hundreds of rows).
    shared = []
    for c, f in spec.fields.items():
        cell_editable = editable and f.compute is None
        options = f.widget_options()
        if not options and cell_editable and user_options and f"{name}.{c}" in user_options:
            options = list(user_options[f"{name}.{c}"])
        # a fetched cell may be left empty: the server fills it from its reference (engine/records/row_references.py)
        shared.append((c, f, type(f).widget, _label(f, c, lang), f.required and cell_editable and f.fetch is None, cell_editable,
                       f.compute is not None, options, f.widget_attrs(), bool(f.fetch)))

    def cell_views(i: int, row: Mapping[str, Any] | None) -> list[CellView]:
        out = []
        for c, f, widget, label, required, cell_editable, computed, options, attrs, fetched in shared:
            key = f"{name}.{i}.{c}"
            value = row.get(c) if row else None
            err = errors.get(f"{name}[{i}].{c}") if errors else None
            out.append(CellView(
                name=key, column=c, widget=widget, label=label, required=required, editable=cell_editable,
                computed=computed, inputs=list(typed[key]) if key in typed else to_inputs(f, value, tz),
                display=display(f, value, tz, _, user_names) if not cell_editable else "",
                out_id=f"c-{name}-{i}-{c}", error=translate_message(_, err) if err else None,
                options=options, attrs=attrs, hint_id=hint_id(name, i, c) if fetched and cell_editable else None))
        return out

    shown = []
    for i in range(count):
        row = values[i] if i < len(values) and name not in typed else None
        err = errors.get(f"{name}[{i}]")
        shown.append(RowView(i, cell_views(i, row), translate_message(_, err) if err else None))
    if editable and not shown:
        shown.append(RowView(0, cell_views(0, None)))  # one row to fill in, even without scripts
    return TableView(name, columns, shown, RowView(-1, cell_views(-1, None)), spec.min_rows, spec.row_limit, editable)


# --- the form post -----------------------------------------------------------------------------------

def parse_table_post(flow: CompiledFlow, name: str, spec: TableField, form: FormData,
                     typed: dict[str, list[str]], errors: dict[str, str]) -> list[dict[str, Any]] | None:
    """The rows of table field `name` as posted (canonical values, blank rows left out), or None when a
    cell does not parse (its error noted). `typed` gets what was typed, renumbered as the rows kept."""
    cells: dict[int, dict[str, list[str]]] = {}
    for key in form.keys():
        m = _CELL.match(key)
        if m is None or m.group(1) != name or m.group(3) not in spec.fields:
            continue
        i = int(m.group(2))
        if i <= MAX_POSTED_ROW:
            cells.setdefault(i, {})[m.group(3)] = [v for v in form.getlist(key) if isinstance(v, str)]
    rows: list[dict[str, Any]] = []
    ok = True
    inputs = spec.input_fields
    for i in sorted(cells):
        posted = cells[i]
        if not any(s.strip() for c in inputs for s in posted.get(c, [])):
            continue  # a blank row: not a row
        k = len(rows)
        row: dict[str, Any] = {}
        for c, f in inputs.items():
            strings = posted.get(c, [])
            typed[f"{name}.{k}.{c}"] = strings
            try:
                row[c] = f.parse_form(strings, tz=flow.timezone)
            except FieldValueError as exc:
                errors[f"{name}[{k}].{c}"] = exc.message
                ok = False
        rows.append(row)
    typed[name] = [str(len(rows))]
    return rows if ok else None


# --- live values of the rows (the preview) -------------------------------------------------------------

def row_outputs(flow: CompiledFlow, values: Mapping[str, Any], _: Gettext) -> list[tuple[str, str]]:
    """(output id, text) of every computed cell, for the live preview."""
    out = []
    for name, table in flow.tables.items():
        rows = values.get(name)
        if not isinstance(rows, list) or not table.compute:
            continue
        for i, row in enumerate(rows):
            for c in table.compute:
                out.append((f"c-{name}-{i}-{c}", display(table.spec.fields[c], row.get(c), flow.timezone, _) or "—"))
    return out


# --- history -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowChange:
    label: str
    before: str
    after: str


def _cell_text(flow: CompiledFlow, spec: TableField, c: str, raw: Any, _: Gettext,
               names: Mapping[int, str] | None) -> str:
    f = spec.fields.get(c)
    if f is None or raw is None:
        return "" if raw is None else str(raw)
    try:
        value = f.coerce(raw)
    except Exception:  # noqa: BLE001 - history may hold values of an older revision
        value = raw
    return display(f, value, flow.timezone, _, names)


def _row_text(flow: CompiledFlow, spec: TableField, row: Mapping[str, Any], _: Gettext,
              names: Mapping[int, str] | None) -> str:
    parts = []
    for c in spec.fields:
        text = _cell_text(flow, spec, c, row.get(c), _, names)
        if text:
            parts.append(f"{_label(spec.fields[c], c, flow.spec.language)}: {text}")
    return ", ".join(parts)


def table_changes(flow: CompiledFlow, name: str, spec: TableField, before: Any, after: Any, _: Gettext,
                  names: Mapping[int, str] | None) -> list[RowChange]:
    """A table's [before, after] rows (as history stores them) as rows added, removed and changed field by field."""
    old = [r for r in (before or []) if isinstance(r, dict)]
    new = [r for r in (after or []) if isinstance(r, dict)]
    title = _label(spec, name, flow.spec.language)
    out: list[RowChange] = []

    def key(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(str(row.get(c)) for c in spec.fields)

    matcher = SequenceMatcher(a=[key(r) for r in old], b=[key(r) for r in new], autojunk=False)
    more = 0  # changes past MAX_SHOWN_ROW_CHANGES: counted, not worded (a history entry stays readable and cheap)

    def add(make: Any) -> None:
        nonlocal more
        if len(out) < MAX_SHOWN_ROW_CHANGES:
            out.append(make())
        else:
            more += 1

    lang = flow.spec.language
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            continue
        paired = min(a1 - a0, b1 - b0) if op == "replace" else 0
        for k in range(paired):  # a row changed in place: field by field
            o, n = old[a0 + k], new[b0 + k]
            for c in spec.fields:
                if o.get(c) != n.get(c):
                    add(lambda o=o, n=n, c=c, at=b0 + k + 1: RowChange(
                        f"{title} · {_('row {n}', n=at)} · {_label(spec.fields[c], c, lang)}",
                        _cell_text(flow, spec, c, o.get(c), _, names), _cell_text(flow, spec, c, n.get(c), _, names)))
        for k in range(a0 + paired, a1):
            add(lambda k=k: RowChange(f"{title} · {_('row {n} removed', n=k + 1)}",
                                      _row_text(flow, spec, old[k], _, names), ""))
        for k in range(b0 + paired, b1):
            add(lambda k=k: RowChange(f"{title} · {_('row {n} added', n=k + 1)}", "",
                                      _row_text(flow, spec, new[k], _, names)))
    if more:
        out.append(RowChange(title, "", _("… and {n} more row changes", n=more)))
    return out


_ERROR_KEY = re.compile(r"^([a-z][a-z0-9_]*)\[(\d+)\](?:\.([a-z][a-z0-9_]*))?$")


def table_error_place(views: Mapping[str, Any], key: str, _: Gettext) -> tuple[str, str] | None:
    """(anchor id, label for people) of an error keyed `lines[2].quantity`, for a form's error summary."""
    m = _ERROR_KEY.match(key)
    view = views.get(m.group(1)) if m else None
    if m is None or view is None or view.table is None:
        return None
    i, col = int(m.group(2)), m.group(3)
    label = f"{view.label} · {_('row {n}', n=i + 1)}"
    column = next((c for c in view.table.columns if c.name == col), None)
    if column is not None:
        return f"f-{view.name}.{i}.{col}", f"{label} · {column.label}"
    return view.id, label
