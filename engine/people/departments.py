"""Departments: a tree of departments, each with an optional manager, and the users who belong to them.

The tree is kept twice: `departments.parent_id` (what people change) and its closure
`department_paths` (ancestor, descendant, depth), rebuilt inside the same transaction after
every change of the tree. The closure makes "my department and every department below it" one
indexed lookup, whatever the depth, so `visibility: department` stays one SQL condition on the
flow table (`department_creators`).

`manager_of` answers "who is this person's manager" for `assign: {manager_of: ...}` and for the
approvers of a joint review (`manager_of:creator`): the manager of the person's department; when
that department has no (active) manager, or the person manages it themself, the next department
up the tree, and so on. A person in several departments is looked up through the department
they joined first. Nobody found (no department, no manager up to the root) answers None: the
caller decides (an assignment leaves the record in its owner role's queue).

Writes go through the write executor given (engine/storage/executor.py); given a bare Engine
(the CLI, tests), each runs in a transaction of its own.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, delete, insert, select, union, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from forms.local_text import pick
from forms.messages import Message
from engine.language.identifiers import IDENTIFIER_RE
from engine.records.errors import NotFound, ValidationFailed
from engine.storage.executor import WriteExecutor
from engine.storage.plain import executor_for
from engine.storage.schema import department_members, department_paths, departments, users

MAX_ID = 64
MAX_TITLE = 200
_TAG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class Department:
    id: str
    title: str | dict[str, str]
    parent: str | None
    manager: str | None  # user name
    manager_name: str | None  # display name
    members: tuple[str, ...] = field(default_factory=tuple)  # user names, sorted
    depth: int = 0  # 0 for a root

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "parent": self.parent, "manager": self.manager,
                "manager_name": self.manager_name, "members": list(self.members), "depth": self.depth}


# --- checks --------------------------------------------------------------------------------------

def _id_problem(dept_id: str) -> Message | None:
    if not dept_id or len(dept_id) > MAX_ID or not IDENTIFIER_RE.match(dept_id):
        return Message("bad_department_id", "a department id is a snake_case identifier of at most {n} characters, "
                       "like east_sales", n=MAX_ID)
    return None


def _title_problem(title: Any) -> Message | None:
    texts: list[Any]
    if isinstance(title, dict):
        if not title or not all(isinstance(k, str) and _TAG_RE.match(k) for k in title):
            return Message("bad_title", "give the title as text, or per language like {{zh-CN: 华东销售部, en: East sales}}")
        texts = list(title.values())
    else:
        texts = [title]
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            return Message("required", "give a title")
        if len(text) > MAX_TITLE or "\n" in text:
            return Message("bad_title_length", "a title is one line of at most {n} characters", n=MAX_TITLE)
    return None


def _check(**problems: Message | None) -> None:
    errors: dict[str, str] = {k: v for k, v in problems.items() if v is not None}
    if errors:
        raise ValidationFailed(errors)


def _user(conn: Connection, username: str, what: str) -> int:
    uid = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
    if uid is None:
        raise ValidationFailed({what: Message("unknown_user", "no user '{u}'", u=username)})
    return int(uid)


def _exists(conn: Connection, dept_id: str) -> bool:
    return conn.execute(select(departments.c.id).where(departments.c.id == dept_id)).first() is not None


def _require(conn: Connection, dept_id: str) -> None:
    if not _exists(conn, dept_id):
        raise NotFound(Message("unknown_department", "no department '{d}'", d=dept_id))


# --- the closure -----------------------------------------------------------------------------------

def _parents(conn: Connection) -> dict[str, str | None]:
    return {r.id: r.parent_id for r in conn.execute(select(departments.c.id, departments.c.parent_id))}


def _cycle(parents: Mapping[str, str | None], start: str) -> bool:
    seen = {start}
    node = parents.get(start)
    while node is not None:
        if node in seen:
            return True
        seen.add(node)
        node = parents.get(node)
    return False


def _rebuild_paths(conn: Connection) -> None:
    """The closure table again from the parent pointers (an org chart has hundreds of departments, not millions)."""
    parents = _parents(conn)
    rows = []
    for dept in parents:
        node: str | None = dept
        depth = 0
        while node is not None:
            rows.append({"ancestor_id": node, "descendant_id": dept, "depth": depth})
            node = parents.get(node)
            depth += 1
    conn.execute(delete(department_paths))
    if rows:
        conn.execute(insert(department_paths), rows)


# --- writes ----------------------------------------------------------------------------------------

def add_department(db: Engine | WriteExecutor, dept_id: str, title: str | dict[str, str], *, parent: str | None = None,
                   manager: str | None = None) -> None:
    _check(id=_id_problem(dept_id), title=_title_problem(title))
    with executor_for(db).transaction() as tx:
        conn = tx.conn
        if _exists(conn, dept_id):
            raise ValidationFailed({"id": Message("department_exists", "department '{d}' already exists", d=dept_id)})
        if parent is not None and not _exists(conn, parent):
            raise ValidationFailed({"parent": Message("unknown_department", "no department '{d}'", d=parent)})
        manager_id = _user(conn, manager, "manager") if manager else None
        conn.execute(insert(departments).values(id=dept_id, title=title, parent_id=parent, manager_id=manager_id,
                                                created_at=datetime.now(timezone.utc)))
        _rebuild_paths(conn)


def update_department(db: Engine | WriteExecutor, dept_id: str, *, title: str | dict[str, str] | None = None) -> None:
    if title is not None:
        _check(title=_title_problem(title))
    with executor_for(db).transaction() as tx:
        _require(tx.conn, dept_id)
        if title is not None:
            tx.conn.execute(update(departments).where(departments.c.id == dept_id).values(title=title))


def move_department(db: Engine | WriteExecutor, dept_id: str, parent: str | None) -> None:
    """Put a department (with everything below it) under another one; None: make it a root."""
    with executor_for(db).transaction() as tx:
        conn = tx.conn
        _require(conn, dept_id)
        if parent is not None and not _exists(conn, parent):
            raise ValidationFailed({"parent": Message("unknown_department", "no department '{d}'", d=parent)})
        parents = _parents(conn)
        parents[dept_id] = parent
        if parent == dept_id or _cycle(parents, dept_id):
            raise ValidationFailed({"parent": Message(
                "department_cycle", "'{p}' is {d} itself or below it; a department cannot be moved under itself",
                p=parent, d=dept_id)})
        conn.execute(update(departments).where(departments.c.id == dept_id).values(parent_id=parent))
        _rebuild_paths(conn)


def set_manager(db: Engine | WriteExecutor, dept_id: str, manager: str | None) -> None:
    with executor_for(db).transaction() as tx:
        conn = tx.conn
        _require(conn, dept_id)
        manager_id = _user(conn, manager, "manager") if manager else None
        conn.execute(update(departments).where(departments.c.id == dept_id).values(manager_id=manager_id))


def add_member(db: Engine | WriteExecutor, dept_id: str, username: str, *, now: datetime | None = None) -> None:
    with executor_for(db).transaction() as tx:
        conn = tx.conn
        _require(conn, dept_id)
        uid = _user(conn, username, "member")
        known = conn.execute(select(department_members.c.user_id).where(
            department_members.c.user_id == uid, department_members.c.department_id == dept_id)).first()
        if known is None:
            conn.execute(insert(department_members).values(user_id=uid, department_id=dept_id,
                                                           joined_at=now or datetime.now(timezone.utc)))


def remove_member(db: Engine | WriteExecutor, dept_id: str, username: str) -> None:
    with executor_for(db).transaction() as tx:
        conn = tx.conn
        _require(conn, dept_id)
        uid = _user(conn, username, "member")
        conn.execute(delete(department_members).where(department_members.c.user_id == uid,
                                                      department_members.c.department_id == dept_id))


# --- reads -----------------------------------------------------------------------------------------

def list_departments(db: Engine | WriteExecutor) -> list[Department]:
    """Every department, a parent before its children (depth first, siblings by id)."""
    with executor_for(db).read() as conn:
        rows = conn.execute(select(departments.c.id, departments.c.title, departments.c.parent_id,
                                   users.c.username, users.c.display_name)
                            .outerjoin(users, users.c.id == departments.c.manager_id)).all()
        members: dict[str, list[str]] = {}
        for dept, username in conn.execute(select(department_members.c.department_id, users.c.username)
                                           .join(users, users.c.id == department_members.c.user_id)):
            members.setdefault(dept, []).append(username)
    children: dict[str | None, list[Any]] = {}
    for r in rows:
        children.setdefault(r.parent_id, []).append(r)
    out: list[Department] = []

    def walk(parent: str | None, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: r.id):
            out.append(Department(r.id, r.title, r.parent_id, r.username, r.display_name,
                                  tuple(sorted(members.get(r.id, []))), depth))
            walk(r.id, depth + 1)

    walk(None, 0)
    return out


def get_department(db: Engine | WriteExecutor, dept_id: str) -> Department:
    for d in list_departments(db):
        if d.id == dept_id:
            return d
    raise NotFound(Message("unknown_department", "no department '{d}'", d=dept_id))


def departments_of(conn: Connection, uid: int) -> list[str]:
    """The departments a user belongs to, the one they joined first first."""
    q = (select(department_members.c.department_id).where(department_members.c.user_id == uid)
         .order_by(department_members.c.joined_at, department_members.c.department_id))
    return [str(d) for d in conn.execute(q).scalars()]


def department_title(title: Any, lang: str | None = None) -> str:
    return pick(title, lang, "zh-CN") or ""


def manager_of(conn: Connection, uid: int | None) -> int | None:
    """The manager of user `uid` (see the module docstring), or None when nobody is found."""
    if uid is None:
        return None
    p, d = department_paths, departments
    q = (select(d.c.manager_id).select_from(p.join(d, d.c.id == p.c.ancestor_id))
         .join(users, users.c.id == d.c.manager_id)
         .where(p.c.descendant_id == select(department_members.c.department_id)
                .where(department_members.c.user_id == uid)
                .order_by(department_members.c.joined_at, department_members.c.department_id).limit(1)
                .scalar_subquery(),
                users.c.active.is_(True), d.c.manager_id != uid)
         .order_by(p.c.depth).limit(1))
    found = conn.execute(q).scalar()
    return None if found is None else int(found)


def department_creators(user: Any) -> Select[Any]:
    """SELECT of the users whose records `visibility: department` shows to `user` (an id or a bind
    parameter): the members of the departments `user` belongs to or manages, and of every department
    below those."""
    p, m = department_paths, department_members
    mine = union(select(m.c.department_id.label("d")).where(m.c.user_id == user),
                 select(departments.c.id.label("d")).where(departments.c.manager_id == user)).subquery()
    below = select(p.c.descendant_id).where(p.c.ancestor_id.in_(select(mine.c.d)))
    return select(m.c.user_id).where(m.c.department_id.in_(below))


# --- CSV import ------------------------------------------------------------------------------------

CSV_COLUMNS = ("id", "title", "parent", "manager", "members")
_SPLIT = re.compile(r"[\s;,]+")


@dataclass
class _Row:
    line: int
    id: str
    title: str | dict[str, str]
    parent: str | None
    manager: str | None
    members: list[str]


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    memberships: int


def _located(line: int, column: str, message: Message) -> Message:
    return Message("csv_row", "line {line}, column {column}: {problem}", line=line, column=column, problem=message)


def parse_org_chart(text: str) -> list[_Row]:
    """The rows of an org-chart CSV, or ValidationFailed naming each bad row's line and column.

    Columns (a header line first): id, title, parent, manager, members. Besides `title`, columns
    `title.<language>` (`title.zh-CN`, `title.en`) give a bilingual title. `members` lists user names
    separated by spaces, commas or semicolons.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    errors: dict[str, str] = {}
    title_columns = [h for h in header if h.startswith("title.")]
    missing = [c for c in ("id",) if c not in header]
    if not header or missing or ("title" not in header and not title_columns):
        raise ValidationFailed({"line 1": Message(
            "csv_header", "the first line must name the columns: {cols} (title.zh-CN, title.en for a bilingual title)",
            cols=", ".join(CSV_COLUMNS))})
    unknown = [h for h in header if h not in CSV_COLUMNS and h not in title_columns]
    if unknown:
        raise ValidationFailed({"line 1": Message("csv_unknown_column", "unknown column '{c}'; the columns are: {cols}",
                                                  c=unknown[0], cols=", ".join(CSV_COLUMNS))})
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        if None in raw:
            errors[f"line {line}"] = _located(line, "-", Message("csv_extra_cells", "more cells than columns"))
            continue
        cells = {k: (v or "").strip() for k, v in raw.items()}
        if not any(cells.values()):
            continue
        dept = cells.get("id", "")
        problem = _id_problem(dept)
        if problem is None and dept in seen:
            problem = Message("csv_duplicate", "department '{d}' is already on line {other}", d=dept, other=seen[dept])
        if problem is not None:
            errors[f"line {line}"] = _located(line, "id", problem)
            continue
        seen[dept] = line
        title: str | dict[str, str] = cells.get("title", "")
        by_lang = {c.split(".", 1)[1]: cells[c] for c in title_columns if cells.get(c)}
        if by_lang:
            title = by_lang
        problem = _title_problem(title)
        if problem is not None:
            errors[f"line {line}"] = _located(line, "title", problem)
            continue
        rows.append(_Row(line, dept, title, cells.get("parent") or None, cells.get("manager") or None,
                         [m for m in _SPLIT.split(cells.get("members", "")) if m]))
    if errors:
        raise ValidationFailed(errors)
    return rows


