"""Meaning checks of approvals, task actions and notify_on_change (the keys of approval_spec.py).

Every problem is located (a path into the YAML document). The main rule: a stage whose approval rule
can never be decided is refused when the file loads: a quorum, or a number of rejections, larger than
the approvers the stage can ever have (when every approver is one person: a user field, a manager).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.language.identifiers import did_you_mean
from engine.language.spec import FlowSpec

Path = tuple[Any, ...]
Problem = tuple[Path, str]


def _ref(kind: str, name: str, known: Any) -> str:
    return f"unknown {kind} '{name}'{did_you_mean(name, list(known))}"


def _user_field(spec: FlowSpec, name: str, at: Path, what: str) -> Iterator[Problem]:
    if name not in spec.fields:
        yield at, f"{what} takes 'creator' or a user field; {_ref('field', name, spec.fields)}"
    elif spec.fields[name].type != "user":
        yield at, f"{what}: field '{name}' must be a user field, not {spec.fields[name].type}"


def approver_problems(spec: FlowSpec, approvers: list[str], at: Path) -> Iterator[Problem]:
    for i, entry in enumerate(approvers):
        kind, _, name = entry.partition(":")
        kind, name = kind.strip(), name.strip()
        if kind == "role" and name:
            if name not in spec.roles:
                yield at + (i,), _ref("role", name, spec.roles)
        elif kind == "field" and name:
            yield from _user_field(spec, name, at + (i,), "field:")
        elif kind == "manager_of" and name:
            if name != "creator":
                yield from _user_field(spec, name, at + (i,), "manager_of")
        else:
            yield at + (i,), (f"unknown approver '{entry}': use role:<role>, field:<user field>, "
                              "manager_of:creator or manager_of:<user field>")


def _approval(spec: FlowSpec, name: str) -> Iterator[Problem]:
    st = spec.states[name]
    ap = st.approval
    if ap is None:
        return
    base: Path = ("states", name, "approval")
    if st.final:
        yield base, f"final state '{name}' is closed; nobody can approve in it"
        return
    if not ap.approvers:
        yield base + ("approvers",), "an approval needs at least one approver"
    yield from approver_problems(spec, ap.approvers, base + ("approvers",))
    for i, who in enumerate(ap.distinct_from):
        if who != "creator":
            yield from _user_field(spec, who, base + ("distinct_from", i), "distinct_from")
    # How many approvers can the stage ever have? A role has any number of members; a field or a manager
    # is one person. Added approvers (add_approver) come on top, so with `allow: [add_approver]` there is no bound.
    bounded = all(not a.strip().startswith("role:") for a in ap.approvers) and "add_approver" not in st.allow
    most = len(set(a.replace(" ", "") for a in ap.approvers))
    if not isinstance(ap.mode, str):
        q = ap.mode
        if bounded and isinstance(q.quorum, int) and q.quorum > most:
            yield base + ("mode", "quorum"), (f"the stage can never pass: it needs {q.quorum} approvals but has at most "
                                              f"{most} approver{'s' if most != 1 else ''}")
        if bounded and q.reject is not None and q.reject > most:
            yield base + ("mode", "reject"), (f"the stage can never be rejected: it needs {q.reject} rejections but has "
                                              f"at most {most} approver{'s' if most != 1 else ''}")
    passing = [t for t, ts in spec.transitions.items() if ts.on == "approval_passed" and name in ts.from_]
    if not passing:
        yield base, (f"state '{name}' has an approval but no transition leaves it when it passes: add one with "
                     f"`from: {name}` and `on: approval_passed`")
    elif len(passing) > 1:
        yield ("transitions", passing[1], "on"), f"state '{name}' already moves on with '{passing[0]}' when its approval passes"
    if ap.on_reject != "send_back":
        t = spec.transitions.get(ap.on_reject)
        if t is None:
            yield base + ("on_reject",), f"on_reject takes send_back or a transition; {_ref('transition', ap.on_reject, spec.transitions)}"
        elif name not in t.from_:
            yield base + ("on_reject",), f"on_reject transition '{ap.on_reject}' does not leave state '{name}'"


def _task_actions(spec: FlowSpec, name: str) -> Iterator[Problem]:
    st = spec.states[name]
    base: Path = ("states", name)
    if st.final and st.allow:
        yield base + ("allow",), f"final state '{name}' is closed; nothing can be handed over, returned or urged in it"
    if isinstance(st.return_to, list):
        for i, s in enumerate(st.return_to):
            if s not in spec.states:
                yield base + ("return_to", i), _ref("state", s, spec.states)
            elif spec.states[s].final:
                yield base + ("return_to", i), f"state '{s}' is final; a record cannot be returned to it"
    if st.return_to is not None and "return" not in st.allow:
        yield base + ("return_to",), f"return_to has no effect unless state '{name}' allows return (allow: [return])"
    if st.urge is not None:
        for i, who in enumerate(st.urge.by):
            kind, _, role = who.partition(":")
            if who in ("creator", "assignee"):
                continue
            if kind == "role" and role:
                if role not in spec.roles:
                    yield base + ("urge", "by", i), _ref("role", role, spec.roles)
            else:
                yield base + ("urge", "by", i), f"unknown urger '{who}': use creator or role:<role>"
        if "urge" not in st.allow:
            yield base + ("urge",), f"urge has no effect unless state '{name}' allows it (allow: [urge])"
    elif "urge" in st.allow:
        yield base + ("allow",), f"state '{name}' allows urge: say who may urge and how often, e.g. urge: {{by: [creator], every: 2h}}"
    if "add_approver" in st.allow and st.approval is None and st.owner is None:
        yield base + ("allow",), f"add_approver needs an approval or an owner in state '{name}'"


def _transitions(spec: FlowSpec) -> Iterator[Problem]:
    for name, t in spec.transitions.items():
        if t.on is None:
            continue
        base: Path = ("transitions", name)
        if t.by:
            yield base + ("by",), f"transition '{name}' fires by itself ({t.on}); it takes no `by`"
        for i, s in enumerate(t.from_):
            if s in spec.states and spec.states[s].approval is None:
                yield base + ("from", i), f"state '{s}' has no approval; '{name}' would never fire"


def _notify_on_change(spec: FlowSpec) -> Iterator[Problem]:
    for i, rule in enumerate(spec.notify_on_change):
        base: Path = ("notify_on_change", i)
        for j, f in enumerate(rule.fields):
            if f not in spec.fields:
                yield base + ("fields", j), _ref("field", f, spec.fields)
        for j, s in enumerate(rule.states or []):
            if s not in spec.states:
                yield base + ("states", j), _ref("state", s, spec.states)
        for j, target in enumerate(rule.notify):
            kind, _, nm = target.partition(":")
            if target in ("assignee", "creator"):
                continue
            if kind == "role" and nm:
                if nm not in spec.roles:
                    yield base + ("notify", j), _ref("role", nm, spec.roles)
            elif kind == "field" and nm:
                yield from _user_field(spec, nm, base + ("notify", j), "field:")
            else:
                yield base + ("notify", j), f"unknown recipient '{target}': use assignee, creator, role:<role> or field:<user field>"
    for j, f in enumerate(spec.inbox_fields):
        if f not in spec.fields:
            yield ("inbox_fields", j), _ref("field", f, spec.fields)


def approval_problems(spec: FlowSpec) -> list[Problem]:
    out: list[Problem] = []
    for name in spec.states:
        out.extend(_approval(spec, name))
        out.extend(_task_actions(spec, name))
    out.extend(_transitions(spec))
    out.extend(_notify_on_change(spec))
    return out
