"""What a printed record shows, as plain data: only what its reader may see, in the reader's language.

Everything handed to a layout is a dict, a list, text, a number or a date: no engine object, so a
flow's template (sandboxed, engine/language/print_templates.py) has nothing to reach through.
Visible means what the record page shows the same reader: the record only if they may see it
(Access.get), without the fields its state hides (`hide:`) or its conditions hide (`show_if`),
references shown by the titles of targets the reader may see.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from engine.language.flow import CompiledFlow
from engine.language.print_spec import PrintSpec
from engine.printing.words import PrintGettext, words
from engine.records.access import Access, visible_clause
from engine.records.actor import Actor
from engine.records.conditions import field_states
from engine.records.records import Record, Records
from engine.records.transitions import values_from_row
from engine.storage.registry import FlowRegistry
from engine.storage.schema import users
from forms import FieldSpecBase
from forms.local_text import pick

NUMERIC = ("integer", "number", "decimal", "money")


@dataclass(frozen=True)
class Column:
    id: str
    label: str
    numeric: bool
    totalled: bool


@dataclass
class Table:
    """A table field's rows as the reader sees them: display texts, and the amounts of totalled columns."""

    id: str
    label: str
    columns: list[Column]
    rows: list[dict[str, str]]
    amounts: list[dict[str, Decimal]]
    fields: dict[str, FieldSpecBase]
    totals: dict[str, str] = field(default_factory=dict)

    def total_text(self, amounts: Iterable[Mapping[str, Decimal]]) -> dict[str, str]:
        """Display texts of the sums of the totalled columns over `amounts`."""
        sums: dict[str, Decimal] = {}
        for row in amounts:
            for name, value in row.items():
                sums[name] = sums.get(name, Decimal(0)) + value
        return {c.id: _show(self.fields[c.id], _as_value(self.fields[c.id], sums.get(c.id, Decimal(0))))
                for c in self.columns if c.totalled}


@dataclass
class PrintData:
    """One record for one reader: `context` is what a template sees; `tables` feed the paged layout."""

    flow: CompiledFlow
    layout: PrintSpec
    lang: str
    context: dict[str, Any]
    tables: list[Table]



def _show(f: FieldSpecBase, value: Any, names: Mapping[int, str] | None = None, tz: Any = timezone.utc,
          _: PrintGettext | None = None) -> str:
    if value is None or value == [] or value == "":
        return ""
    try:
        return f.display_text(value, tz, _ or PrintGettext(None), names)
    except Exception:  # noqa: BLE001 - a value of an older revision prints as it is
        return str(value)


def _as_value(f: FieldSpecBase, total: Decimal) -> Any:
    return int(total) if f.type == "integer" else total


def totalled(f: FieldSpecBase) -> bool:
    """A column with a total: a computed amount (money or number), or a count (integer); a unit price is not summed."""
    if f.type == "integer":
        return True
    return f.type in NUMERIC and f.compute is not None


