"""What a record's write tells the outside, in the write's own transaction: the flow's `events:`
(engine/delivery/events.py) and `notify_on_change:` notices (engine/delivery/change_notices.py).

The two hooks the write path calls (engine/records/records.py); a flow with neither key costs a
look at two empty lists.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from engine.delivery.change_notices import enqueue_change_notices
from engine.delivery.events import enqueue_record_event
from engine.records.read_memo import ReadMemo
from engine.storage.registry import FlowRegistry, LiveFlow


def after_create(conn: Connection, registry: FlowRegistry | None, live: LiveFlow, *, record_id: int,
                 values: Mapping[str, Any], state: str, actor_id: int | None, now: datetime,
                 memo: ReadMemo | None = None) -> None:
    if live.flow.spec.events:
        enqueue_record_event(conn, registry, live, "create", record_id=record_id, values=values, state=state,
                             actor_id=actor_id, now=now, memo=memo)


def after_change(conn: Connection, registry: FlowRegistry | None, live: LiveFlow, *, action: str, record_id: int,
                 values: Mapping[str, Any], changes: Mapping[str, list[Any]], from_state: str, to_state: str,
                 transition: str | None, row: Mapping[str, Any], actor_id: int | None, now: datetime) -> None:
    """After an edit (`action` "edit") or a transition is written; `changes` as in its history row."""
    spec = live.flow.spec
    if spec.events:
        kind = "edit" if action == "edit" else "transition"
        enqueue_record_event(conn, registry, live, kind, record_id=record_id, values=values, state=to_state,
                             actor_id=actor_id, now=now, transition=transition, from_state=from_state)
    if spec.notify_on_change and changes:
        enqueue_change_notices(conn, registry, live, record_id=record_id, state=from_state, changes=changes, row=row,
                               actor_id=actor_id, now=now)
