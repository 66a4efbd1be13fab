"""Generated forms: a view of every field for one record and one user, and form-post parsing.

A field is an input when the user may edit it in the record's state, shown
read-only otherwise, and left out when the state hides it. Posted strings
are parsed by the field type (`parse_form`); what was typed is kept, so a
form with errors comes back exactly as the user left it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from engine.records.access import FieldMode
from engine.language.flow import CompiledFlow
from forms import FieldValueError, TableField
from ui.i18n import translate_message
from ui.i18n.flow_text import flow_text, reader_options
from ui.table_view import parse_table_post, table_view
from ui.values import Gettext, display, link_of, to_inputs

@dataclass
class FieldView:
    name: str
    widget: str
    label: str
    help: str | None
    required: bool
    editable: bool
    computed: bool
    inputs: list[str]
    display: str
    href: str | None = None
    error: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    own_label: bool = False
    preformatted: bool = False
    # Conditional fields (ui/conditions_view.py): shown now, may become required, has a condition.
    shown: bool = True
    may_require: bool = False
    conditional: bool = False
    table: Any = None  # a table field's grid (ui/table_view.py TableView)

    @property
    def id(self) -> str:
        return f"f-{self.name}"

    @property
    def value(self) -> str:
        return self.inputs[-1] if self.inputs else ""


def build_fields(flow: CompiledFlow, modes: Mapping[str, FieldMode], values: Mapping[str, Any], _: Gettext, *,
                 typed: Mapping[str, list[str]] | None = None, errors: Mapping[str, str] | None = None,
                 user_options: Mapping[str, list[tuple[str, str]]] | None = None,
                 user_names: Mapping[int, str] | None = None) -> list[FieldView]:
    """Views of the shown fields, in the flow's order."""
    typed = typed or {}
    errors = errors or {}
    locale = getattr(_, "locale", None)
    out: list[FieldView] = []
    for name, f in flow.fields.items():
        mode = modes.get(name, FieldMode.READ)
        if mode == FieldMode.HIDDEN:
            continue
        value = values.get(name)
        editable = mode == FieldMode.EDIT
        options = reader_options(f, f.widget_options(), locale, flow)
        if not options and editable and user_options and name in user_options:
            options = list(user_options[name])  # people to pick, for a user field
        err = errors.get(name)
        kind = type(f)
        out.append(FieldView(
            name=name, widget=kind.widget, own_label=kind.own_label, preformatted=kind.preformatted,
            label=flow_text(f.title, locale, flow) or name, help=flow_text(f.help, locale, flow) or None,
            required=f.required and editable, editable=editable, computed=f.compute is not None,
            inputs=list(typed[name]) if name in typed else to_inputs(f, value, flow.timezone),
            display=display(f, value, flow.timezone, _, user_names), href=link_of(f, value),
            error=translate_message(_, err) if err else None, options=options, attrs=f.widget_attrs()))
        if isinstance(f, TableField):
            out[-1].table = table_view(flow, name, f, value, editable, _, typed=typed, errors=errors,
                                       user_options=user_options, user_names=user_names)
    return out


@dataclass
class Posted:
    """A parsed form post: canonical values, the typed strings, errors, and fields it may not set."""

    values: dict[str, Any]
    typed: dict[str, list[str]]
    errors: dict[str, str]
    forbidden: list[str]


def _strings(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]


def parse_post(flow: CompiledFlow, form: FormData, editable: frozenset[str], *, only_present: bool = False) -> Posted:
    """Parse the editable fields of a post; note any other field of the flow the post tries to set.
    Only the field types' parsing is checked here: required fields, defaults and the comment are the
    engine's to check (engine/records/transitions.py), and the pages show its refusals.

    `only_present`: a field the post does not name is left alone (record pages); otherwise it is
    read as empty (the new-record form). Checkboxes always post a value (a hidden input before them).
    """
    values: dict[str, Any] = {}
    typed: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    present = set(form.keys())
    for name in flow.fields:
        if name not in editable or (only_present and name not in present):
            continue
        f = flow.fields[name]
        if isinstance(f, TableField):  # its cells are posted as lines.<row>.<field>
            rows = parse_table_post(flow, name, f, form, typed, errors)
            if rows is not None:
                values[name] = rows
            continue
        strings = _strings(form, name)
        typed[name] = strings
        try:
            value = f.parse_form(strings, tz=flow.timezone)
        except FieldValueError as exc:
            errors[name] = exc.message
            continue
        values[name] = value
    forbidden = [k for k in form.keys() if k in flow.fields and k not in editable]
    return Posted(values, typed, errors, forbidden)
