"""Line items in the flow language: row computations, aggregates over rows, and their load-time checks.

A table field (`type: table`, forms/table_field.py) holds rows whose fields are
ordinary field specs. Two kinds of expressions meet it:

* a row field's `compute:` runs once per row and sees that row's fields only
  (and `user`, `now`, `today`);
* the record's expressions see a table only through the aggregate functions
  `sum(lines, 'amount')`, `count(lines)`, `min(lines, 'f')` and `max(lines, 'f')`,
  which the sandbox offers as its only functions besides `range`.

Every misuse (an unknown table or row field, summing text, a table compared
like a value, a row field of a type a row cannot hold) is refused when the
flow loads, located at the expression or the key.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes

from engine.language.aggregates import AGGREGATES, ARITY
from engine.language.expression_types import expression_problems
from engine.language.expressions import ExpressionError, Expression, compile_expression, parse_expression
from engine.language.identifiers import did_you_mean, identifier_problem
from forms import FieldSpecBase, TableField
from forms.table_field import NOT_IN_ROWS

Path = tuple[Any, ...]
Problem = tuple[Path, str]

_ORDERED_KINDS = frozenset({"number", "text", "date", "datetime"})

ROW_BUILTINS = frozenset({"user", "now", "today"})


# --- compiled row computations ---------------------------------------------------------------------

@dataclass(frozen=True)
class CompiledTable:
    """One table field ready to run: its spec and its row fields' compiled computations, in order."""

    name: str
    spec: TableField
    compute: dict[str, Expression]
    order: tuple[str, ...]


def _order(compute: dict[str, Expression], names: list[str]) -> tuple[str, ...]:
    done: list[str] = []
    placed: set[str] = set()

    def place(name: str, trail: frozenset[str]) -> None:
        if name in placed or name in trail:
            return
        for dep in sorted(compute[name].names):
            if dep in compute:
                place(dep, trail | {name})
        placed.add(name)
        done.append(name)

    for n in names:
        if n in compute:
            place(n, frozenset())
    return tuple(done)


def compile_tables(fields: Mapping[str, FieldSpecBase]) -> dict[str, CompiledTable]:
    """The table fields of a flow, compiled (the flow has loaded: every expression compiles)."""
    out: dict[str, CompiledTable] = {}
    for name, f in fields.items():
        if isinstance(f, TableField):
            compute = {n: compile_expression(rf.compute) for n, rf in f.fields.items() if rf.compute}
            out[name] = CompiledTable(name, f, compute, _order(compute, list(f.fields)))
    return out


