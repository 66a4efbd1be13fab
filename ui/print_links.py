"""The print buttons of a record page: one per print layout the reader may use on the record."""
from __future__ import annotations

from forms.base import Gettext
from engine.language.flow import CompiledFlow
from engine.printing.service import DEFAULT, layouts_for
from engine.records.actor import Actor
from ui.i18n.flow_text import flow_text


def print_links(flow: CompiledFlow, actor: Actor, state: str, _: Gettext) -> list[tuple[str, str]]:
    """(layout name, button label) for each layout `actor` may print a record of `flow` in `state` with."""
    out = []
    for p in layouts_for(flow, actor, state):
        title = flow_text(p.title, getattr(_, "locale", None), flow) if p.title is not None else None
        out.append((p.name, title or (_("Print") if p.name == DEFAULT else p.name)))
    return out
