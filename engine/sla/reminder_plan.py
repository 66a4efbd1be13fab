"""A flow's `reminders:` sorted by event, and the small SQL helpers the scheduler and the fan-out share."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, String, cast, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from engine.language.flow import CompiledFlow
from engine.language.spec import ReminderSpec

SUPERSEDED_EVENT = "warn_superseded"  # a warning a breach overtook (never sent; shown in the delivery log)


@dataclass(frozen=True)
class Rule:
    index: int
    spec: ReminderSpec
    states: tuple[str, ...]


@dataclass(frozen=True)
class ReminderPlan:
    """The flow's reminders sorted by event, with the states each one covers."""

    flow: CompiledFlow
    by_event: Mapping[str, tuple[Rule, ...]]

    def states_with(self, event: str, *, repeat: bool = False, escalate: bool = False) -> tuple[str, ...]:
        out: list[str] = []
        for rule in self.by_event.get(event, ()):
            if (repeat and rule.spec.repeat is None) or (escalate and not rule.spec.escalate):
                continue
            out.extend(s for s in rule.states if s not in out)
        return tuple(out)

    def repeat_interval(self, state: str) -> str | None:
        """The shortest `repeat` among the breach rules covering `state`."""
        from engine.language.durations import parse_duration

        found = [r.spec.repeat for r in self.by_event.get("breach", ()) if r.spec.repeat and state in r.states]
        if not found:
            return None
        return min(found, key=lambda d: (parse_duration(d).days, parse_duration(d).seconds))

    def field_targets(self) -> list[str]:
        """The record fields some rule notifies (`field:x`), sorted."""
        return sorted({target.partition(":")[2] for rules in self.by_event.values() for r in rules
                       for target in r.spec.notify if target.startswith("field:")})


_PLANS: dict[int, tuple[CompiledFlow, ReminderPlan]] = {}


def reminder_plan(flow: CompiledFlow) -> ReminderPlan:
    """The plan of a compiled flow (cached; a reloaded flow is a new CompiledFlow)."""
    cached = _PLANS.get(id(flow))
    if cached is not None and cached[0] is flow:
        return cached[1]
    if len(_PLANS) > 256:
        _PLANS.clear()
    plan = _build_plan(flow)
    _PLANS[id(flow)] = (flow, plan)
    return plan


def _build_plan(flow: CompiledFlow) -> ReminderPlan:
    by_event: dict[str, list[Rule]] = {}
    for i, spec in enumerate(flow.spec.reminders):
        covered = spec.states if spec.states is not None else [s for s in flow.spec.states if s in flow.clocks]
        if spec.on in ("warn", "breach"):
            covered = [s for s in covered if s in flow.clocks]
        by_event.setdefault(spec.on, []).append(Rule(i, spec, tuple(covered)))
    return ReminderPlan(flow, {k: tuple(v) for k, v in by_event.items()})


# --- SQL helpers -------------------------------------------------------------------------------------

class epoch_micros(FunctionElement[int]):
    """Unix microseconds of a UTC datetime column, on SQLite and PostgreSQL (a stage's start in a dedupe
    key: two entries into one state within a second are two stages)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_micros, "sqlite")
def _micros_sqlite(element: epoch_micros, compiler: Any, **kw: Any) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UtcDateTime always writes six decimals).
    value = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', {value}) AS INTEGER) * 1000000 + CAST(substr({value}, 21, 6) AS INTEGER))"


@compiles(epoch_micros, "postgresql")
def _micros_pg(element: epoch_micros, compiler: Any, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM %s) * 1000000 AS BIGINT)" % compiler.process(element.clauses, **kw)


class epoch_seconds(FunctionElement[int]):
    """Unix seconds of a UTC datetime column, on SQLite and PostgreSQL."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return "CAST(strftime('%%s', %s) AS INTEGER)" % compiler.process(element.clauses, **kw)


@compiles(epoch_seconds, "postgresql")
def _epoch_pg(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM %s) AS BIGINT)" % compiler.process(element.clauses, **kw)


def sql_text(value: str) -> ColumnElement[str]:
    return literal(value, String)


def sql_cat(*parts: ColumnElement[Any]) -> ColumnElement[str]:
    out = parts[0]
    for p in parts[1:]:
        out = out.concat(p)
    return out


def sql_str(expr: ColumnElement[Any]) -> ColumnElement[str]:
    return cast(expr, String)


def try_flow_lock(conn: Any, flow: str) -> bool:
    """PostgreSQL: this transaction's advisory lock on the flow's scheduler work (False if another holds it).
    SQLite: always True, BEGIN IMMEDIATE already serialises writers."""
    import zlib

    from sqlalchemy import text

    if conn.dialect.name != "postgresql":
        return True
    key = zlib.crc32(f"relayflow-sla:{flow}".encode()) - 2**31
    return bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())
