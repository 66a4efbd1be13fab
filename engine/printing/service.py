"""Print a record for a reader: which layouts they may use, the HTML and the PDF (docs/print.md).

Every flow has the `default` layout (the flow's title over the built-in layout); a flow's `print:`
adds its own, each limited by `for:` (roles) and `states:`. A record the reader may not see, and a
layout they may not use on it, are both "not found": a print never tells more than the record page.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.language.flow import CompiledFlow
from engine.language.print_spec import PrintSpec
from engine.printing.context import PrintData, gather
from engine.printing.layout import render_html
from engine.printing.pdf import render_pdf
from engine.records.access import Access
from engine.records.actor import Actor
from engine.records.errors import NotFound

DEFAULT = "default"


def layouts(flow: CompiledFlow) -> list[PrintSpec]:
    """The flow's print layouts: `default` (unless the flow names one so), then those of `print:`."""
    own = list(flow.spec.prints)
    if any(p.name == DEFAULT for p in own):
        return own
    return [PrintSpec(name=DEFAULT, title=None), *own]


def may_print(layout: PrintSpec, actor: Actor, state: str) -> bool:
    if layout.states is not None and state not in layout.states:
        return False
    return actor.is_admin or layout.for_ is None or bool(set(layout.for_) & actor.roles)


def layouts_for(flow: CompiledFlow, actor: Actor, state: str) -> list[PrintSpec]:
    """The layouts `actor` may print a record of `flow` in `state` with."""
    return [p for p in layouts(flow) if may_print(p, actor, state)]


def prepare(access: Access, flow_name: str, record_id: int, actor: Actor, name: str, lang: str | None = None,
            now: datetime | None = None) -> PrintData:
    """The record and layout ready to render; NotFound for a record or layout the reader may not use."""
    flow = access.live(flow_name).flow
    layout = next((p for p in layouts(flow) if p.name == name), None)
    if layout is None:
        raise NotFound(f"flow '{flow_name}' has no print layout '{name}'")
    data = gather(access, flow_name, record_id, actor, layout, lang, now)
    if not may_print(layout, actor, str(data.context["record"]["state"])):
        raise NotFound(f"no print layout '{name}' for this record")
    return data


def print_html(access: Access, flow_name: str, record_id: int, actor: Actor, name: str, lang: str | None = None,
               **kw: Any) -> str:
    """The print HTML; its stylesheet is not inside: pdf.py adds it, the print view links it (the pages' CSP)."""
    return render_html(prepare(access, flow_name, record_id, actor, name, lang, **kw))


def print_pdf(access: Access, flow_name: str, record_id: int, actor: Actor, name: str, lang: str | None = None,
              **kw: Any) -> bytes:
    return render_pdf(prepare(access, flow_name, record_id, actor, name, lang, **kw))
