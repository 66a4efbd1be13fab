"""Flow text (titles, descriptions, help, choice labels, confirmations) in the reader's language.

A flow file may write any text for people as a plain string or as a mapping of
language tags (forms/local_text.py). Pages pick the reader's language (the
page's locale), falling back to the flow's `language`:

- in templates, `{{ x|local }}` (the page's `locale`, and the language of the
  `flow` in the template's context; `{{ x|local(flow) }}` names the flow when
  the context has none or another one);
- in Python views, `flow_text(x, locale, flow)`.
"""
from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from forms.local_text import pick


def flow_language(flow: Any) -> str | None:
    """The `language` of a compiled flow, a flow spec, or None."""
    spec = getattr(flow, "spec", flow)
    language = getattr(spec, "language", None)
    return language if isinstance(language, str) else None


def flow_text(text: Any, locale: str | None, flow: Any = None) -> str:
    """The words of `text` for a reader of `locale`, else in the flow's language ('' for no text)."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return pick(text, locale, flow_language(flow)) or ""


@pass_context
def local_filter(ctx: Context, text: Any, flow: Any = None) -> str:
    """`{{ t.title|local }}`: see the module docstring."""
    return flow_text(text, ctx.get("locale"), flow if flow is not None else ctx.get("flow"))


def reader_options(field: Any, options: list[tuple[str, str]], locale: str | None, flow: Any) -> list[tuple[str, str]]:
    """A field's (value, label) options with the labels of its `choices` in the reader's language."""
    choices = getattr(field, "choices", None)
    if not isinstance(choices, dict):
        return options
    return [(value, flow_text(choices[value], locale, flow) if value in choices else label) for value, label in options]


def reader_record_title(title: str, record_id: int, locale: str | None, flow: Any) -> str:
    """A record's title for this reader: a flow without `record_title` names records '<flow title> #<id>',
    and that flow title is picked in the reader's language (the stored title uses the flow's)."""
    if flow is None or getattr(flow, "title", None) is not None:
        return title
    return f"{flow_text(flow.spec.title, locale, flow) or flow.name} #{record_id}"


@pass_context
def record_title_filter(ctx: Context, rec: Any, flow: Any = None) -> str:
    """`{{ rec|record_title }}`: see `reader_record_title`."""
    return reader_record_title(rec.title, rec.id, ctx.get("locale"), flow if flow is not None else ctx.get("flow"))
