"""The words of refusals and validation errors, for people.

Every message is a `forms.messages.Message` whose parameters hold titles as
the flow writes them (`forms.local_text.Titled`, `TitleList`): the page that
shows a message picks the reader's language (ui/i18n `translate_message`),
and as plain text (API answers, logs) it reads in the flow's language.
A message names fields, states, transitions and roles by their titles; it
never shows an expression, a regular expression or a field id (an id only
stands in when the flow gives no title).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from forms.local_text import TitleList, Titled
from forms.messages import Message
from engine.language.flow import CompiledFlow
from engine.language.spec import TransitionSpec


def field_title(flow: CompiledFlow, name: str) -> Titled:
    f = flow.fields.get(name)
    return Titled((f.title if f is not None else None) or name, flow.spec.language)


def field_titles(flow: CompiledFlow, names: Iterable[str]) -> TitleList:
    return TitleList(tuple(field_title(flow, n) for n in names))


def state_title(flow: CompiledFlow, name: str) -> Titled:
    st = flow.spec.states.get(name)
    return Titled((st.title if st is not None else None) or name, flow.spec.language)


def transition_title(flow: CompiledFlow, t: TransitionSpec, name: str) -> Titled:
    return Titled(t.title or name, flow.spec.language)


def role_titles(flow: CompiledFlow, roles: Iterable[str]) -> TitleList:
    spec = flow.spec.roles
    return TitleList(tuple(Titled((spec[r].title if r in spec else None) or r, flow.spec.language) for r in roles))


def flow_title(flow: CompiledFlow) -> Titled:
    return Titled(flow.spec.title or flow.name, flow.spec.language)


def condition_refusal(flow: CompiledFlow, t: TransitionSpec, names: Iterable[str], *, decided: bool) -> Message:
    """Why a false (or not yet decidable) condition refuses: the author's `message`, else the titles of
    the fields the condition reads."""
    if t.when_message:
        return Message("condition_failed", "{message}", message=Titled(t.when_message, flow.spec.language))
    fields = [n for n in flow.fields if n in set(names)]
    if not decided:
        if fields:
            return Message("condition_undecided", "cannot be decided yet: fill in {fields}", fields=field_titles(flow, fields))
        return Message("condition_undecided", "cannot be decided yet")
    if fields:
        return Message("condition_failed", "not possible with these values of {fields}", fields=field_titles(flow, fields))
    return Message("condition_failed", "not possible now")


def invalid_values(flow: CompiledFlow, errors: Mapping[str, str]) -> Message:
    """The summary of a `ValidationFailed` (an API answer's `detail`): the fields by title, each with its error."""
    items = [Message("field_error", "{field}: {error}", field=field_title(flow, n), error=e) for n, e in errors.items()]
    if len(items) == 1:
        return items[0]
    return Message("invalid_values", "{first} (and {n} more)", first=items[0], n=len(items) - 1)
