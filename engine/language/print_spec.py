"""`print:` of a flow: named print layouts (order confirmation, delivery note, ...).

    print:
      - name: order_confirmation
        title: {zh-CN: 订单确认书, en: Order confirmation}
        template: sales_order.confirmation.html   # optional: Jinja2 next to the flow file
        for: [sales, manager]                      # optional: roles that may print it (default: every reader)
        states: [production, shipping, shipped]    # optional: states it may be printed in (default: all)

Without `template:` the default layout (engine/printing/default_layout.html) is used with the given
title. The template's *text* is read when the flow loads and stored with the flow's revision
(docs/print.md), so a running server never reads files named by a flow again.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.language.identifiers import did_you_mean, identifier_problem
from forms.local_text import LocalText

# A plain file name beside the flow: no folders, no `..`, an .html or .jinja ending.
TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}\.(html|htm|jinja|j2)$")


class PrintSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(description="Identifier of the layout; names the PDF (…/print/<name>.pdf) and `attach:` of a reminder")
    title: LocalText | None = Field(default=None, description="Title printed at the top (default: the flow's title)")
    template: str | None = Field(default=None, description="A Jinja2 HTML file next to the flow file (default: the built-in layout)")
    for_: list[str] | None = Field(default=None, alias="for", description="Roles that may print it (default: every reader)")
    states: list[str] | None = Field(default=None, description="States in which it may be printed (default: every state)")

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("for", "states"):
                if isinstance(data.get(key), str):
                    data[key] = [data[key]]
        return data


Problem = tuple[tuple[Any, ...], str]


def print_problems(prints: list[PrintSpec], roles: set[str], states: set[str], reminder_attach: list[list[str]],
                   reminder_via: list[list[str]]) -> Iterator[Problem]:
    """Meaning problems of `print:` and of the reminders' `attach:` (names, roles, states, files)."""
    seen: set[str] = set()
    for i, p in enumerate(prints):
        base: tuple[Any, ...] = ("print", i)
        msg = identifier_problem(p.name, what="print layout")
        if msg:
            yield base + ("name",), str(msg)
        if p.name in seen:
            yield base + ("name",), f"print layout '{p.name}' is defined twice"
        seen.add(p.name)
        if p.template is not None and not TEMPLATE_NAME.match(p.template):
            yield base + ("template",), (f"template '{p.template}' must be a file name next to the flow file, "
                                         "ending in .html (no folders)")
        for j, role in enumerate(p.for_ or []):
            if role not in roles:
                yield base + ("for", j), f"unknown role '{role}'{did_you_mean(role, sorted(roles))}"
        for j, state in enumerate(p.states or []):
            if state not in states:
                yield base + ("states", j), f"unknown state '{state}'{did_you_mean(state, sorted(states))}"
    for i, (names, via) in enumerate(zip(reminder_attach, reminder_via)):
        for j, name in enumerate(names):
            if name not in seen:
                known = sorted(seen)
                hint = did_you_mean(name, known) if known else " (the flow has no `print:` layouts)"
                yield ("reminders", i, "attach", j), f"unknown print layout '{name}'{hint}"
        if names and "email" not in via:
            yield ("reminders", i, "attach"), "attach: sends a PDF by e-mail; add email to via"
