"""Bulk actions on the records selected in a data table: a transition, or handing them to a person.

Each record is checked and written on its own, through the same doors as one record at a time
(engine/records/access.py for a transition: visibility, role, state, `when`, required fields;
engine/records/claims.py `reassign` for a hand-over: manager role, the person's role in the
record's state), in a write of its own: one refused record never holds back the others, and each
gets its result — moved, or refused with the reason (a `Message`, put in the reader's language by
the page or the API). A record the reader may not see is refused as "not found", like a record that
does not exist, so a bulk action tells nothing about records the reader cannot open.

Idempotency is the door's business (the API stores the whole answer under an Idempotency-Key);
a record asked for twice in one request is done once.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from engine.records.access import Access
from engine.records.actor import Actor
from engine.records.claims import reassign
from engine.records.errors import NotFound, WorkflowError
from engine.records.errors import ValidationFailed
from engine.storage.executor import WriteExecutor
from forms.messages import Message

MAX_BULK = 500

Outcome = Literal["moved", "assigned", "refused"]


@dataclass(frozen=True)
class BulkResult:
    record_id: int
    outcome: Outcome
    code: str | None = None
    reason: str | None = None  # a Message when refused
    version: int | None = None
    state: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome != "refused"


def check_ids(raw: Any) -> list[int]:
    """The record ids of a bulk request, once each and in the order given (a clear 422 otherwise)."""
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed({"ids": Message("bulk_no_ids", "select at least one record")})
    if len(raw) > MAX_BULK:
        raise ValidationFailed({"ids": Message("bulk_too_many", "at most {n} records at once", n=MAX_BULK)})
    out: list[int] = []
    for v in raw:
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 2**53:
            raise ValidationFailed({"ids": Message("bulk_bad_id", "record numbers are whole numbers")})
        if v not in out:
            out.append(v)
    return out


def _reason(exc: WorkflowError) -> str:
    if isinstance(exc, NotFound):
        return Message("bulk_not_found", "no such record, or not visible to you")
    if isinstance(exc, ValidationFailed) and exc.field_errors:
        return next(iter(exc.field_errors.values()))
    first = exc.args[0] if exc.args else None
    return first if isinstance(first, str) else str(exc)  # a Message stays one (translated by the door)


def _each(ids: Sequence[int], act: Callable[[int], BulkResult], fail: Outcome = "refused") -> list[BulkResult]:
    out = []
    for rid in ids:
        try:
            out.append(act(rid))
        except WorkflowError as exc:
            out.append(BulkResult(rid, fail, exc.code, _reason(exc)))
    return out


def bulk_transition(access: Access, flow: str, ids: Sequence[int], transition: str, actor: Actor, *,
                    comment: str | None = None) -> list[BulkResult]:
    """Fire `transition` on each record: moved, or refused with the reason."""
    def act(rid: int) -> BulkResult:
        rec = access.transition(flow, rid, transition, actor, expected_version=None, comment=comment)
        return BulkResult(rid, "moved", version=rec.version, state=rec.state)

    return _each(ids, act)


def bulk_assign(access: Access, executor: WriteExecutor, flow: str, ids: Sequence[int], to_user: int | None,
                actor: Actor) -> list[BulkResult]:
    """Hand each record to `to_user` (None: back to its role's queue): assigned, or refused with the reason."""
    def act(rid: int) -> BulkResult:
        version = reassign(executor, access.registry, flow, rid, actor, to_user, expected_version=None)
        return BulkResult(rid, "assigned", version=version)

    return _each(ids, act)
