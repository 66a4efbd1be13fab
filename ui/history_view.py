"""The history timeline of a record: who, when, from → to, which fields changed how, comments."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.language.flow import CompiledFlow
from ui.i18n.flow_text import flow_text
from forms import TableField
from ui.table_view import table_changes
from ui.values import Gettext, display, from_json


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class Entry:
    who: str
    when: str
    when_iso: str
    action: str
    from_state: str | None
    to_state: str | None
    comment: str | None
    changes: list[Change] = field(default_factory=list)


def _state_title(flow: CompiledFlow, name: str | None, locale: str | None) -> str | None:
    if not name:
        return None
    st = flow.spec.states.get(name)
    return (flow_text(st.title, locale, flow) or name) if st else name


_TASK_ACTIONS = {"approve": "Approved", "reject": "Rejected", "hand_over": "Handed over", "add_approver": "Approver added",
                 "return": "Returned", "sent_back": "Sent back", "urge": "Urged"}


_EFFECTS = {"effect_create": "Created {flow} {title}", "effect_update": "Changed {flow} {title}",
            "created_by": "Created by {flow} {title}", "updated_by": "Changed by {flow} {title}"}
def _flow_title(name: Any, _: Gettext, flow: CompiledFlow, titles: Mapping[str, Any]) -> str:
    words = titles.get(str(name))
    return (flow_text(words, getattr(_, "locale", None), flow) if words else None) or str(name)


def _action(flow: CompiledFlow, row: Mapping[str, Any], _: Gettext, titles: Mapping[str, Any]) -> str:
    kind = row.get("action")
    if kind == "create":
        return _("Created")
    if kind == "edit":
        return _("Edited")
    if kind == "claim":
        return _("Claimed")
    if kind == "reassign":
        return _("Reassigned")
    if kind == "import":  # a spreadsheet import landed the record in a named state (engine/transfer/import_run.py)
        return _("Imported")
    if kind in _TASK_ACTIONS:  # approvals and the actions around a task (ui/approval_view.py)
        return _(_TASK_ACTIONS[kind])
    if kind in _EFFECTS:  # a transition's create / update effects, on both records (engine/records/effects.py)
        about = (row.get("changes") or {}).get("_effect") or {}
        return _(_EFFECTS[kind], flow=_flow_title(about.get("flow"), _, flow, titles),
                 title=about.get("title") or f"#{about.get('id')}")
    if kind == "transition":
        t = flow.spec.transitions.get(row.get("transition") or "")
        return (flow_text(t.title, getattr(_, "locale", None), flow) or row["transition"]) if t else str(row.get("transition") or kind)
    return str(kind)


def history_entries(flow: CompiledFlow, state: str, rows: list[dict[str, Any]], names: Mapping[int, str],
                    _: Gettext, flow_titles: Mapping[str, Any] | None = None) -> list[Entry]:
    """Newest first; diffs of fields hidden in the record's current state are left out. `flow_titles`:
    flow id → title, for the rows naming a record of another flow (a transition's effects)."""
    flow_titles = flow_titles or {}
    hidden = flow.hidden_fields(state) if state in flow.spec.states else frozenset()
    locale = getattr(_, "locale", None)
    out: list[Entry] = []
    for row in rows:
        changes: list[Change] = []
        for name, pair in (row.get("changes") or {}).items():
            if name in hidden or not isinstance(pair, (list, tuple)) or len(pair) != 2:
                continue
            old, new = pair
            if name == "assignee_id":
                def who(v: Any) -> str:
                    return names.get(int(v), f"#{v}") if isinstance(v, int) else _("(queue)")
                changes.append(Change(_("Assignee"), who(old), who(new)))
                continue
            f = flow.fields.get(name)
            if isinstance(f, TableField):  # rows added, removed, and changed field by field
                changes.extend(Change(c.label, c.before, c.after)
                               for c in table_changes(flow, name, f, old, new, _, names))
                continue
            if f is None:
                changes.append(Change(name, "" if old is None else str(old), "" if new is None else str(new)))
                continue
            changes.append(Change(flow_text(f.title, locale, flow) or name, display(f, from_json(f, old), flow.timezone, _, names),
                                  display(f, from_json(f, new), flow.timezone, _, names)))
        at: datetime = row["at"]
        who = row.get("actor_name") or (names.get(row["actor_id"]) if row.get("actor_id") else None) or _("system")
        if row.get("on_behalf_of"):  # stood in for someone away: both people (engine/people/delegation.py)
            who = _("{actor}, on behalf of {name}", actor=who,
                    name=row.get("on_behalf_of_name") or names.get(row["on_behalf_of"], f"#{row['on_behalf_of']}"))
        out.append(Entry(
            who=who,
            when=at.astimezone(flow.timezone).strftime("%Y-%m-%d %H:%M"), when_iso=at.isoformat(),
            action=_action(flow, row, _, flow_titles),
            from_state=_state_title(flow, row.get("from_state"), locale) if row.get("from_state") != row.get("to_state") else None,
            to_state=_state_title(flow, row.get("to_state"), locale) if row.get("from_state") != row.get("to_state") else None,
            comment=row.get("comment"), changes=changes))
    out.reverse()
    return out
