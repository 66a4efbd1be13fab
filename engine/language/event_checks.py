"""Meaning checks of `events:` (engine/language/event_spec.py): known fields, a setting name of its own."""
from __future__ import annotations

from typing import Any

from engine.language.identifiers import did_you_mean
from engine.language.spec import FlowSpec
from engine.settings import Settings

Path = tuple[Any, ...]
Problem = tuple[Path, str]


def _builtin_names() -> frozenset[str]:
    """Names Relayflow's own settings use (RELAYFLOW_DATABASE_URL …): an event URL may not be one of them."""
    return frozenset(name.upper() for name in Settings.model_fields)


def event_problems(spec: FlowSpec) -> list[Problem]:
    out: list[Problem] = []
    builtin = _builtin_names()
    for i, ev in enumerate(spec.events):
        base: Path = ("events", i)
        for j, name in enumerate(ev.fields):
            if name not in spec.fields:
                out.append((base + ("fields", j), f"unknown field '{name}'{did_you_mean(name, list(spec.fields))}"))
        for j, name in enumerate(ev.fields):
            if name in ev.fields[:j]:
                out.append((base + ("fields", j), f"field '{name}' is listed twice"))
        setting = ev.url_setting
        if setting in builtin or setting.removesuffix("_SECRET") in builtin:
            out.append((base + ("url_setting",), f"'{setting}' is one of Relayflow's own settings "
                                                  f"(RELAYFLOW_{setting}); name a setting of its own, e.g. ERP_WEBHOOK"))
    return out
