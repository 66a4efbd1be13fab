"""A flow as an SVG diagram, laid out in Python (no browser library, no external service).

States are boxes (title, owner role, SLA), transitions are arrows labelled
with their title and roles. The layout is a small layered ("Sugiyama") one:
back edges found by a depth-first walk from the initial state are reversed,
each state goes to the layer of its longest path from the start, states in a
layer are ordered by the barycentre of their neighbours, and layers run top
to bottom (tall, so it reads well on a phone). Back edges curve on the right.
"""
from __future__ import annotations

from pathlib import Path

import unicodedata
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from engine.language.flow import CompiledFlow
from ui.i18n import DEFAULT_LOCALE, Translator
from ui.i18n.flow_text import flow_text

NODE_H = 58
GAP_X = 56
GAP_Y = 96
MARGIN = 24
FONT = 13.0


def text_width(text: str, size: float = FONT) -> float:
    """Rough rendered width: wide (CJK) characters count double."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.58 for c in text)


@dataclass
class _Node:
    name: str
    lines: tuple[str, str, str]
    final: bool
    paused: bool
    layer: int = 0
    order: float = 0.0
    x: float = 0.0
    y: float = 0.0
    w: float = 150.0


@dataclass(frozen=True)
class _Edge:
    src: str
    dst: str
    label: str
    roles: str


def _when(flow: CompiledFlow, value: object, _: Translator) -> str:
    """A duration as written, or "3d before Delivery date" for a deadline from a date field."""
    field = getattr(value, "field", None)
    if field is None:
        return str(value)
    f = flow.fields.get(field)
    title = flow_text(f.title, getattr(_, "locale", None), flow) if f is not None and f.title else field
    return _("{days} before {field}", days=getattr(value, "before", ""), field=title or field)


def _sla_text(flow: CompiledFlow, name: str, _: Translator) -> str:
    st = flow.state(name)
    if st.final:
        return _("final")
    if st.pause_sla:
        return _("SLA paused")
    if st.sla is None:
        return ""
    text = _("SLA {due}", due=_when(flow, st.sla.due, _))
    if st.sla.warn:
        text += _(" · warn {warn}", warn=_when(flow, st.sla.warn, _))
    if st.sla.clock == "elapsed":
        text += _(" · elapsed")
    return text


def _nodes_edges(flow: CompiledFlow, locale: str | None) -> tuple[dict[str, _Node], list[_Edge]]:
    roles = flow.spec.roles
    words = Translator(locale or DEFAULT_LOCALE)

    def local(text: object, default: str) -> str:
        return flow_text(text, locale, flow) or default

    nodes: dict[str, _Node] = {}
    for i, (name, st) in enumerate(flow.spec.states.items()):
        owner = roles.get(st.owner or "")
        owner_text = local(owner.title, st.owner or "") if owner else (st.owner or "")
        lines = (local(st.title, name), owner_text, _sla_text(flow, name, words))
        width = max(150.0, max(text_width(line) for line in lines) + 24)
        nodes[name] = _Node(name, lines, st.final, st.pause_sla, order=float(i), w=width)
    edges = []
    for tname, t in flow.spec.transitions.items():
        role_text = ", ".join(local(roles[r].title, r) if r in roles else r for r in t.by)
        for src in t.from_:
            edges.append(_Edge(src, t.to, local(t.title, tname), role_text))
    return nodes, edges


def _layers(flow: CompiledFlow, nodes: dict[str, _Node], edges: list[_Edge]) -> set[tuple[str, str]]:
    """Assign layers; returns the back edges (src, dst) that were reversed."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for e in edges:
        if e.dst not in succ[e.src]:
            succ[e.src].append(e.dst)
    back: set[tuple[str, str]] = set()
    seen: set[str] = set()
    stack: set[str] = set()

    def walk(n: str) -> None:
        seen.add(n)
        stack.add(n)
        for m in succ[n]:
            if m in stack or m == n:
                back.add((n, m))
            elif m not in seen:
                walk(m)
        stack.discard(n)

    for start in [flow.initial, *nodes]:
        if start not in seen:
            walk(start)
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for n, ms in succ.items():
        for m in ms:
            if (n, m) not in back:
                preds[m].append(n)
    memo: dict[str, int] = {}

    def depth(n: str) -> int:
        if n not in memo:
            memo[n] = 0
            memo[n] = max((depth(p) + 1 for p in preds[n]), default=0)
        return memo[n]

    for n, node in nodes.items():
        node.layer = depth(n)
    return back


