"""A unique value refused by the database when its message does not say which field it was.

The database names the column in most messages; when it does not, the error
still names the field by its title: the only unique field of the flow, or the
unique fields in a list. Never the word "record" or a column id.
"""
from __future__ import annotations

from forms.local_text import TitleList
from forms.messages import Message
from engine.language.flow import CompiledFlow
from engine.records.errors import ValidationFailed
from engine.records.refusal_words import invalid_values


def unnamed_unique_error(flow: CompiledFlow) -> ValidationFailed:
    unique = [name for name, f in flow.fields.items() if f.unique]
    if len(unique) == 1:
        errors: dict[str, str] = {unique[0]: Message("unique", "this value is already used by another record")}
        return ValidationFailed(errors, invalid_values(flow, errors))
    titles = TitleList.of((flow.fields[n].title or n for n in unique), flow.spec.language)
    errors = {unique[0] if unique else "record": Message(
        "unique_among", "one of the values of {fields} is already used by another record", fields=titles)}
    return ValidationFailed(errors, invalid_values(flow, errors))
