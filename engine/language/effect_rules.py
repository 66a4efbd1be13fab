"""The checks of a transition's effects (`set`, `create`, `update`; engine/language/effects_spec.py).

Within one flow (`effect_problems`): a `set` names a field the transition may set (not computed, not a
table or file), and every value is an expression over this record that compiles, reads known names and
makes the kind of value its field holds. Against the other flows (`effect_cross_problems`, with the
folder or the live flows): the created flow exists, its fields exist and are not computed, every field
it requires is given (or has a default or a computation), an updated reference's flow has the fields
set; and no flows create each other in a loop (A creates B, B creates A), which would make every
shipment a chain of records nobody asked for.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.language.expression_types import expression_problems, value_kind
from engine.language.expressions import BUILTIN_NAMES, ExpressionError, compile_expression, parse_expression
from engine.language.identifiers import did_you_mean
from engine.language.spec import FlowSpec

Path = tuple[Any, ...]
Problem = tuple[Path, str]
RECORD_NAMES = frozenset({"id"})  # besides the fields: this record's id
_UNSETTABLE = ("table", "file")
_KIND_WORDS = {"number": "a number", "text": "a text", "date": "a date", "datetime": "a date and time",
               "boolean": "a yes/no value"}
# what a value of one kind may fill (a date fills a datetime field at midnight; a number a text? no)
_FITS = {("date", "datetime"), ("datetime", "date")}


def _unknown(kind: str, name: str, known: Any) -> str:
    return f"unknown {kind} '{name}'{did_you_mean(name, list(known))}"


def _value_problems(source: Any, path: Path, spec: FlowSpec, target_kind: str | None, what: str) -> Iterator[Problem]:
    """A value of an effect: a constant, or an expression over `spec`'s record making `target_kind`."""
    if not isinstance(source, str):
        return
    try:
        expr = compile_expression(source)
    except ExpressionError as exc:
        yield path, str(exc)
        return
    allowed = set(spec.fields) | BUILTIN_NAMES | RECORD_NAMES
    for ref in sorted(expr.names - allowed):
        yield path, f"the value for {what} uses {_unknown('field', ref, allowed)}"
    kinds: dict[str, str | None] = {n: f.expression_kind for n, f in spec.fields.items()}
    kinds["id"] = "number"
    ast = parse_expression(source)
    yield from ((path, m) for m in expression_problems(ast, kinds))
    made = value_kind(ast, kinds)
    if made and target_kind and made != target_kind and (made, target_kind) not in _FITS:
        yield path, f"the value for {what} is {_KIND_WORDS.get(made, made)}, but {what} holds {_KIND_WORDS.get(target_kind, target_kind)}"


def effect_problems(spec: FlowSpec) -> Iterator[Problem]:
    """Problems of the effects of `spec`'s transitions that `spec` alone can tell."""
    for tname, t in spec.transitions.items():
        base: Path = ("transitions", tname)
        for field, source in t.set.items():
            path = base + ("set", field)
            f = spec.fields.get(field)
            if f is None:
                yield base + ("set",), f"set: {_unknown('field', field, spec.fields)}"
                continue
            if f.compute is not None:
                yield path, f"set: '{field}' is computed; a transition cannot set it"
                continue
            if f.type in _UNSETTABLE:
                yield path, f"set: a {f.type} field ('{field}') cannot be set by a transition"
                continue
            yield from _value_problems(source, path, spec, f.expression_kind, f"'{field}'")
        for i, c in enumerate(t.create):
            for field, source in c.values.items():
                yield from _value_problems(source, base + ("create", i, "values", field), spec, None, f"'{field}'")
        for i, u in enumerate(t.update):
            ref = spec.fields.get(u.reference)
            if ref is None or ref.type != "reference":
                known = [n for n, f in spec.fields.items() if f.type == "reference"]
                yield base + ("update", i, "reference"), ("update: " + (_unknown("reference field", u.reference, known)
                                                                       if ref is None else f"'{u.reference}' is not a reference field"))
            for field, source in u.values.items():
                yield from _value_problems(source, base + ("update", i, "values", field), spec, None, f"'{field}'")


def _created_by(spec: FlowSpec) -> set[str]:
    return {c.flow for t in spec.transitions.values() for c in t.create}


def _loop(start: str, known: Mapping[str, FlowSpec]) -> list[str] | None:
    """A chain start → … → start of flows creating records in each other, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, trail = stack.pop()
        spec = known.get(name)
        for nxt in sorted(_created_by(spec)) if spec is not None else ():
            if nxt == start:
                return trail + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, trail + [nxt]))
    return None


def _target_problems(target: FlowSpec, values: Mapping[str, Any], spec: FlowSpec, path: Path,
                     creating: bool) -> Iterator[Problem]:
    for field, source in values.items():
        f = target.fields.get(field)
        if f is None:
            yield path + ("values",), f"flow '{target.flow}' has no {_unknown('field', field, target.fields)[8:]}"
            continue
        if f.compute is not None:
            yield path + ("values", field), f"'{field}' of flow '{target.flow}' is computed; it cannot be given"
            continue
        if f.type in _UNSETTABLE:
            yield path + ("values", field), f"a {f.type} field ('{field}' of flow '{target.flow}') cannot be given here"
            continue
        if isinstance(source, str):
            try:
                parse_expression(source)
            except Exception:  # noqa: BLE001 - reported by effect_problems
                continue
            kinds: dict[str, str | None] = {n: g.expression_kind for n, g in spec.fields.items()}
            kinds["id"] = "number"
            made = value_kind(parse_expression(source), kinds)
            want = f.expression_kind
            if f.type == "reference" and made == "number":
                continue  # a record id
            if made and want and made != want and (made, want) not in _FITS:
                yield path + ("values", field), (f"the value for '{field}' of flow '{target.flow}' is "
                                                 f"{_KIND_WORDS.get(made, made)}, but it holds {_KIND_WORDS.get(want, want)}")
    if creating:
        missing = [n for n, f in target.fields.items()
                   if f.required and n not in values and f.compute is None and getattr(f, "default", None) is None
                   and not getattr(f, "fetch", None)]
        if missing:
            yield path + ("values",), (f"flow '{target.flow}' requires {', '.join(repr(m) for m in missing)}: "
                                       "give a value for each")


def effect_cross_problems(spec: FlowSpec, known: Mapping[str, FlowSpec]) -> Iterator[Problem]:
    """Problems of `spec`'s effects that the flows they reach tell (`known`: flow id → spec, `spec` among them)."""
    every = {**known, spec.flow: spec}
    for tname, t in spec.transitions.items():
        base: Path = ("transitions", tname)
        for i, c in enumerate(t.create):
            target = every.get(c.flow)
            if target is None:
                yield base + ("create", i, "flow"), f"create: {_unknown('flow', c.flow, every)}"
                continue
            yield from _target_problems(target, c.values, spec, base + ("create", i), creating=True)
        for i, u in enumerate(t.update):
            ref = spec.fields.get(u.reference)
            target = every.get(str(getattr(ref, "flow", ""))) if ref is not None and ref.type == "reference" else None
            if target is not None:
                yield from _target_problems(target, u.values, spec, base + ("update", i), creating=False)
    chain = _loop(spec.flow, every)
    if chain:
        first = next((n for n, t in spec.transitions.items() if any(c.flow == chain[1] for c in t.create)), None)
        where: Path = ("transitions", first, "create") if first else ("flow",)
        yield where, ("flows create records in each other in a loop: " + " → ".join(chain)
                      + "; a created record must not lead back to the flow that created it")
