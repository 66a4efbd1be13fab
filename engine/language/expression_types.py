"""What an expression does with its fields' types, checked when a flow loads.

A condition like `qty > 'abc'` or a computed value like `amount + 'x'` cannot
work on any record: it would fail on every save or silently never hold. Such
expressions, and any that reach for a hidden attribute (a name starting with
`_`, the way out of a sandbox), are refused with the flow file's other
problems. The inference is deliberately small: literals, field names, `now`,
`today`, arithmetic, comparison and `~`; anything else (filters, calls, item
access) is "unknown" and never refused.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

from jinja2 import nodes

_BUILTIN_KINDS = {"now": "datetime", "today": "date"}
_KIND_WORDS = {"number": "a number", "text": "a text", "date": "a date", "datetime": "a date and time",
               "boolean": "a yes/no value"}
_ARITHMETIC = (nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow)
_SYMBOL = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Div: "/", nodes.FloorDiv: "//",
           nodes.Mod: "%", nodes.Pow: "**"}


def expression_problems(ast: nodes.Node, field_kinds: Mapping[str, str | None],
                        titles: Mapping[str, str] | None = None) -> Iterator[str]:
    """Messages for the type mismatches and hidden-attribute accesses in `ast`.

    `field_kinds`: each field's kind of value as its type says (`expression_kind`), None when unchecked.
    """
    titles = titles or {}
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        name = ""
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            name = node.arg.value
        if name.startswith("_"):
            yield f"'{name}' is not available in expressions (names starting with _ are hidden)"
    checker = _Kinds(field_kinds, titles)
    checker.kind(ast)
    yield from checker.problems


class _Kinds:
    def __init__(self, field_kinds: Mapping[str, str | None], titles: Mapping[str, str]) -> None:
        self.field_kinds = field_kinds
        self.titles = titles
        self.problems: list[str] = []

    def describe(self, node: nodes.Node, kind: str) -> str:
        if isinstance(node, nodes.Name):
            label = self.titles.get(node.name) or node.name
            return f"the field '{label}' ({_KIND_WORDS[kind]})" if node.name in self.field_kinds else f"'{node.name}'"
        if isinstance(node, nodes.Const):
            return f"{_KIND_WORDS[kind]} ({node.value!r})"
        return _KIND_WORDS[kind]

    def kind(self, node: nodes.Node) -> str | None:
        """The kind of value `node` makes, if known; records problems on the way."""
        if isinstance(node, nodes.Const):
            value = node.value
            if isinstance(value, bool):
                return "boolean"
            if isinstance(value, (int, float)):
                return "number"
            return "text" if isinstance(value, str) else None
        if isinstance(node, nodes.Name):
            if node.name in self.field_kinds:
                return self.field_kinds[node.name]
            return _BUILTIN_KINDS.get(node.name)
        if isinstance(node, _ARITHMETIC):
            left, right = self.kind(node.left), self.kind(node.right)
            if left is None or right is None:
                return None
            text_repeat = isinstance(node, nodes.Mul) and {left, right} == {"text", "number"}
            text_format = isinstance(node, nodes.Mod) and left == "text"
            if text_repeat or text_format:
                return "text"
            if left == right == "number":
                return "number"
            if "text" in (left, right) and left != right:
                self.problems.append(f"cannot compute {self.describe(node.left, left)} {_SYMBOL[type(node)]} "
                                     f"{self.describe(node.right, right)}")
            return None
        if isinstance(node, nodes.Concat):
            for child in node.nodes:
                self.kind(child)
            return "text"
        if isinstance(node, nodes.Compare):
            kinds = [(node.expr, self.kind(node.expr))] + [(op.expr, self.kind(op.expr)) for op in node.ops]
            for op, (a, ka), (b, kb) in zip(node.ops, kinds, kinds[1:]):
                if op.op in ("in", "notin") or ka is None or kb is None or ka == kb:
                    continue
                if {ka, kb} <= {"number", "boolean"}:
                    continue
                self.problems.append(f"compares {self.describe(a, ka)} with {self.describe(b, kb)}: "
                                     "they can never be compared")
            return "boolean"
        for inner in node.iter_child_nodes():
            self.kind(inner)
        return None


def value_kind(ast: nodes.Node, field_kinds: Mapping[str, str | None]) -> str | None:
    """The kind of value the expression whose tree is `ast` makes ("number", "date", ...), None if unknown."""
    node: nodes.Node = ast
    if isinstance(node, nodes.Template) and len(node.body) == 1 and isinstance(node.body[0], nodes.Output):
        outputs = node.body[0].nodes
        if len(outputs) != 1:
            return None
        node = outputs[0]
    return _Kinds(field_kinds, {}).kind(node)
