"""Saved views: a data-table view (engine/records/data_view.py `ViewSpec`) kept under a name.

* A view is **personal** (only its owner lists and opens it) or **shared with a role** of the flow
  (every holder of that role lists and opens it; only its owner, or an admin, changes it).
* Who may share: administrators, and holders of a manager role of the flow (a role named
  `manager` or ending in `_manager`, the same people who may reassign records,
  engine/records/claims.py). Anyone may keep personal views.
* The name is any text of 1 to 200 characters (any language); two views a person sees may share a
  name (they are told apart by owner and by being shared).
* **Default view** of a flow for a reader: their own personal default, else the default shared with
  one of their roles, else none (the list's built-in columns). Marking a view default clears the
  other default of the same owner (personal) or role (shared).
* The definition is checked against the flow when saved (unknown columns, filters, sorts: 422) and
  again when opened, since the flow may have changed since (a removed field gives a clear 422 that
  names the view's part, and the page offers to fix it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Engine, RowMapping

from engine.language.flow import CompiledFlow
from engine.records.actor import Actor
from engine.records.claims import may_reassign
from engine.records.data_view import ViewSpec, check_spec, spec_from_json
from engine.records.errors import Forbidden, NotFound, ValidationFailed
from engine.records.view_filters import check_filter
from engine.storage.executor import WriteExecutor
from engine.storage.plain import executor_for
from engine.storage.schema import saved_views
from forms.messages import Message
from forms.unicode_text import nfc

MAX_NAME = 200
MAX_VIEWS = 200  # per person and flow


@dataclass(frozen=True)
class SavedView:
    id: int
    flow: str
    name: str
    owner_id: int
    shared_role: str | None
    spec: ViewSpec
    is_default: bool

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "flow": self.flow, "name": self.name, "owner_id": self.owner_id,
                "shared_role": self.shared_role, "default": self.is_default, "view": self.spec.as_json()}


def may_share(flow: CompiledFlow, actor: Actor) -> bool:
    return may_reassign(flow, actor)


def _from_row(row: RowMapping) -> SavedView:
    return SavedView(int(row["id"]), str(row["flow"]), str(row["name"]), int(row["owner_id"]), row["shared_role"],
                     spec_from_json(row["definition"]), bool(row["is_default"]))


def _name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationFailed({"name": Message("view_name_required", "give the view a name")})
    name = nfc(" ".join(raw.split()))
    if len(name) > MAX_NAME:
        raise ValidationFailed({"name": Message("too_long", "at most {n} characters", n=MAX_NAME)})
    return name


def _check(flow: CompiledFlow, spec: ViewSpec) -> None:
    check_spec(flow, spec)
    for i, flt in enumerate(spec.filters):
        check_filter(flow, flt, f"filters[{i}]")


def _check_role(flow: CompiledFlow, actor: Actor, role: str | None) -> None:
    if role is None:
        return
    if role not in flow.spec.roles:
        raise ValidationFailed({"shared_role": Message("view_unknown_role", "not a role of this flow")})
    if not may_share(flow, actor):
        raise Forbidden(Message("view_share_forbidden",
                                "sharing a view with a role needs an administrator or a manager of this flow"))


class SavedViews:
    """The saved views of every flow, read and written for one actor at a time."""

    def __init__(self, db: Engine, executor: WriteExecutor | None = None) -> None:
        self.db = db
        self.executor = executor_for(executor or db)

    def _visible(self, flow: str, actor: Actor) -> Any:
        mine = saved_views.c.owner_id == actor.id
        if actor.is_admin:
            return and_(saved_views.c.flow == flow, or_(mine, saved_views.c.shared_role.is_not(None)))
        if not actor.roles:
            return and_(saved_views.c.flow == flow, mine)
        return and_(saved_views.c.flow == flow, or_(mine, saved_views.c.shared_role.in_(sorted(actor.roles))))

    def list(self, flow: str, actor: Actor) -> list[SavedView]:
        """The views the actor may open: their own and those shared with one of their roles, by name."""
        q = select(saved_views).where(self._visible(flow, actor)).order_by(saved_views.c.name, saved_views.c.id)
        with self.db.connect().execution_options(readonly=True) as conn:
            return [_from_row(r) for r in conn.execute(q).mappings()]

    def get(self, flow: str, view_id: int, actor: Actor) -> SavedView:
        q = select(saved_views).where(saved_views.c.id == view_id, self._visible(flow, actor))
        with self.db.connect().execution_options(readonly=True) as conn:
            row = conn.execute(q).mappings().first()
        if row is None:
            raise NotFound(f"no saved view {view_id}")
        return _from_row(row)

    def default(self, flow: str, actor: Actor) -> SavedView | None:
        """The reader's default view of the flow: their own default, else one shared with their roles."""
        views = [v for v in self.list(flow, actor) if v.is_default]
        own = [v for v in views if v.owner_id == actor.id and v.shared_role is None]
        shared = [v for v in views if v.shared_role is not None and v.shared_role in actor.roles]
        return (own or shared)[0] if own or shared else None

    def create(self, flow: CompiledFlow, actor: Actor, name: Any, spec: ViewSpec, *, shared_role: str | None = None,
               is_default: bool = False, now: datetime | None = None) -> SavedView:
        name = _name(name)
        _check(flow, spec)
        _check_role(flow, actor, shared_role)
        now = now or datetime.now(timezone.utc)
        with self.executor.transaction() as tx:
            owned = tx.execute(select(saved_views.c.id).where(saved_views.c.flow == flow.name,
                                                              saved_views.c.owner_id == actor.id)).all()
            if len(owned) >= MAX_VIEWS:
                raise ValidationFailed({"name": Message("view_too_many", "at most {n} saved views per list",
                                                        n=MAX_VIEWS)})
            if is_default:
                self._clear_default(tx, flow.name, actor.id, shared_role)
            new_id = tx.execute(insert(saved_views).values(
                flow=flow.name, name=name, owner_id=actor.id, shared_role=shared_role, definition=spec.as_json(),
                is_default=is_default, created_at=now, updated_at=now).returning(saved_views.c.id)).scalar_one()
        return SavedView(int(new_id), flow.name, name, actor.id, shared_role, spec, is_default)

    @staticmethod
    def _clear_default(tx: Any, flow: str, owner_id: int, shared_role: str | None) -> None:
        c = saved_views.c
        which = c.shared_role == shared_role if shared_role is not None else and_(c.shared_role.is_(None),
                                                                                    c.owner_id == owner_id)
        tx.execute(update(saved_views).where(c.flow == flow, which, c.is_default.is_(True)).values(is_default=False))

    def _owned(self, flow: str, view_id: int, actor: Actor) -> SavedView:
        view = self.get(flow, view_id, actor)
        if view.owner_id != actor.id and not actor.is_admin:
            raise Forbidden(Message("view_not_yours", "only the person who saved this view may change it"))
        return view

    def update(self, flow: CompiledFlow, view_id: int, actor: Actor, *, name: Any = None, spec: ViewSpec | None = None,
               is_default: bool | None = None, now: datetime | None = None) -> SavedView:
        """Rename, redefine or (un)mark as default one of the actor's views."""
        view = self._owned(flow.name, view_id, actor)
        values: dict[str, Any] = {"updated_at": now or datetime.now(timezone.utc)}
        if name is not None:
            values["name"] = _name(name)
        if spec is not None:
            _check(flow, spec)
            values["definition"] = spec.as_json()
        with self.executor.transaction() as tx:
            if is_default is not None:
                if is_default:
                    self._clear_default(tx, flow.name, view.owner_id, view.shared_role)
                values["is_default"] = is_default
            tx.execute(update(saved_views).where(saved_views.c.id == view_id).values(**values))
        return self.get(flow.name, view_id, actor)

    def delete(self, flow: str, view_id: int, actor: Actor) -> None:
        self._owned(flow, view_id, actor)
        with self.executor.transaction() as tx:
            tx.execute(delete(saved_views).where(saved_views.c.id == view_id))
