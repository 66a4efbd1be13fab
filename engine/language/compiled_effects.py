"""A flow's transition effects compiled for running (engine/language/effects_spec.py says what they are;
engine/records/effects.py runs them)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.language.effects_spec import ValueSource
from engine.language.expressions import Expression, compile_expression
from engine.language.spec import FlowSpec


@dataclass(frozen=True)
class EffectValue:
    """One value of an effect: an expression over the record, or a constant written as such."""

    source: ValueSource
    expr: Expression | None

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        return self.expr.evaluate(context) if self.expr is not None else self.source


@dataclass(frozen=True)
class TransitionEffects:
    set: dict[str, EffectValue]
    create: tuple[tuple[str, dict[str, EffectValue]], ...]
    update: tuple[tuple[str, dict[str, EffectValue]], ...]

    @property
    def after_move(self) -> bool:
        return bool(self.create or self.update)


def _values(values: Mapping[str, ValueSource]) -> dict[str, EffectValue]:
    return {k: EffectValue(v, compile_expression(v) if isinstance(v, str) else None) for k, v in values.items()}


def compile_effects(spec: FlowSpec) -> dict[str, TransitionEffects]:
    """The effects of `spec`'s transitions that have any (their expressions compiled; the flow's checks
    have refused any that do not compile)."""
    out = {}
    for name, t in spec.transitions.items():
        if t.set or t.create or t.update:
            out[name] = TransitionEffects(_values(t.set), tuple((c.flow, _values(c.values)) for c in t.create),
                                          tuple((u.reference, _values(u.values)) for u in t.update))
    return out


