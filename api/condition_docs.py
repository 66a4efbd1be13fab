"""How the per-flow API schema (api/models.py) tells a conditional field's rule, in plain words.

The schema is read by developers, so the condition is quoted as the flow file writes it.
"""
from __future__ import annotations

from typing import Any

from forms import FieldSpecBase
from forms.local_text import pick


def field_description(f: FieldSpecBase, language: str | None) -> str | None:
    """The field's help, followed by what its `show_if` / `required_if` mean for a request."""
    parts: list[Any] = [pick(f.help, None, language)]
    if f.show_if:
        parts.append(f"Only used while `{f.show_if}`: otherwise a value sent for it is ignored and the stored one kept.")
    if f.required_if:
        parts.append(f"Required while `{f.required_if}`.")
    text = " ".join(p for p in parts if p)
    return text or None