def _plain(value: Any) -> Any:
    """A value a template may hold: text, number, date, list or dict of those."""
    if value is None or isinstance(value, (str, int, float, Decimal, bool, date)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _names(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = conn.execute(select(users.c.id, users.c.display_name, users.c.username).where(users.c.id.in_(sorted(ids))))
    return {int(r.id): str(r.display_name or r.username) for r in rows}


def _reference_titles(conn: Connection, registry: FlowRegistry, actor: Actor,
                      wanted: Mapping[str, set[int]]) -> dict[tuple[str, int], str]:
    """(target flow, id) → title, for the targets the reader may see (others print as '#id')."""
    out: dict[tuple[str, int], str] = {}
    for target, ids in wanted.items():
        if not ids or target not in registry:
            continue
        live = registry.get(target)
        t = live.table
        names = [n for n in (live.flow.title.names if live.flow.title else ()) if n in live.flow.stored_fields]
        q = select(t.c.id, t.c.state, *(t.c[n] for n in names)).where(t.c.id.in_(sorted(ids)), visible_clause(live, actor))
        for row in conn.execute(q).mappings():
            values = values_from_row(live.flow, row, names)
            out[(target, int(row["id"]))] = Records.title_of(live.flow, values, int(row["id"]), row["state"])
    return out


def _people_and_targets(fields: Mapping[str, FieldSpecBase], value_maps: Iterable[Mapping[str, Any]],
                        people: set[int], targets: dict[str, set[int]]) -> None:
    for values in value_maps:
        for name, f in fields.items():
            v = values.get(name)
            if f.type == "user" and isinstance(v, int):
                people.add(v)
            elif f.type == "reference" and isinstance(v, int):
                targets.setdefault(str(getattr(f, "flow", "")), set()).add(v)


def _local(at: Any, flow: CompiledFlow) -> str:
    if not isinstance(at, datetime):
        return ""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return f"{at.astimezone(flow.timezone):%Y-%m-%d %H:%M}"


def shown_fields(flow: CompiledFlow, rec: Record, actor: Actor, now: datetime) -> list[str]:
    """The fields the reader sees on the record page: not hidden by the state, nor by a `show_if`."""
    hidden = set(flow.hidden_fields(rec.state))
    if flow.conditions:
        ctx = {**rec.values, "user": actor.expression_view(), "now": now, "today": now.astimezone(flow.timezone).date()}
        hidden |= field_states(flow, ctx).hidden
    return [n for n in flow.fields if n not in hidden]


def gather(access: Access, flow_name: str, record_id: int, actor: Actor, layout: PrintSpec, lang: str | None,
           now: datetime | None = None) -> PrintData:
    """The record as `actor` may see it (NotFound when they may not), ready for `layout`."""
    now = now or datetime.now(timezone.utc)
    rec = access.get(flow_name, record_id, actor)
    flow = access.live(flow_name).flow
    lang = lang or actor.locale or flow.spec.language or "en"
    _ = PrintGettext(lang)
    w = words(lang)
    shown = shown_fields(flow, rec, actor, now)
    tables_shown = [n for n in shown if n in flow.tables]
    plain = [n for n in shown if n not in flow.tables]
    people: set[int] = {v for v in (rec.system.get("created_by"),) if isinstance(v, int)}
    targets: dict[str, set[int]] = {}
    _people_and_targets({n: flow.fields[n] for n in plain}, [rec.values], people, targets)
    for n in tables_shown:
        _people_and_targets(flow.tables[n].spec.fields, rec.values.get(n) or [], people, targets)
    history = access.history(flow_name, record_id, actor)
    with access.records.executor.read() as conn:
        names = _names(conn, people)
        titles = _reference_titles(conn, access.registry, actor, targets)

    def text(f: FieldSpecBase, v: Any) -> str:
        if f.type == "reference" and isinstance(v, int):
            return titles.get((str(getattr(f, "flow", "")), v), f"#{v}")
        return _show(f, v, names, flow.timezone, _)

    def label(name: str, f: FieldSpecBase) -> str:
        return pick(f.title, lang, flow.spec.language) or name

    fields = [{"id": n, "label": label(n, flow.fields[n]), "text": text(flow.fields[n], rec.values.get(n))} for n in plain]
    tables: list[Table] = []
    for n in tables_shown:
        spec = flow.tables[n].spec
        columns = [Column(c, label(c, f), f.type in NUMERIC, totalled(f)) for c, f in spec.fields.items()]
        rows_in = rec.values.get(n) or []
        table = Table(
            id=n, label=label(n, flow.fields[n]), columns=columns, fields=dict(spec.fields),
            rows=[{c.id: text(spec.fields[c.id], row.get(c.id)) for c in columns} for row in rows_in],
            amounts=[{c.id: Decimal(row.get(c.id) or 0) for c in columns if c.totalled} for row in rows_in],
        )
        table.totals = table.total_text(table.amounts)
        tables.append(table)
    state_title = pick(flow.state(rec.state).title, lang, flow.spec.language) or rec.state
    signatures = _signatures(flow, history, lang, w)
    context: dict[str, Any] = {
        "lang": "zh-CN" if lang.lower().startswith("zh") else "en",
        "words": w,
        "flow": {"name": flow.name, "title": pick(flow.spec.title, lang, flow.spec.language) or flow.name},
        "title": pick(layout.title, lang, flow.spec.language) or pick(flow.spec.title, lang, flow.spec.language) or flow.name,
        "record": {
            "id": rec.id, "number": rec.id, "title": Records.title_of(flow, rec.values, rec.id, rec.state),
            "state": rec.state, "state_title": state_title, "version": rec.version,
            "created_at": _local(rec.system.get("created_at"), flow), "updated_at": _local(rec.system.get("updated_at"), flow),
            "created_by": names.get(rec.system.get("created_by") or 0, ""),
        },
        "fields": fields,
        "values": {n: _plain(rec.values.get(n)) for n in shown},
        "display": {f["id"]: f["text"] for f in fields},
        "tables": {t.id: {"label": t.label, "columns": [c.__dict__ for c in t.columns], "rows": t.rows,
                          "totals": t.totals} for t in tables},
        "history": [{"at": _local(h.get("at"), flow), "by": h.get("actor_name") or "", "action": str(h.get("action") or ""),
                     "from_state": h.get("from_state") or "", "to_state": h.get("to_state") or "",
                     "comment": h.get("comment") or ""} for h in history],
        "signatures": signatures,
        "printed_at": _local(now, flow),
        "today": now.astimezone(flow.timezone).date(),
    }
    # Bare field ids for short templates, as in the record title: {{ order_no }}.
    context.update({f["id"]: f["text"] for f in fields if f["id"] not in context})
    return PrintData(flow, layout, lang, context, tables)


def _signatures(flow: CompiledFlow, history: list[dict[str, Any]], lang: str, w: Mapping[str, str]) -> list[dict[str, str]]:
    """Who decided at which stage, and when: the transitions people fired, sendings back and returns,
    and each approver's decision."""
    out = []
    for h in history:
        action = str(h.get("action") or "")
        changes = h.get("changes") or {}
        approval = changes.get("approval") if isinstance(changes, dict) else None
        t = flow.spec.transitions.get(str(h.get("transition") or ""))
        if isinstance(approval, dict):
            what = w["approved"] if action == "approve" else w["rejected"]
        elif t is not None and h.get("actor_id") is not None:
            what = pick(t.title, lang, flow.spec.language) or str(h.get("transition"))
        elif action in ("sent_back", "return") and h.get("actor_id") is not None:
            what = w[action]
        else:
            continue
        stage = str(h.get("from_state") or "")
        stage_title = pick(flow.spec.states[stage].title, lang, flow.spec.language) if stage in flow.spec.states else stage
        who = str(h.get("actor_name") or "")
        if h.get("on_behalf_of_name"):
            who = f"{who} ({h['on_behalf_of_name']})"
        out.append({"stage": stage_title or stage, "action": what, "by": who, "at": _local(h.get("at"), flow),
                    "comment": str(h.get("comment") or "")})
    return out
