"""What the flow language says about references to other flows' records, checked when flows load.

* `type: reference` with `flow:` and an optional `filter:` (a condition over the target record);
* `fetch: ref.field` on a typed field: a copy taken when the reference is set or changed;
* `lookup: ref.field` (no type): a live value of the referenced record.

A reference's `filter` becomes a SQL condition (the picker searches among a million records and
must filter in the database), so it is limited to what translates exactly: comparisons of a field,
`state` or `id` with constants (`==`, `!=`, `<`, `<=`, `>`, `>=`, `in [...]`, `is none`,
`is not none`) joined by `and`, `or`, `not`. `parse_filter` turns it into a small tree
(`FilterNode`) that engine/records/reference_sql.py builds the SQL from.

Two passes: `reference_problems` needs one flow only (run by check_flow); `cross_flow_problems`
needs the flows referred to (run for a folder by engine/language/flow_set.py, and by the admin
editor against the live flows).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Union

from jinja2 import nodes

from engine.language.expressions import ExpressionError, compile_expression, parse_expression
from engine.language.identifiers import did_you_mean
from engine.language.spec import FlowSpec
from forms import FieldSpecBase

Path = tuple[Any, ...]
Problem = tuple[Path, str]

FILTER_SYSTEM_NAMES = frozenset({"state", "id"})

# Types a fetched value may be copied between: the same type, or these families.
_NUMBERS = frozenset({"integer", "decimal", "money"})
_TEXTS = frozenset({"text", "longtext", "email", "phone", "url"})


# --- reference filters as a tree ------------------------------------------------------------------

@dataclass(frozen=True)
class Compare:
    name: str
    op: str  # eq ne lt le gt ge in notin isnone notnone
    value: Any = None


@dataclass(frozen=True)
class Junction:
    op: str  # and | or
    parts: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Negation:
    part: FilterNode


FilterNode = Union[Compare, Junction, Negation]

_OPS = {"eq": "eq", "ne": "ne", "lt": "lt", "lteq": "le", "gt": "gt", "gteq": "ge", "in": "in", "notin": "notin"}
_MIRROR = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}
_SHAPE = ("a reference filter compares fields of the target record with fixed values "
          "(==, !=, <, <=, >, >=, in [...], is none), joined by and, or, not")


def parse_filter(source: str) -> FilterNode:
    """The tree of a reference filter; ExpressionError when it does not compile or has another shape."""
    compile_expression(source)
    tree = parse_expression(source)
    body = tree.body[0]
    if not isinstance(body, nodes.Output) or len(body.nodes) != 1:
        raise ExpressionError(_SHAPE)
    return _node(body.nodes[0])


def _const(node: nodes.Node) -> Any:
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, (nodes.List, nodes.Tuple)) and all(isinstance(i, nodes.Const) for i in node.items):
        return tuple(i.value for i in node.items)  # type: ignore[attr-defined]
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const) and isinstance(node.node.value, (int, float)):
        return -node.node.value
    raise ExpressionError(_SHAPE)


def _node(node: nodes.Node) -> FilterNode:
    if isinstance(node, nodes.And):
        return Junction("and", (_node(node.left), _node(node.right)))
    if isinstance(node, nodes.Or):
        return Junction("or", (_node(node.left), _node(node.right)))
    if isinstance(node, nodes.Not):
        return Negation(_node(node.node))
    if isinstance(node, nodes.Test) and isinstance(node.node, nodes.Name) and node.name == "none" and not node.args:
        return Compare(node.node.name, "isnone")
    if isinstance(node, nodes.Compare) and len(node.ops) == 1:
        left, op = node.expr, node.ops[0]
        kind = _OPS.get(op.op)
        if kind is None:
            raise ExpressionError(_SHAPE)
        if isinstance(left, nodes.Name):
            value = _const(op.expr)
            if kind in ("in", "notin") and not isinstance(value, tuple):
                raise ExpressionError(_SHAPE)
            if value is None and kind in ("eq", "ne"):
                return Compare(left.name, "isnone" if kind == "eq" else "notnone")
            return Compare(left.name, kind, value)
        if isinstance(op.expr, nodes.Name) and kind in _MIRROR:
            return Compare(op.expr.name, _MIRROR[kind], _const(left))
    raise ExpressionError(_SHAPE)


def filter_names(node: FilterNode) -> set[str]:
    if isinstance(node, Compare):
        return {node.name}
    if isinstance(node, Negation):
        return filter_names(node.part)
    out: set[str] = set()
    for part in node.parts:
        out |= filter_names(part)
    return out


# --- one flow -------------------------------------------------------------------------------------

def _split_path(text: str) -> tuple[str, str] | None:
    ref, dot, target = text.partition(".")
    if not dot or not ref or not target or "." in target:
        return None
    return ref, target


def fetch_problems(fields: Mapping[str, FieldSpecBase], base: Path = ("fields",)) -> Iterator[Problem]:
    """`fetch:` of the fields of one mapping (a flow's fields, or a table's row fields with
    base ("fields", table, "fields")): the reference it names is a reference field of the same mapping."""
    for name, f in fields.items():
        if f.fetch is None:
            continue
        path = base + (name, "fetch")
        parts = _split_path(f.fetch)
        if parts is None:
            yield path, f"fetch names a field of the referenced record as reference_field.field, not '{f.fetch}'"
            continue
        ref = fields.get(parts[0])
        if ref is None:
            refs = [n for n, g in fields.items() if g.type == "reference"]
            yield path, f"fetch uses unknown reference field '{parts[0]}'{did_you_mean(parts[0], refs)}"
        elif ref.type != "reference":
            yield path, f"fetch needs a reference field before the dot; '{parts[0]}' is a {ref.type} field"
        if f.compute is not None:
            yield path, f"field '{name}' is computed; it cannot also be fetched"
        if f.type == "reference":
            yield path, "a reference cannot be fetched"


def reference_problems(spec: FlowSpec) -> Iterator[Problem]:
    """The checks of references, fetches and lookups that need this flow only."""
    for name, f in spec.fields.items():
        if f.type != "reference":
            continue
        source = getattr(f, "filter", None)
        if source is not None:
            try:
                parse_filter(source)
            except ExpressionError as exc:
                yield ("fields", name, "filter"), str(exc)
    yield from fetch_problems(spec.fields)
    for name, lk in spec.lookups.items():
        path: Path = ("fields", name, "lookup")
        parts = _split_path(lk.lookup)
        if parts is None:
            yield path, f"lookup names a field of the referenced record as reference_field.field, not '{lk.lookup}'"
            continue
        ref = spec.fields.get(parts[0])
        if ref is None:
            refs = [n for n, g in spec.fields.items() if g.type == "reference"]
            yield path, f"lookup uses unknown reference field '{parts[0]}'{did_you_mean(parts[0], refs)}"
        elif ref.type != "reference":
            yield path, f"lookup needs a reference field before the dot; '{parts[0]}' is a {ref.type} field"
    for state_name, state in spec.states.items():
        for i, edited in enumerate(state.edit):
            if edited in spec.lookups:
                yield ("states", state_name, "edit", i), (f"'{edited}' is a lookup (shown from the referenced record); "
                                                          "it cannot be edited")
        for i, hidden in enumerate(state.hide):
            if hidden in spec.lookups:
                yield ("states", state_name, "hide", i), (f"'{hidden}' is a lookup: it is hidden with its reference; "
                                                          f"hide '{spec.lookups[hidden].reference}' instead")
    for transition_name, t in spec.transitions.items():
        for i, required in enumerate(t.require):
            if required in spec.lookups:
                yield ("transitions", transition_name, "require", i), (
                    f"'{required}' is a lookup; require its reference '{spec.lookups[required].reference}' instead")


# --- a set of flows -------------------------------------------------------------------------------

def compatible(source: FieldSpecBase, target: FieldSpecBase) -> bool:
    """Whether a value of `target` (in the referenced flow) can be copied into `source`."""
    if source.type == target.type:
        return True
    if source.type in _NUMBERS and target.type in _NUMBERS:
        return True
    return source.type in ("text", "longtext") and target.type in _TEXTS


def _target_field(target: FlowSpec, field: str, path: Path, what: str) -> Iterator[Problem]:
    if field not in target.fields:
        yield path, f"{what} reads unknown field '{field}' of flow '{target.flow}'{did_you_mean(field, target.fields)}"


def row_cross_problems(fields: Mapping[str, FieldSpecBase], known: Mapping[str, FlowSpec],
                       base: Path = ("fields",)) -> Iterator[Problem]:
    """Cross-flow checks of one mapping of fields (a flow's, or a table's row fields)."""
    for name, f in fields.items():
        if f.type == "reference":
            target_name = str(getattr(f, "flow", ""))
            target = known.get(target_name)
            if target is None:
                yield base + (name, "flow"), f"reference to unknown flow '{target_name}'{did_you_mean(target_name, known)}"
                continue
            source = getattr(f, "filter", None)
            if source is not None:
                try:
                    tree = parse_filter(source)
                except ExpressionError:
                    continue  # reported by reference_problems
                allowed = set(target.fields) | FILTER_SYSTEM_NAMES
                for ref in sorted(filter_names(tree) - allowed):
                    yield base + (name, "filter"), (f"filter uses unknown field '{ref}' of flow '{target_name}'"
                                                    f"{did_you_mean(ref, allowed)}")
                if "state" in filter_names(tree):
                    for value in _state_values(tree):
                        if value not in target.states:
                            yield base + (name, "filter"), (f"filter names unknown state '{value}' of flow "
                                                            f"'{target_name}'{did_you_mean(str(value), target.states)}")
    for name, f in fields.items():
        if f.fetch is None:
            continue
        parts = _split_path(f.fetch)
        via = fields.get(parts[0]) if parts else None
        if parts is None or via is None or via.type != "reference":
            continue  # reported by fetch_problems
        target = known.get(str(getattr(via, "flow", "")))
        if target is None:
            continue
        path = base + (name, "fetch")
        problems = list(_target_field(target, parts[1], path, "fetch"))
        yield from problems
        if not problems and not compatible(f, target.fields[parts[1]]):
            yield path, (f"fetch copies '{parts[1]}' of flow '{target.flow}' (type {target.fields[parts[1]].type}) "
                         f"into a field of type {f.type}")


def _state_values(node: FilterNode) -> list[Any]:
    if isinstance(node, Compare):
        if node.name != "state":
            return []
        return list(node.value) if isinstance(node.value, tuple) else [] if node.value is None else [node.value]
    if isinstance(node, Negation):
        return _state_values(node.part)
    return [v for p in node.parts for v in _state_values(p)]


def cross_flow_problems(spec: FlowSpec, known: Mapping[str, FlowSpec]) -> list[Problem]:
    """Problems of `spec`'s references that only the flows referred to can tell (`known`: flow id → spec)."""
    problems = list(row_cross_problems(spec.fields, known))
    for name, lk in spec.lookups.items():
        parts = _split_path(lk.lookup)
        ref = spec.fields.get(parts[0]) if parts else None
        if parts is None or ref is None or ref.type != "reference":
            continue
        target = known.get(str(getattr(ref, "flow", "")))
        if target is not None:
            problems += _target_field(target, parts[1], ("fields", name, "lookup"), "lookup")
    from engine.language.effect_rules import effect_cross_problems  # effects reach other flows too

    problems += effect_cross_problems(spec, known)
    return problems