def _order(nodes: dict[str, _Node], edges: list[_Edge]) -> list[list[_Node]]:
    count = max(n.layer for n in nodes.values()) + 1
    layers: list[list[_Node]] = [[] for _ in range(count)]
    for n in sorted(nodes.values(), key=lambda n: n.order):
        layers[n.layer].append(n)
    for layer in layers:
        for i, n in enumerate(layer):
            n.order = float(i)
    nbrs: dict[str, list[str]] = {n: [] for n in nodes}
    for e in edges:
        if e.src != e.dst:
            nbrs[e.src].append(e.dst)
            nbrs[e.dst].append(e.src)
    for sweep in range(6):
        rng = range(1, count) if sweep % 2 == 0 else range(count - 2, -1, -1)
        for li in rng:
            ref = li - 1 if sweep % 2 == 0 else li + 1
            for n in layers[li]:
                pos = [nodes[m].order for m in nbrs[n.name] if nodes[m].layer == ref]
                if pos:
                    n.order = sum(pos) / len(pos)
            layers[li].sort(key=lambda n: n.order)
            for i, n in enumerate(layers[li]):
                n.order = float(i)
    return layers


def _place(layers: list[list[_Node]]) -> tuple[float, float]:
    widths = [sum(n.w for n in layer) + GAP_X * (len(layer) - 1) for layer in layers]
    full = max(widths)
    for li, layer in enumerate(layers):
        x = MARGIN + (full - widths[li]) / 2
        for n in layer:
            n.x, n.y = x, MARGIN + li * (NODE_H + GAP_Y)
            x += n.w + GAP_X
    return full + 2 * MARGIN, MARGIN * 2 + len(layers) * NODE_H + (len(layers) - 1) * GAP_Y


def _bezier_at(t: float, p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float],
               p3: tuple[float, float]) -> tuple[float, float]:
    u = 1 - t
    w = (u ** 3, 3 * u * u * t, 3 * u * t * t, t ** 3)
    return (w[0] * p0[0] + w[1] * p1[0] + w[2] * p2[0] + w[3] * p3[0],
            w[0] * p0[1] + w[1] * p1[1] + w[2] * p2[1] + w[3] * p3[1])


STYLE = (Path(__file__).parent / "static" / "diagram.css").read_text(encoding="utf-8")
"""The diagram's rules: the same file the pages link, embedded in the standalone SVG (its own CSP allows no link)."""


def _route(a: _Node, b: _Node, back: bool, k: int, side_k: int, left_edge: float) -> tuple[tuple[float, float], ...]:
    """Control points of one edge: down to the next layer, around the right (back) or left (long)."""
    if back or b.layer <= a.layer:
        sx, sy = a.x + a.w, a.y + NODE_H / 2
        tx, ty = b.x + b.w, b.y + NODE_H / 2 + 8
        bulge = max(sx, tx) + 60 + 24 * side_k
        return (sx, sy), (bulge, sy), (bulge, ty), (tx + 6, ty)
    if b.layer - a.layer > 1:  # a long edge goes round the left, clear of the layers between
        sx, sy = a.x, a.y + NODE_H / 2 + 6
        tx, ty = b.x + b.w / 2 - 12 * side_k, b.y - 6
        bulge = left_edge - 30 - 22 * side_k
        return (sx, sy), (bulge, sy), (bulge, ty - GAP_Y * 0.2), (tx, ty)
    sx, sy = a.x + a.w / 2 + k * 10, a.y + NODE_H
    tx, ty = b.x + b.w / 2 + k * 10, b.y - 6
    dy = (ty - sy) / 2
    return (sx, sy), (sx, sy + dy), (tx, ty - dy), (tx, ty)