def tables_read_by(expr: Expression, tables: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(n for n in expr.names if n in tables)


# --- load-time checks ------------------------------------------------------------------------------

def _ref(kind: str, name: str, known: list[str]) -> str:
    return f"unknown {kind} '{name}'{did_you_mean(name, known)}"


def table_problems(fields: Mapping[str, FieldSpecBase], expressions: list[tuple[Path, str]]) -> Iterator[Problem]:
    """Problems of the table fields themselves, and of every expression's use of tables and aggregates.

    `expressions`: (path, source) of the record-level expressions (computed fields, conditions)."""
    tables = {n: f for n, f in fields.items() if isinstance(f, TableField)}
    for name, table in tables.items():
        yield from _row_fields(name, table)
        yield from _row_computes(name, table)
    for path, source in expressions:
        try:
            ast = parse_expression(source)
        except Exception:  # noqa: BLE001 - a syntax error is reported by the expression checks
            continue
        yield from ((path, m) for m in _aggregate_uses(ast, fields, tables))


def _row_fields(name: str, table: TableField) -> Iterator[Problem]:
    base: Path = ("fields", name, "fields")
    if "__" in name:
        yield ("fields", name, "__key__"), f"table field id '{name}' cannot contain '__' (it names the rows' table)"
    for row_name, f in table.fields.items():
        msg = identifier_problem(row_name, what="row field", is_field=True)
        if msg:
            yield base + (row_name, "__key__"), msg
        if f.type in NOT_IN_ROWS:
            what = "a table" if f.type == "table" else "files"
            yield base + (row_name, "type"), (f"a row of '{table.title or name}' cannot hold {what}: "
                                              "only single values (text, numbers, dates, choices, references...)")
        for key in ("unique", "index"):  # as written in the file (a reference is indexed by default, not by the author)
            if getattr(f, key) and key in f.model_fields_set:
                yield base + (row_name, key), f"row field '{row_name}' cannot be {'unique' if key == 'unique' else 'indexed'}"
        if f.compute is not None and f.default is not None:
            yield base + (row_name, "default"), f"row field '{row_name}' is computed and cannot have a default"
        if f.compute is not None and f.required:
            yield base + (row_name, "required"), f"row field '{row_name}' is computed; it cannot be required"
        if getattr(f, "role", None) is not None:
            yield base + (row_name, "role"), f"row field '{row_name}': a user field in a row cannot ask for a role"
    renamed: dict[str, str] = {}
    for row_name, f in table.fields.items():
        old = f.renamed_from
        if old is None:
            continue
        path = base + (row_name, "renamed_from")
        if old == row_name:
            yield path, f"row field '{row_name}' cannot be renamed from itself"
        elif old in table.fields:
            yield path, f"row field '{row_name}' is renamed from '{old}', but '{old}' is still a row field"
        elif old in renamed:
            yield path, f"row fields '{renamed[old]}' and '{row_name}' are both renamed from '{old}'"
        else:
            renamed[old] = row_name


def _row_computes(name: str, table: TableField) -> Iterator[Problem]:
    kinds = {n: f.expression_kind for n, f in table.fields.items()}
    titles = {n: f.title for n, f in table.fields.items() if isinstance(f.title, str)}
    known = list(table.fields)
    deps: dict[str, set[str]] = {}
    for row_name, f in table.fields.items():
        if f.compute is None:
            continue
        path: Path = ("fields", name, "fields", row_name, "compute")
        try:
            expr = compile_expression(f.compute)
        except ExpressionError as exc:
            yield path, str(exc)
            continue
        for ref in sorted(expr.names - ROW_BUILTINS):
            if ref in AGGREGATES:
                yield path, f"a row's computed field works on its own row: {ref}() is for the record's fields"
            elif ref not in table.fields:
                yield path, f"computed row field '{row_name}' uses {_ref('row field', ref, known)}"
        for message in expression_problems(parse_expression(f.compute), kinds, titles):
            yield path, message
        deps[row_name] = {r for r in expr.names if r in table.fields and table.fields[r].compute is not None}
    # A cycle among the row's computed fields.
    for start in deps:
        seen, stack = {start}, list(deps[start])
        while stack:
            nxt = stack.pop()
            if nxt == start:
                yield ("fields", name, "fields", start, "compute"), (
                    f"computed row fields of '{name}' depend on each other in a cycle (through '{start}')")
                break
            if nxt not in seen:
                seen.add(nxt)
                stack.extend(deps.get(nxt, ()))


def _aggregate_uses(ast: nodes.Node, fields: Mapping[str, FieldSpecBase],
                    tables: Mapping[str, TableField]) -> Iterator[str]:
    inside: set[int] = set()  # ids of table Name nodes that stand where an aggregate wants them
    for call in ast.find_all(nodes.Call):
        fn = call.node
        if not isinstance(fn, nodes.Name) or fn.name not in AGGREGATES:
            continue
        if fn.name in fields:
            yield f"the field '{fn.name}' hides the function {fn.name}(): rename the field"
            continue
        args = call.args
        if call.kwargs or call.dyn_args or call.dyn_kwargs or len(args) != ARITY[fn.name]:
            yield (f"{fn.name}() takes the table only, e.g. count(lines)" if fn.name == "count" else
                   f"{fn.name}() takes a table and a row field in quotes, e.g. {fn.name}(lines, 'amount')")
            continue
        table_node = args[0]
        if not isinstance(table_node, nodes.Name) or table_node.name not in tables:
            shown = table_node.name if isinstance(table_node, nodes.Name) else "this"
            yield f"{fn.name}() needs a table field first: {_ref('table', shown, list(tables))}"
            continue
        inside.add(id(table_node))
        if fn.name == "count":
            continue
        table = tables[table_node.name]
        col = args[1]
        if not isinstance(col, nodes.Const) or not isinstance(col.value, str):
            yield f"{fn.name}() needs the row field's name in quotes, e.g. {fn.name}({table_node.name}, 'amount')"
            continue
        row_field = table.fields.get(col.value)
        if row_field is None:
            yield f"{fn.name}() uses {_ref('row field', col.value, list(table.fields))} of '{table_node.name}'"
            continue
        kind = row_field.expression_kind
        if fn.name == "sum" and kind != "number":
            yield f"sum() adds numbers, but the row field '{row_field.title or col.value}' is not a number"
        elif fn.name in ("min", "max") and kind not in _ORDERED_KINDS:
            yield f"{fn.name}() needs numbers, texts or dates, but the row field '{row_field.title or col.value}' is not one"
    for name_node in ast.find_all(nodes.Name):
        if name_node.name in tables and id(name_node) not in inside:
            yield (f"the table '{name_node.name}' can be used only through count({name_node.name}), "
                   f"sum({name_node.name}, 'field'), min(...) or max(...)")
