"""Running an import: a dry run that rolls everything back, or the real run in batches, with progress.

Every row goes through the engine's own doors as the importing person: a new record through
`Records.create` (who may create, required fields, references and their filters, fetched values, unique
values), an existing one (found by the key column) through `Records.edit` with only the values that
differ, so a re-run of the same file changes nothing and duplicates nothing. Each row runs in a savepoint:
a refused row is rolled back alone, with its problems located by sheet, row and column, and the rows around
it go on. The dry run runs the whole file in one transaction it rolls back, so its counts and problems are
the run's own. The real run commits every `batch_size` rows and reports progress after each batch.

A record lands in the flow's first state, or, when a column is mapped to the state explicitly (an
administrator only), in the state it names: the engine moves it there as a system move whose history row
says "imported into state X by Y" (`action: import`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, select

from engine.records.access import visible_clause
from engine.records.actor import Actor
from engine.records.errors import MissingRequired, NotFound, ValidationFailed, WorkflowError
from engine.records.read_memo import ReadMemo
from engine.records.records import Records
from engine.records.references import reference_fields, target_flow
from engine.records.system_moves import move
from engine.records.table_rows import attach_rows
from engine.storage.plain import JoinedExecutor, PlainTransaction
from engine.storage.registry import LiveFlow
from engine.transfer.import_cells import Lookups, Translate, cell_to_value
from engine.transfer.import_plan import STATE, ImportMapping, importable_fields, norm, row_inputs
from engine.transfer.upload import ImportFile, Sheet
from forms import FieldSpecBase, FieldValueError
from forms.local_text import pick
from forms.message_text import message_in
from forms.messages import Message

BATCH_SIZE = 500
MAX_PROBLEMS = 1000


@dataclass
class Problem:
    sheet: str
    row: int
    column: str
    text: str


@dataclass
class Counts:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    lines_added: int = 0
    lines_changed: int = 0
    lines_removed: int = 0


@dataclass
class ImportResult:
    dry_run: bool
    counts: Counts
    problems: list[Problem]

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "counts": asdict(self.counts), "problems": [asdict(p) for p in self.problems]}


@dataclass
class _Line:
    row: int
    values: dict[str, Any]


@dataclass
class _Plan:
    """One record of the file: its row, its values, its line rows, and what went wrong reading them."""

    row: int
    values: dict[str, Any]
    key: Any = None
    state: str | None = None
    lines: dict[str, list[_Line]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


Progress = Callable[[int, int, Counts], None]


class Importer:
    def __init__(self, db: Engine, records: Records, live: LiveFlow, actor: Actor, upload: ImportFile,
                 mapping: ImportMapping, *, lang: str | None = None, tz: tzinfo | None = None,
                 translate: Translate | None = None, batch_size: int = BATCH_SIZE, now: datetime | None = None) -> None:
        self.db, self.records, self.live, self.actor = db, records, live, actor
        self.flow = live.flow
        self.upload, self.mapping = upload, mapping
        self.lang = lang
        self.tz = tz or self.flow.timezone
        self.translate: Translate = translate or (lambda m: message_in(m, lang))
        self.batch_size = batch_size
        self.now = now
        self.main: Sheet = upload.sheets[0]

    # --- words ---------------------------------------------------------------------------------

    def _title(self, f: FieldSpecBase, name: str) -> str:
        return pick(f.title, self.lang, self.flow.spec.language) or name

    def _problem(self, sheet: str, row: int, column: str, message: Message | str) -> Problem:
        return Problem(sheet, row, column, self.translate(message))

    # --- reading the file into plans -----------------------------------------------------------

    def _plans(self, conn: Connection, lookups: Lookups) -> list[_Plan]:
        flow, fb = self.flow, self.flow.spec.language
        fields = importable_fields(flow)
        index = {h: i for i, h in enumerate(self.main.headers)}
        csv_file = self.upload.kind == "csv"
        states = {norm(n): n for n in flow.spec.states} | {
            norm(pick(s.title, lang, fb) or ""): n for n, s in flow.spec.states.items()
            for lang in ([*s.title.keys()] if isinstance(s.title, dict) else [None])}
        states.update({norm(k): v for k, v in self.mapping.states.items()})
        plans: list[_Plan] = []
        by_key: dict[Any, _Plan] = {}
        key_col = self.mapping.column_of(self.mapping.key) if self.mapping.key else None
        for number, cells in self.main.rows:
            plan = _Plan(number, {})
            for header, target in self.mapping.columns.items():
                i = index.get(header)
                cell = cells[i] if i is not None and i < len(cells) else None
                if target == STATE:
                    text = "" if cell is None else str(cell).strip()
                    if text:
                        st = states.get(norm(text))
                        if st is None:
                            plan.problems.append(self._problem(self.main.name, number, header, Message(
                                "import_no_state", "'{v}' is not a state of this flow", v=text[:80])))
                        else:
                            plan.state = st
                    continue
                try:
                    value = cell_to_value(fields[target], cell, csv_file=csv_file, tz=self.tz, lookups=lookups,
                                          lang=self.lang, fallback=fb)
                except FieldValueError as exc:
                    plan.problems.append(self._problem(self.main.name, number, header, exc.message))
                    continue
                plan.values[target] = value
            if self.mapping.key and key_col:
                ki = index.get(key_col)
                raw_key = cells[ki] if ki is not None and ki < len(cells) else None
                if raw_key is not None:
                    self._raw_keys.setdefault(norm(raw_key), plan)
                plan.key = plan.values.get(self.mapping.key)
                if plan.key is not None:
                    first = by_key.get(plan.key)
                    if first is not None:
                        plan.problems.append(self._problem(self.main.name, number, key_col, Message(
                            "import_duplicate_key", "the same key as row {n}", n=first.row)))
                    else:
                        by_key[plan.key] = plan
            plans.append(plan)
        self._read_lines(by_key, lookups)
        return plans

    def _read_lines(self, by_key: dict[Any, _Plan], lookups: Lookups) -> None:
        if not self.mapping.key:
            return
        key_field = self.flow.fields[self.mapping.key]
        fb = self.flow.spec.language
        csv_file = self.upload.kind == "csv"
        for tname, tm in self.mapping.tables.items():
            sheet = self.upload.sheet(tm.sheet)
            if sheet is None:
                continue
            index = {h: i for i, h in enumerate(sheet.headers)}
            ki = index.get(tm.key_column)
            inputs = row_inputs(self.flow, tname)
            for number, cells in sheet.rows:
                raw_key = cells[ki] if ki is not None and ki < len(cells) else None
                try:
                    key = cell_to_value(key_field, raw_key, csv_file=csv_file, tz=self.tz, lookups=lookups,
                                        lang=self.lang, fallback=fb)
                except FieldValueError as exc:
                    key, problem = None, exc.message
                else:
                    problem = Message("import_line_no_record", "no row of the first sheet has this key")
                plan = by_key.get(key) if key is not None else None
                if plan is None and raw_key is not None:  # the line of a record whose own key is refused
                    plan = self._raw_keys.get(norm(raw_key))
                if plan is None:
                    # a line whose record is not in the file: a problem of its own (no record fails for it)
                    self._orphans.append(self._problem(sheet.name, number, tm.key_column, problem))
                    continue
                line = _Line(number, {})
                for header, target in tm.columns.items():
                    i = index.get(header)
                    cell = cells[i] if i is not None and i < len(cells) else None
                    try:
                        line.values[target] = cell_to_value(inputs[target], cell, csv_file=csv_file, tz=self.tz,
                                                            lookups=lookups, lang=self.lang, fallback=fb)
                    except FieldValueError as exc:
                        plan.problems.append(self._problem(sheet.name, number, header, exc.message))
                plan.lines.setdefault(tname, []).append(line)
            for plan in by_key.values():  # a mapped sheet says what the lines are: none, for a record it does not name
                plan.lines.setdefault(tname, [])

    # --- running -------------------------------------------------------------------------------

    def run(self, *, dry_run: bool, progress: Progress | None = None) -> ImportResult:
        counts = Counts()
        problems: list[Problem] = []
        self._orphans: list[Problem] = []
        self._raw_keys: dict[str, _Plan] = {}
        with self.db.connect().execution_options(readonly=True) as rconn:
            plans = self._plans(rconn, Lookups(rconn, self.records.registry, self.actor))
        problems.extend(self._orphans)
        counts.rows = len(plans)
        total = len(plans)
        # the customers and products the rows name, read once per batch (engine/records/read_memo.py)
        memo = ReadMemo(writes={self.flow.name})
        conn = self.db.connect()
        records = self.records.using(JoinedExecutor(PlainTransaction(conn))).remembering(memo)
        try:
            # the dry run: one transaction over the whole file, rolled back; the run: one per batch, committed
            # before its progress is reported (on SQLite nobody else may write while a transaction is open)
            outer = conn.begin() if dry_run else None
            for start in range(0, total, self.batch_size):
                batch = outer or conn.begin()
                part = plans[start:start + self.batch_size]
                existing = self._existing(conn, part)
                memo.clear()
                self._prefetch(conn, memo, part)
                for plan in part:
                    self._one(conn, records, plan, existing.get(plan.key) if plan.key is not None else None, counts,
                              problems)
                    if plan.state is not None:  # a move's effects may write to other flows: read them afresh
                        memo.clear()
                if outer is None:
                    batch.commit()
                if progress is not None:
                    progress(min(start + self.batch_size, total), total, counts)
            if outer is not None:
                outer.rollback()
        finally:
            conn.close()
        problems.sort(key=lambda p: (p.sheet != self.main.name, p.sheet, p.row))
        return ImportResult(dry_run, counts, problems[:MAX_PROBLEMS])

    def _prefetch(self, conn: Connection, memo: ReadMemo, plans: list[_Plan]) -> None:
        """The targets of the batch's references, as the importer may pick them: one query per target flow."""
        registry, flow = self.records.registry, self.flow
        wanted: list[tuple[FieldSpecBase, set[int]]] = []
        for name, ref in reference_fields(flow).items():
            wanted.append((ref, {p.values[name] for p in plans if isinstance(p.values.get(name), int)}))
        for tname, table in flow.tables.items():
            for name, ref in table.spec.fields.items():
                if ref.type == "reference":
                    wanted.append((ref, {line.values[name] for p in plans for line in p.lines.get(tname, ())
                                         if isinstance(line.values.get(name), int)}))
        for ref, ids in wanted:
            if ids and target_flow(ref) in registry:
                memo.prefetch(conn, registry.get(target_flow(ref)), ids, self.actor, ref)

    def _one(self, conn: Connection, records: Records, plan: _Plan, row: dict[str, Any] | None, counts: Counts,
             problems: list[Problem]) -> None:
        if plan.problems:
            counts.failed += 1
            problems.extend(plan.problems)
            return
        savepoint = conn.begin_nested()
        before = dict(vars(counts))
        try:
            self._write(conn, records, plan, row, counts)
        except WorkflowError as exc:
            savepoint.rollback()
            vars(counts).update(before)
            counts.failed += 1
            problems.extend(self._located(plan, exc))
        else:
            savepoint.commit()

    def _existing(self, conn: Connection, plans: list[_Plan]) -> dict[Any, dict[str, Any]]:
        """key → the row of the record with that key (one the importer may see), for a batch: one query."""
        if not self.mapping.key:
            return {}
        live, t, name = self.live, self.live.table, self.mapping.key
        key = self.flow.fields[name]
        keys = {key.to_db(p.key): p.key for p in plans if p.key is not None and not p.problems}
        if not keys:
            return {}
        rows = conn.execute(select(t).where(t.c[name].in_(list(keys)), visible_clause(live, self.actor))).mappings()
        return {keys[r[name]]: dict(r) for r in rows if r[name] in keys}

    def _write(self, conn: Connection, records: Records, plan: _Plan, row: dict[str, Any] | None, counts: Counts) -> None:
        live, flow = self.live, self.flow
        now = self.now or datetime.now(timezone.utc)
        if row is None:
            values = dict(plan.values)
            for tname, lines in plan.lines.items():
                values[tname] = [dict(line.values) for line in lines]
            rec = records.create(flow.name, self.actor, values, now=now)
            counts.created += 1
            counts.lines_added += sum(len(lines) for lines in plan.lines.values())
            if plan.state is not None and plan.state != rec.state:
                loaded = live.fast.select_by_id(conn, rec.id)
                assert loaded is not None
                title = pick(flow.spec.states[plan.state].title, self.lang, flow.spec.language) or plan.state
                comment = self.translate(Message("import_history", "imported into state {state} by {name}",
                                                 state=title, name=self.actor.display_name or self.actor.username))
                move(records, PlainTransaction(conn), live, loaded, self.actor, now, to=plan.state, action="import",
                     comment=comment)
            return
        current = records.row_to_record(live, row)
        if live.row_tables:
            attach_rows(conn, live, {current.id: current.values})
        changed = {n: v for n, v in plan.values.items() if current.values.get(n) != v}
        for tname, lines in plan.lines.items():
            new_rows, added, changed_rows, removed = self._merge_rows(tname, current.values.get(tname) or [], lines)
            if added or changed_rows or removed:
                changed[tname] = new_rows
                counts.lines_added += added
                counts.lines_changed += changed_rows
                counts.lines_removed += removed
        if not changed:
            counts.unchanged += 1
            return
        records.edit(flow.name, current.id, self.actor, changed, expected_version=current.version, now=now)
        counts.updated += 1

    def _merge_rows(self, tname: str, old: list[dict[str, Any]], lines: list[_Line]) -> tuple[list[dict[str, Any]], int, int, int]:
        """The rows after the import (a line fills the mapped columns of the row at its position, the other
        columns keep their values), and the rows added, changed and removed."""
        inputs = row_inputs(self.flow, tname)
        out: list[dict[str, Any]] = []
        changed = 0
        for i, line in enumerate(lines):
            base = {k: v for k, v in old[i].items() if k in inputs} if i < len(old) else {}
            merged = {**base, **line.values}
            if i < len(old) and any(old[i].get(k) != v for k, v in merged.items()):
                changed += 1
            out.append(merged)
        return out, max(0, len(lines) - len(old)), changed, max(0, len(old) - len(lines))

    # --- where a refusal points ----------------------------------------------------------------

    def _located(self, plan: _Plan, exc: WorkflowError) -> list[Problem]:
        main = self.main.name
        if isinstance(exc, ValidationFailed):
            out = []
            for key, message in exc.field_errors.items():
                out.append(self._field_problem(plan, key, message))
            return out or [self._problem(main, plan.row, "", exc.message)]
        if isinstance(exc, MissingRequired):
            return [self._problem(main, plan.row, self._column(f), Message("required", "give a value"))
                    for f in exc.fields] or [self._problem(main, plan.row, "", exc.message)]
        if isinstance(exc, NotFound):
            return [self._problem(main, plan.row, "", Message("import_not_found", "the record is no longer there"))]
        return [self._problem(main, plan.row, "", exc.message)]

    def _column(self, name: str) -> str:
        """The header of the column that fills `name`, else the field's title (never its id)."""
        header = self.mapping.column_of(name)
        if header:
            return header
        f = self.flow.fields.get(name)
        return self._title(f, name) if f is not None else ""

    def _field_problem(self, plan: _Plan, key: str, message: str) -> Problem:
        main = self.main.name
        name, _, rest = key.partition("[")
        if rest and name in self.flow.tables:
            index_text, _, col = rest.partition("]")
            col = col.lstrip(".")
            lines = plan.lines.get(name, [])
            tm = self.mapping.tables.get(name)
            try:
                line = lines[int(index_text)]
            except (ValueError, IndexError):
                line = None
            if line is not None and tm is not None:
                header = next((h for h, f in tm.columns.items() if f == col), None)
                if header is None:
                    spec = self.flow.tables[name].spec.fields.get(col)
                    header = self._title(spec, col) if spec is not None else ""
                return self._problem(tm.sheet, line.row, header, message)
        return self._problem(main, plan.row, self._column(name), message)


def problems_by_row(result: ImportResult) -> Mapping[tuple[str, int], list[Problem]]:
    out: dict[tuple[str, int], list[Problem]] = {}
    for p in result.problems:
        out.setdefault((p.sheet, p.row), []).append(p)
    return out
