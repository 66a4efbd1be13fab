"""The Jinja2 environment of the pages (autoescape on for every template)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape
from starlette.responses import HTMLResponse

from forms import FIELD_TYPES
from ui.i18n.flow_text import local_filter, record_title_filter

TEMPLATES = Path(__file__).parent / "templates"


class FieldTypeLoader(BaseLoader):
    """The pages' templates, then the `template_dir` of each registered field type.

    A field type defined outside this package brings its widget as
    `<template_dir>/widgets/<widget>.html`; nothing here names it.
    """

    def __init__(self, root: Path) -> None:
        self.root = FileSystemLoader(str(root))

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        try:
            return self.root.get_source(environment, template)
        except TemplateNotFound:
            pass
        for folder in dict.fromkeys(str(cls.template_dir) for cls in FIELD_TYPES.values() if cls.template_dir):
            try:
                return FileSystemLoader(folder).get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)


env = Environment(
    loader=FieldTypeLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html", "svg"), default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
env.filters["local"] = local_filter  # flow text in the reader's language (ui/i18n/flow_text.py)
env.filters["record_title"] = record_title_filter


def render(name: str, context: dict[str, Any], status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    html = env.get_template(name).render(context)
    return HTMLResponse(html, status_code=status_code, headers=headers)
