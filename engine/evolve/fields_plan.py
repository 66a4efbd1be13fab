"""Fields: columns added, renamed (only through `renamed_from:`), retired, restored, converted.

A removed field's column stays in the table with its values, hidden; the
field's spec is remembered (retired_columns). When a field of that name comes
back, or a field says `renamed_from:` that name, the values are visible again.
"""
from __future__ import annotations

from forms.local_text import pick
from forms.message_parts import Count, Label
from forms.messages import Message
from engine.evolve.column_types import (
    check_values, converter, read_type, strategy_for, type_key, value_rules,
)
from engine.evolve.context import PlanContext
from engine.evolve.estimates import rewrite_seconds
from engine.evolve.plan_words import seconds_words, type_words
from engine.evolve.schema_steps import ConvertColumn, RenameColumn, RestoreColumn, RetireColumn
from forms import FieldSpecBase


def plan_fields(ctx: PlanContext) -> None:
    facts = ctx.facts
    if not facts.exists:
        return
    old_fields = ctx.old.fields if ctx.old else {}
    present = set(facts.field_columns)
    consumed: set[str] = set()
    for name, new in ctx.flow.fields.items():
        if not new.stored_in_row:
            continue  # a table field: planned with its child table (row_tables_plan.py)
        source = _source_column(ctx, name, new, present, old_fields)
        if source in consumed:
            source = None  # two fields of the new file cannot share one column
        if source is None:
            ctx.change("fields", "field_added", name,
                       Message("plan.field_added", "New field {field}, {type}: a new empty column; "
                               "existing records have no value yet", field=ctx.field_label(name), type=type_words(new)))
            continue
        consumed.add(source)
        was_live = source in old_fields
        old_spec = old_fields[source] if was_live else facts.retired.get(source)
        if source != name:
            _rename(ctx, name, source, was_live)
        elif not was_live:
            n = ctx.values_in(name)
            ctx.change("fields", "field_restored", name,
                       Message("plan.field_restored", "Field {field} comes back: its {values} are visible again",
                               field=ctx.field_label(name), values=Count(n, "kept value")), "data", count=n)
            if name in facts.retired:
                ctx.step(RestoreColumn(ctx.flow.name, name))
        _plan_type(ctx, name, source, old_spec, new)
        if was_live:
            _plan_presentation(ctx, name, source, old_fields[source], new)
    for col in facts.field_columns:
        if col in consumed:
            continue
        ctx.kept_columns[col] = facts.columns[col]
        if col in old_fields:
            n = ctx.values_in(col)
            ctx.change("fields", "field_retired", col,
                       Message("plan.field_retired", "Field {field} is removed from the form: its column and "
                               "{values} are kept, hidden, and come back if the field returns",
                               field=ctx.field_label(col, ctx.old), values=Count(n, "stored value")),
                       "data", count=n)
            ctx.step(RetireColumn(ctx.flow.name, col, old_fields[col]))


def _source_column(ctx: PlanContext, name: str, new: FieldSpecBase, present: set[str],
                   old_fields: dict[str, FieldSpecBase]) -> str | None:
    """The column that holds this field's values today, if any."""
    old_name = new.renamed_from
    rename_possible = old_name is not None and old_name in present and old_name not in ctx.flow.fields
    if name in present:
        if rename_possible and old_name in old_fields and name not in old_fields:
            ctx.change("fields", "rename_conflict", name,
                       Message("plan.rename_conflict", "Field {field} is renamed from {old}, but the table also holds "
                               "kept values of an earlier field '{name}': choose another name for the field",
                               field=ctx.field_label(name), old=_old_label(ctx, old_name), name=name), "refused")
        return name
    if rename_possible:
        return old_name
    return _renamed_away(ctx, name, present, old_fields)


def _renamed_away(ctx: PlanContext, name: str, present: set[str], old_fields: dict[str, FieldSpecBase]) -> str | None:
    """The column that earlier renames took `name`'s values to, if the new file no longer uses it: a rollback."""
    free = present - set(ctx.flow.fields) - {f.renamed_from for f in ctx.flow.fields.values() if f.renamed_from}
    current, seen = name, {name}
    for old, new in ctx.rename_history:  # oldest first: follow name → new name → newer name ...
        if old == current and new not in seen:
            current = new
            seen.add(new)
    if current != name and current in free:
        return current
    for col in sorted(free):  # revisions applied before plans were stored: the live file's renamed_from
        spec = old_fields.get(col) or ctx.facts.retired.get(col)
        if spec is not None and spec.renamed_from == name:
            return col
    return None


def _rename(ctx: PlanContext, name: str, source: str, was_live: bool) -> None:
    n = ctx.values_in(source)
    ctx.renamed_columns[name] = source
    ctx.step(RenameColumn(ctx.table_name, source, name))
    if was_live:
        ctx.change("fields", "field_renamed", name,
                   Message("plan.field_renamed", "Field {old} is renamed to {field}: its {values} stay with their records",
                           old=_old_label(ctx, source), field=ctx.field_label(name), values=Count(n, "value")),
                   "data", count=n)
        if source in ctx.facts.retired:
            ctx.step(RestoreColumn(ctx.flow.name, source))
    else:
        ctx.change("fields", "field_restored", name,
                   Message("plan.field_takes_over", "Field {field} takes over the kept values of the removed field {old} "
                           "({values})", field=ctx.field_label(name), old=_old_label(ctx, source), values=Count(n, "value")),
                   "data", count=n)
        ctx.step(RestoreColumn(ctx.flow.name, source))