def import_org_chart(db: Engine | WriteExecutor, text: str, *, now: datetime | None = None) -> ImportResult:
    """Create or update the departments of the CSV, with their parents, managers and members (the members
    listed replace a department's members). All or nothing: any bad row refuses the whole file, naming
    every bad row's line and column, and nothing is written."""
    rows = parse_org_chart(text)
    now = now or datetime.now(timezone.utc)
    errors: dict[str, str] = {}
    with executor_for(db).transaction() as tx:
        conn = tx.conn
        parents = _parents(conn)
        existing = set(parents)
        for row in rows:
            parents[row.id] = row.parent
        names = {n for row in rows for n in [*row.members, *([row.manager] if row.manager else [])]}
        ids: dict[str, int] = {}
        if names:
            ids = {u: int(i) for u, i in conn.execute(select(users.c.username, users.c.id)
                                                        .where(users.c.username.in_(sorted(names))))}
        for row in rows:
            where = f"line {row.line}"
            if row.parent is not None and row.parent not in parents:
                errors[where] = _located(row.line, "parent", Message("unknown_department", "no department '{d}'",
                                                                     d=row.parent))
            elif row.parent is not None and (row.parent == row.id or _cycle(parents, row.id)):
                errors[where] = _located(row.line, "parent", Message(
                    "department_cycle", "'{p}' is {d} itself or below it; a department cannot be moved under itself",
                    p=row.parent, d=row.id))
            elif row.manager and row.manager not in ids:
                errors[where] = _located(row.line, "manager", Message("unknown_user", "no user '{u}'", u=row.manager))
            else:
                unknown = [m for m in row.members if m not in ids]
                if unknown:
                    errors[where] = _located(row.line, "members", Message("unknown_user", "no user '{u}'", u=unknown[0]))
        if errors:
            raise ValidationFailed(errors)
        created = updated = memberships = 0
        # Parents first: insert every new department without its parent, then set the parents.
        for row in rows:
            manager_id = ids[row.manager] if row.manager else None
            if row.id in existing:
                conn.execute(update(departments).where(departments.c.id == row.id)
                             .values(title=row.title, manager_id=manager_id))
                updated += 1
            else:
                conn.execute(insert(departments).values(id=row.id, title=row.title, parent_id=None,
                                                        manager_id=manager_id, created_at=now))
                created += 1
        for row in rows:
            conn.execute(update(departments).where(departments.c.id == row.id).values(parent_id=row.parent))
            conn.execute(delete(department_members).where(department_members.c.department_id == row.id))
            for name in dict.fromkeys(row.members):
                conn.execute(insert(department_members).values(user_id=ids[name], department_id=row.id, joined_at=now))
                memberships += 1
        _rebuild_paths(conn)
    return ImportResult(created, updated, memberships)


def export_rows(db: Engine | WriteExecutor) -> Iterable[dict[str, str]]:
    """The org chart as CSV rows of `import_org_chart` (a bilingual title is written as its first language)."""
    for d in list_departments(db):
        yield {"id": d.id, "title": department_title(d.title), "parent": d.parent or "", "manager": d.manager or "",
               "members": " ".join(d.members)}
