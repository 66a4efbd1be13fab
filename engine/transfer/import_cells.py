"""Cells of an uploaded sheet turned into field values: numbers, dates, choices by label, references by a
master record's unique field or title, people by name (engine/transfer/values.py is the way out)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, select

from engine.records.access import visible_clause
from engine.records.actor import Actor
from engine.records.records import Records
from engine.storage.registry import FlowRegistry
from engine.storage.schema import users
from engine.transfer.cells import from_csv_text
from engine.transfer.import_plan import norm
from engine.transfer.upload import plain_date
from forms import FieldSpecBase, FieldValueError
from forms.local_text import pick
from forms.messages import Message

_AMBIGUOUS = -1


class Lookups:
    """Master records by their unique fields and titles, and people by name, read once per import (only
    records the importer may see)."""

    def __init__(self, conn: Connection, registry: FlowRegistry, actor: Actor) -> None:
        self.conn, self.registry, self.actor = conn, registry, actor
        self._targets: dict[str, dict[str, int]] = {}
        self._people: dict[str, int] | None = None

    def target(self, flow: str) -> dict[str, int]:
        got = self._targets.get(flow)
        if got is not None:
            return got
        index: dict[str, int] = {}
        if flow in self.registry:
            live = self.registry.get(flow)
            unique = [n for n, f in live.flow.fields.items() if f.unique and f.stored_in_row]
            rec_of = Records(self.conn.engine, self.registry).row_to_record
            by_title: dict[str, int] = {}
            for row in self.conn.execute(select(live.table).where(visible_clause(live, self.actor))).mappings():
                rec = rec_of(live, row)
                for n in unique:
                    if rec.values.get(n) is not None:
                        index[norm(rec.values[n])] = rec.id
                t = norm(rec.title)
                by_title[t] = _AMBIGUOUS if t in by_title and by_title[t] != rec.id else rec.id
            for t, rid in by_title.items():
                index.setdefault(t, rid)
        self._targets[flow] = index
        return index

    def person(self, text: str) -> int | None:
        if self._people is None:
            self._people = {}
            for uid, username, name in self.conn.execute(
                    select(users.c.id, users.c.username, users.c.display_name).where(users.c.active.is_(True))):
                self._people.setdefault(norm(username), int(uid))
                key = norm(name)
                self._people[key] = _AMBIGUOUS if key in self._people and self._people[key] != uid else int(uid)
        return self._people.get(norm(text))


def _text(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


def _choice(f: FieldSpecBase, text: str) -> str:
    want = norm(text)
    for key, label in getattr(f, "choices", {}).items():
        labels = label.values() if isinstance(label, dict) else [label]
        if want == norm(key) or any(want == norm(x) for x in labels):
            return str(key)
    return text  # the field's own check says it is not one of the choices


def _number(cell: Any) -> Any:
    if isinstance(cell, float):
        return Decimal(repr(cell))
    if isinstance(cell, str):
        text = cell.replace(",", "").replace("，", "").strip()
        for sym in ("¥", "￥", "$", "€", "£"):
            text = text.replace(sym, "")
        parts = text.split()
        if len(parts) == 2 and parts[1].isalpha():  # "1200.00 CNY"
            text = parts[0]
        try:
            return Decimal(text)
        except InvalidOperation:
            return cell
    return cell


def cell_to_value(f: FieldSpecBase, cell: Any, *, csv_file: bool, tz: tzinfo, lookups: Lookups,
                  lang: str | None, fallback: str | None) -> Any:
    """The canonical value of a cell for field `f`, or FieldValueError (with a message for a person)."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return f.coerce(None, tz=tz)
    if isinstance(cell, str) and csv_file:
        cell = from_csv_text(cell)
    t = f.type
    raw: Any = cell
    if t in ("text", "longtext", "email", "phone", "url"):
        raw = _text(cell)
    elif t == "integer":
        raw = int(cell) if isinstance(cell, float) and cell.is_integer() else _number(cell) if isinstance(cell, str) else cell
        if isinstance(raw, Decimal) and raw == raw.to_integral_value():
            raw = int(raw)
    elif t in ("decimal", "money"):
        raw = _number(cell)
    elif t == "date":
        raw = plain_date(cell)
        if isinstance(raw, str):
            raw = raw.replace("/", "-").replace(".", "-")
        elif isinstance(raw, datetime):
            raise FieldValueError.of("import_date_time", "a date without a time of day is expected")
    elif t == "datetime":
        if isinstance(cell, datetime) and cell.tzinfo is None:
            raw = cell.replace(tzinfo=tz)
    elif t == "choice":
        raw = _choice(f, _text(cell))
    elif t == "multichoice":
        raw = [_choice(f, p.strip()) for p in _text(cell).replace("，", ",").replace("、", ",").split(",") if p.strip()]
    elif t == "reference":
        target = str(getattr(f, "flow", ""))
        found = lookups.target(target).get(norm(_text(cell)))
        if found is None or found == _AMBIGUOUS:
            title = pick(lookups.registry.get(target).flow.spec.title, lang, fallback) if target in lookups.registry else target
            raise FieldValueError.of("import_no_target", "no {flow} is called '{v}'" if found is None
                                     else "several {flow} are called '{v}'", flow=title, v=_text(cell)[:80])
        raw = found
    elif t == "user":
        uid = lookups.person(_text(cell))
        if uid is None or uid == _AMBIGUOUS:
            raise FieldValueError.of("import_no_person", "no one is called '{v}'" if uid is None
                                     else "several people are called '{v}'", v=_text(cell)[:80])
        raw = uid
    return f.coerce(raw, tz=tz)


Translate = Callable[[Message | str], str]