def _plan_type(ctx: PlanContext, name: str, source: str, old: FieldSpecBase | None, new: FieldSpecBase) -> None:
    reflected = ctx.facts.columns[source]
    old_type = read_type(old, reflected)
    dialect = ctx.conn.dialect
    if old is None:
        if strategy_for(reflected, new, dialect) != "none":
            ctx.change("fields", "unknown_column", name,
                       Message("plan.unknown_column", "Column '{column}' holds values of an earlier field whose type was "
                               "not recorded ({stored}); they cannot be read as {type}: give the field another name",
                               column=source, stored=str(reflected), type=type_words(new)),
                       "refused")
        return
    type_changed = type_key(old) != type_key(new)
    rules_changed = value_rules(old) != value_rules(new)
    if not type_changed and not rules_changed:
        return
    label = ctx.field_label(name)
    check = check_values(ctx.conn, ctx.table_name, source, old_type, converter(old, new, ctx.flow.timezone))
    examples = check.examples
    if type_changed:
        strategy = strategy_for(old_type, new, dialect, old)
        types = {"field": label, "old": type_words(old), "new": type_words(new)}
        if check.failed:
            ctx.change("fields", "type_refused", name,
                       Message("plan.type_refused", "Field {field} changes from {old} to {new}, but {failed} would not "
                               "convert (of {checked:,}); the change is refused until these records are corrected or "
                               "the field keeps a type that fits them",
                               **types, failed=Count(check.failed, "stored value"), checked=check.checked),
                       "refused", count=check.failed, examples=examples)
            return
        values = Count(check.checked, "stored value")
        if strategy == "rewrite":
            seconds = rewrite_seconds(ctx.dialect, check.checked)
            ctx.change("fields", "type_changed", name,
                       Message("plan.type_rewritten", "Field {field} changes from {old} to {new}: all {values} convert "
                               "and are rewritten ({duration})", **types, values=values, duration=seconds_words(seconds)),
                       "data", count=check.checked, seconds=seconds)
        else:
            ctx.change("fields", "type_changed", name,
                       Message("plan.type_fits", "Field {field} changes from {old} to {new}: all {values} fit as they are",
                               **types, values=values), "safe", count=check.checked)
        if strategy != "none":
            ctx.converted.add(name)
            ctx.step(ConvertColumn(ctx.table_name, name, old, old_type, new, strategy))
        return
    if check.failed:
        ctx.change("fields", "rules_changed", name,
                   Message("plan.rules_unmet", "Field {field} has new rules that {values} do not meet; "
                           "they are kept, and whoever next changes them must correct them",
                           field=label, values=Count(check.failed, "stored value")), "data",
                   count=check.failed, examples=examples)
    else:
        ctx.change("fields", "rules_changed", name,
                   Message("plan.rules_met", "Field {field} has new rules; every stored value meets them", field=label))


def _plan_presentation(ctx: PlanContext, name: str, source: str, old: FieldSpecBase, new: FieldSpecBase) -> None:
    label = ctx.field_label(name)
    if old.title != new.title:
        ctx.change("fields", "field_title", name,
                   Message("plan.field_title", "Field {old} is now labelled {new}",
                           old=Label(name, old.title, ctx.old.spec.language if ctx.old else None, plain=f"'{name}'"),
                           new=Label(name, new.title, ctx.flow.spec.language,
                                     plain=f"'{pick(new.title, None, ctx.flow.spec.language) or name}'")))
    if new.required and not old.required:
        # Before the apply the values are still in `source` (the column a rename takes over).
        missing = ctx.rows() - ctx.values_in(source) if ctx.facts.exists else 0
        ctx.change("fields", "field_required", name, Message(
            "plan.field_required_missing", "Field {field} becomes required: {records} have no value yet and must get "
            "one when next saved", field=label, records=Count(missing, "record")) if missing else Message(
            "plan.field_required", "Field {field} becomes required", field=label))
    elif old.required and not new.required:
        ctx.change("fields", "field_required", name,
                   Message("plan.field_optional", "Field {field} is no longer required", field=label))
    if old.compute != new.compute:
        ctx.change("fields", "field_compute", name,
                   Message("plan.field_compute", "Field {field} gets a new formula; stored values are recomputed when "
                           "each record is next saved", field=label))
    if old.default != new.default:
        ctx.change("fields", "field_default", name,
                   Message("plan.field_default", "Field {field}: new records start with a different value", field=label))


def _old_label(ctx: PlanContext, column: str) -> Label:
    """A field of the live file (or a removed one) by its old name: its title there when it had one."""
    old = (ctx.old.fields.get(column) if ctx.old else None) or ctx.facts.retired.get(column)
    return Label(column, old.title if old is not None else None, ctx.old.spec.language if ctx.old else None,
                 plain=f"'{column}'")
