"""The mapping of an import: which column of the file fills which field, guessed, checked and remembered.

A column is guessed from its header in any language: a header equal (case and spacing aside) to a field's
id or to any of its titles maps to it. Only fields a creator may set can be filled (computed fields, files
and fetched snapshots are left to the engine). The record state is never guessed: a column only lands
records in a named state when the person maps it to "state" explicitly (engine/transfer/import_run.py).
Line items come from another sheet (an XLSX sheet, or a CSV in the ZIP) whose name is the table's title or
id, keyed by a column holding the record's key. What a person chose is remembered per flow and user
(table `import_mappings`) and offered first next time.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, select

from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.storage.schema import import_mappings
from engine.transfer.list_export import key_field
from engine.transfer.upload import ImportFile
from forms import FieldSpecBase
from forms.local_text import pick
from forms.messages import Message
from forms.unicode_text import nfc

STATE = "@state"  # a column mapped to the record's state (explicit only)


def norm(text: Any) -> str:
    """A header as compared: NFC, case-folded, spaces collapsed, a trailing `*` or colon dropped."""
    s = re.sub(r"\s+", " ", nfc(str(text or "")).strip()).casefold()
    return s.rstrip("*:：").strip()


def names_of(name: str, f: FieldSpecBase) -> set[str]:
    """Everything a header may say to mean field `name`: its id and its title in every language."""
    out = {norm(name)}
    title = f.title
    if isinstance(title, str):
        out.add(norm(title))
    elif isinstance(title, Mapping):
        out |= {norm(v) for v in title.values()}
    return out - {""}


def importable_fields(flow: CompiledFlow) -> dict[str, FieldSpecBase]:
    """Record fields an import can fill: those a creator sets, besides tables and files."""
    return {n: f for n, f in flow.fields.items() if n in flow.create_fields and f.type not in ("table", "file")}


def importable_tables(flow: CompiledFlow) -> list[str]:
    return [n for n in flow.tables if n in flow.create_fields]


def row_inputs(flow: CompiledFlow, table: str) -> dict[str, FieldSpecBase]:
    return {n: f for n, f in flow.tables[table].spec.input_fields.items() if f.type != "file"}


def key_candidates(flow: CompiledFlow) -> list[str]:
    return [n for n, f in importable_fields(flow).items() if f.unique]


@dataclass
class TableMapping:
    sheet: str
    key_column: str
    columns: dict[str, str] = field(default_factory=dict)  # header → row field


@dataclass
class ImportMapping:
    columns: dict[str, str] = field(default_factory=dict)  # header → field (or STATE)
    key: str | None = None
    tables: dict[str, TableMapping] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)  # cell text (normalised) → state, when a column is STATE

    def to_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "key": self.key, "states": self.states,
                "tables": {k: {"sheet": t.sheet, "key_column": t.key_column, "columns": t.columns} for k, t in self.tables.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImportMapping:
        """A mapping from its JSON (a client's, too: anything that is not the right shape is left out)."""
        def pairs(value: Any) -> dict[str, str]:
            return {str(a): str(b) for a, b in value.items() if b} if isinstance(value, Mapping) else {}

        raw_tables = data.get("tables")
        tables = {str(k): TableMapping(str(v.get("sheet") or ""), str(v.get("key_column") or ""), pairs(v.get("columns")))
                  for k, v in (raw_tables.items() if isinstance(raw_tables, Mapping) else ()) if isinstance(v, Mapping)}
        key = data.get("key")
        return cls(pairs(data.get("columns")), str(key) if isinstance(key, str) and key else None, tables,
                   pairs(data.get("states")))

    def column_of(self, name: str) -> str | None:
        """The header mapped to field `name`."""
        return next((h for h, f in self.columns.items() if f == name), None)


def _match(header: str, candidates: Mapping[str, FieldSpecBase]) -> str | None:
    h = norm(header)
    if not h:
        return None
    for name, f in candidates.items():
        if h in names_of(name, f):
            return name
    return None


def guess_mapping(flow: CompiledFlow, upload: ImportFile, remembered: ImportMapping | None = None) -> ImportMapping:
    """A mapping from the file's headers (then what this person chose last time, for headers still there)."""
    main = upload.sheets[0]
    fields = importable_fields(flow)
    mapping = ImportMapping()
    for header in main.headers:
        name = _match(header, fields)
        if name and name not in mapping.columns.values():
            mapping.columns[header] = name
    key = key_field(flow)
    mapping.key = key if key and key in mapping.columns.values() else None
    key_names = names_of(key, flow.fields[key]) if key else set()
    others = upload.sheets[1:]
    for tname in importable_tables(flow):
        spec_field = flow.fields[tname]
        wanted = names_of(tname, spec_field)
        sheet = next((s for s in others if norm(s.name) in wanted), None)
        if sheet is None and len(others) == 1 and len(importable_tables(flow)) == 1:
            sheet = others[0]
        if sheet is None:
            continue
        key_col = next((h for h in sheet.headers if norm(h) in key_names), "")
        cols: dict[str, str] = {}
        for header in sheet.headers:
            if header == key_col:
                continue
            name = _match(header, row_inputs(flow, tname))
            if name and name not in cols.values():
                cols[header] = name
        mapping.tables[tname] = TableMapping(sheet.name, key_col, cols)
    if remembered is not None:
        _apply_remembered(flow, upload, mapping, remembered)
    return mapping


def _apply_remembered(flow: CompiledFlow, upload: ImportFile, mapping: ImportMapping, old: ImportMapping) -> None:
    headers = set(upload.sheets[0].headers)
    for header, target in old.columns.items():
        if header in headers and (target in importable_fields(flow) or target == STATE):
            mapping.columns = {h: f for h, f in mapping.columns.items() if f != target and h != header}
            mapping.columns[header] = target
    if old.key and old.key in mapping.columns.values():
        mapping.key = old.key
    mapping.states.update(old.states)
    for tname, tm in old.tables.items():
        sheet = upload.sheet(tm.sheet)
        if sheet is None or tname not in importable_tables(flow):
            continue
        cols = {h: f for h, f in tm.columns.items() if h in sheet.headers and f in row_inputs(flow, tname)}
        key_col = tm.key_column if tm.key_column in sheet.headers else ""
        mapping.tables[tname] = TableMapping(sheet.name, key_col, cols)


def mapping_problems(flow: CompiledFlow, upload: ImportFile, mapping: ImportMapping, actor: Actor,
                     lang: str | None) -> list[Message]:
    """What is wrong with a mapping, in words naming columns and field titles (empty: it can run)."""
    fb = flow.spec.language
    out: list[Message] = []
    main = upload.sheets[0]
    fields = importable_fields(flow)

    def title(f: FieldSpecBase, name: str) -> str:
        return pick(f.title, lang, fb) or name

    if not any(t != STATE for t in mapping.columns.values()):
        out.append(Message("import_nothing_mapped", "map at least one column to a field"))
    seen: dict[str, str] = {}
    for header, target in mapping.columns.items():
        if header not in main.headers:
            out.append(Message("import_no_column", "the file has no column '{c}'", c=header))
        elif target == STATE:
            if not actor.is_admin:
                out.append(Message("import_state_admin", "only an administrator may import records into a named state"))
        elif target not in fields:
            out.append(Message("import_not_importable", "column '{c}' cannot fill that field", c=header))
        elif target in seen:
            out.append(Message("import_twice", "'{f}' is filled by two columns: '{a}' and '{b}'",
                               f=title(fields[target], target), a=seen[target], b=header))
        else:
            seen[target] = header
    if mapping.key is not None and (mapping.key not in fields or not fields[mapping.key].unique):
        out.append(Message("import_bad_key", "the key must be a field whose values are unique"))
    elif mapping.key is not None and mapping.key not in seen:
        out.append(Message("import_key_unmapped", "choose the column that holds '{f}', the key",
                           f=title(fields[mapping.key], mapping.key)))
    for tname, tm in mapping.tables.items():
        if tname not in importable_tables(flow):
            out.append(Message("import_not_table", "'{s}' cannot be imported as line items", s=tm.sheet))
            continue
        sheet = upload.sheet(tm.sheet)
        ttitle = title(flow.fields[tname], tname)
        if sheet is None:
            out.append(Message("import_no_sheet", "the file has no sheet '{s}'", s=tm.sheet))
            continue
        if mapping.key is None:
            out.append(Message("import_lines_need_key", "'{t}' needs a key column to find each row's record", t=ttitle))
        elif tm.key_column not in sheet.headers:
            out.append(Message("import_lines_no_key", "choose the column of sheet '{s}' that holds the key", s=tm.sheet))
        inputs = row_inputs(flow, tname)
        for header, target in tm.columns.items():
            if header not in sheet.headers:
                out.append(Message("import_no_column", "the file has no column '{c}'", c=header))
            elif target not in inputs:
                out.append(Message("import_not_importable", "column '{c}' cannot fill that field", c=header))
    return out


# --- remembered per flow and user --------------------------------------------------------------

def remembered_mapping(conn: Connection, flow: str, user_id: int) -> ImportMapping | None:
    row = conn.execute(select(import_mappings.c.mapping).where(
        import_mappings.c.flow == flow, import_mappings.c.user_id == user_id)).first()
    return ImportMapping.from_json(row[0]) if row and isinstance(row[0], Mapping) else None


def remember_mapping(conn: Connection, flow: str, user_id: int, mapping: ImportMapping) -> None:
    now = datetime.now(timezone.utc)
    t = import_mappings
    done = conn.execute(t.update().where(t.c.flow == flow, t.c.user_id == user_id)
                        .values(mapping=mapping.to_json(), updated_at=now)).rowcount
    if not done:
        conn.execute(t.insert().values(flow=flow, user_id=user_id, mapping=mapping.to_json(), updated_at=now))
