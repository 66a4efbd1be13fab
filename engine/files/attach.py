"""Attaching files to a record's file fields, inside the record write's own transaction.

A record write names the ids of a field's files. Before anything is written
(`plan_files`) each newly named id must be a pending upload of the writer for
this flow and field, or a file this record had before; otherwise the write is
refused with a field error and nothing changes. The write (`FilePlan.write`)
then marks the files attached to the record (or removed from it: the row and
the content stay, so the history still names the file) on the same
transaction as the record's UPDATE/INSERT and its history row, and the
history row gets the files' names instead of their ids.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from engine.language.flow import CompiledFlow
from engine.records.errors import ValidationFailed
from engine.storage.executor import WriteTransaction
from engine.storage.schema import files
from forms.file_field import FileField
from forms.messages import Message

UNKNOWN_FILE = "this file was not found; upload it again"


def file_field_names(flow: CompiledFlow) -> list[str]:
    return [n for n, f in flow.fields.items() if isinstance(f, FileField)]


@dataclass
class FilePlan:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    history: dict[str, list[Any]] = field(default_factory=dict)
    """field -> [files before, files after] as [{id, name}], for the history row."""

    def write(self, tx: WriteTransaction, record_id: int, now: datetime) -> None:
        if self.added:
            tx.execute(update(files).where(files.c.id.in_(self.added))
                       .values(record_id=record_id, attached_at=now, removed_at=None))
        if self.removed:
            tx.execute(update(files).where(files.c.id.in_(self.removed), files.c.record_id == record_id)
                       .values(removed_at=now))


def plan_files(conn: Connection, flow: CompiledFlow, record_id: int | None, actor_id: int | None,
               before: Mapping[str, Any], after: Mapping[str, Any], names: list[str]) -> FilePlan | None:
    """What a write does to the files of `names` (file fields it changes); ValidationFailed when it names
    a file that is not the writer's pending upload for the field nor already the record's."""
    pairs = {n: (list(before.get(n) or []), list(after.get(n) or [])) for n in names}
    pairs = {n: (old, new) for n, (old, new) in pairs.items() if old != new}
    if not pairs:
        return None
    ids = sorted({i for old, new in pairs.values() for i in (*old, *new)})
    rows = {r["id"]: r for r in conn.execute(select(files.c.id, files.c.name, files.c.flow, files.c.field,
                                                    files.c.record_id, files.c.uploaded_by)
                                             .where(files.c.id.in_(ids))).mappings()}
    plan = FilePlan()
    errors: dict[str, str] = {}
    for name, (old, new) in pairs.items():
        for file_id in new:
            if file_id in old:
                continue
            row = rows.get(file_id)
            mine = row is not None and row["flow"] == flow.name and row["field"] == name and (
                (row["record_id"] is None and actor_id is not None and row["uploaded_by"] == actor_id)
                or (record_id is not None and row["record_id"] == record_id))
            if not mine:
                errors[name] = Message("file_unknown", UNKNOWN_FILE)
                break
            plan.added.append(file_id)
        plan.removed.extend(i for i in old if i not in new)

        def named(items: list[str]) -> list[dict[str, str]] | None:
            return [{"id": i, "name": rows[i]["name"] if i in rows else ""} for i in items] or None

        plan.history[name] = [named(old), named(new)]
    if errors:
        raise ValidationFailed(errors)
    return plan