def flow_svg(flow: CompiledFlow, *, standalone: bool = False, locale: str | None = None) -> Markup:
    """The diagram of a flow as SVG markup (every text escaped here), its titles in `locale`'s language."""
    nodes, edges = _nodes_edges(flow, locale)
    back = _layers(flow, nodes, edges)
    layers = _order(nodes, edges)
    width, height = _place(layers)
    long_edges = [e for e in edges if (e.src, e.dst) not in back and nodes[e.dst].layer - nodes[e.src].layer > 1]
    shift = 30 + 22 * len(long_edges) + 150 if long_edges else 0.0
    for n in nodes.values():
        n.x += shift
    width += shift
    parts: list[str] = []
    pair_count: dict[tuple[str, str], int] = {}
    labelled: set[tuple[str, str]] = set()
    right = width
    left_k = right_k = 0
    for e in edges:
        a, b = nodes[e.src], nodes[e.dst]
        k = pair_count.get((e.src, e.dst), 0)
        pair_count[(e.src, e.dst)] = k + 1
        is_back = (e.src, e.dst) in back or b.layer <= a.layer
        is_long = not is_back and b.layer - a.layer > 1
        lo, hi = sorted((a.layer, b.layer))
        between = [n.x for n in nodes.values() if lo <= n.layer <= hi]
        p = _route(a, b, is_back, k, right_k if is_back else left_k, min(between))
        if is_back:
            right_k += 1
            right = max(right, p[1][0] + 150)
        elif is_long:
            left_k += 1
        cls = "rf-edge back" if is_back else "rf-edge"
        d = f"M{p[0][0]:.1f},{p[0][1]:.1f} C{p[1][0]:.1f},{p[1][1]:.1f} {p[2][0]:.1f},{p[2][1]:.1f} {p[3][0]:.1f},{p[3][1]:.1f}"
        label = ""
        if (e.label, e.dst) not in labelled:  # one label per transition and target, however many sources
            labelled.add((e.label, e.dst))
            mx, my = _bezier_at(0.3, *p) if is_long else _bezier_at(0.5, *p)
            anchor = ' text-anchor="end"' if is_long else ""
            x = mx - 4 if is_long else mx + 4
            label = (f'<text x="{x:.1f}" y="{my + 4 + 12 * k:.1f}"{anchor}>{escape(e.label)}'
                     f'<tspan class="r"> · {escape(e.roles)}</tspan></text>')
        parts.append(f'<g class="{cls}"><title>{escape(e.label)} ({escape(e.roles)})</title>'
                     f'<path d="{d}" marker-end="url(#rf-arrow)"/>{label}</g>')
    for n in nodes.values():
        cls = "rf-node" + (" final" if n.final else "") + (" paused" if n.paused else "") + \
            (" initial" if n.name == flow.initial else "")
        title, owner, sla = n.lines
        parts.append(
            f'<g class="{cls}"><rect x="{n.x:.1f}" y="{n.y:.1f}" width="{n.w:.1f}" height="{NODE_H}" rx="8"/>'
            f'<text class="t" x="{n.x + 12:.1f}" y="{n.y + 19:.1f}">{escape(title)}</text>'
            f'<text class="s" x="{n.x + 12:.1f}" y="{n.y + 35:.1f}">{escape(owner)}</text>'
            f'<text class="s" x="{n.x + 12:.1f}" y="{n.y + 50:.1f}">{escape(sla)}</text></g>')
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {right:.0f} {height:.0f}" '
            f'width="{right:.0f}" height="{height:.0f}" role="img" aria-labelledby="rf-dia-title" class="diagram">'
            f'<title id="rf-dia-title">{escape(flow_text(flow.spec.title, locale, flow) or flow.name)}</title>'
            '<defs><marker id="rf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6a7a90"/></marker></defs>')
    # In a page the rules come from /static/app.css (the pages' CSP allows no inline style); the SVG
    # file carries them itself, under a policy of its own.
    style = f"<style>{STYLE}</style>" if standalone else ""
    return Markup(head + style + "".join(parts) + "</svg>")
