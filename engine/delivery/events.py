"""Events to other systems (`events:` of a flow): what happened to a record, as signed JSON via the outbox.

A record's create, edit and transition write one outbox row per `events:` entry that lists the kind, in
the transaction of the change, with the payload frozen beside it (`outbox_payloads`): the receiver gets
the record as it was at that moment, and a retry sends the very same bytes. Warnings and breaches come
from the SLA scheduler: the fan-out that turns its events into reminders writes their rows too
(`enqueue_sla_events`), and their payload is frozen when it is first sent. The worker delivers them
through the `events` channel (engine/delivery/channels/events.py) with the outbox's retries, dead letters
and delivery log. The payload is described in docs/events.md and by `PAYLOAD_SCHEMA`
(engine/delivery/event_schema.py).
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from engine.delivery.event_values import Namer, record_title
from engine.delivery.outbox import add_new_rows, add_rows, epoch
from engine.language.event_spec import EventSpec
from engine.language.flow import CompiledFlow
from engine.records.read_memo import ReadMemo
from engine.records.reference_titles import title_references
from engine.storage.fastsql import FastInsert
from engine.storage.registry import FlowRegistry, LiveFlow
from engine.storage.schema import outbox_payloads, sla_events, users
from forms.local_text import pick

_insert_payload = FastInsert(outbox_payloads)
EVENTS_CHANNEL = "events"
PAYLOAD_VERSION = 1
SLA_KINDS = ("warn", "breach")


def specs_for(flow: CompiledFlow, kind: str) -> list[tuple[int, EventSpec]]:
    """The flow's `events:` entries (with their index) that send `kind`."""
    return [(i, ev) for i, ev in enumerate(flow.spec.events) if kind in ev.on]


def event_key(flow: str, record_id: int, state: str, instant: int, kind: str, event_id: str, index: int,
              setting: str) -> str:
    """``sales_order:7:review@<µs>:transition#<event id>:ERP_WEBHOOK@0:events`` (unique in the outbox)."""
    return f"{flow}:{record_id}:{state}@{instant}:{kind}#{event_id}:{setting}@{index}:{EVENTS_CHANNEL}"


def _iso(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _titled(flow: CompiledFlow, name: str | None, title: Any) -> dict[str, str] | None:
    if name is None:
        return None
    return {"name": name, "title": pick(title, flow.spec.language, flow.spec.language) or name}


def _state(flow: CompiledFlow, state: str | None) -> dict[str, str] | None:
    if state is None:
        return None
    return _titled(flow, state, flow.spec.states[state].title if state in flow.spec.states else None)


def build_payload(conn: Connection, registry: FlowRegistry | None, flow: CompiledFlow, spec: EventSpec, *,
                  kind: str, event_id: str, record_id: int, values: Mapping[str, Any], state: str,
                  occurred_at: datetime, actor_id: int | None, transition: str | None = None,
                  from_state: str | None = None, sla: Mapping[str, Any] | None = None,
                  memo: ReadMemo | None = None) -> dict[str, Any]:
    """The JSON object one receiver gets for one event (docs/events.md; `memo`: titles and names read
    before, engine/records/read_memo.py)."""
    names = [n for n in spec.fields if n in flow.fields]
    namer = Namer(conn, registry, flow, [values], list(dict.fromkeys([*names, *title_references(flow)])), memo)
    title = record_title(conn, registry, flow, values, record_id, state, namer)
    actor = None
    if actor_id is not None:
        if memo is not None:
            name: Any = memo.display_name(conn, int(actor_id))
        else:
            name = conn.execute(select(users.c.display_name).where(users.c.id == actor_id)).scalar()
        actor = {"id": int(actor_id), "name": str(name or "")}
    moved = None
    if kind == "transition":
        t = flow.spec.transitions.get(transition or "")
        moved = {"name": transition, "title": pick(t.title if t else None, flow.spec.language, flow.spec.language)
                 or transition, "from": _state(flow, from_state), "to": _state(flow, state)}
    return {
        "version": PAYLOAD_VERSION,
        "id": event_id,
        "type": kind,
        "occurred_at": _iso(occurred_at),
        "flow": _titled(flow, flow.name, flow.spec.title),
        "record": {"id": int(record_id), "title": title},
        "state": _state(flow, state),
        "transition": moved,
        "sla": dict(sla) if sla is not None else None,
        "actor": actor,
        "fields": {n: namer.value(flow.fields[n], values.get(n)) for n in names},
    }


def _outbox_row(flow: CompiledFlow, record_id: int, state: str, kind: str, key: str, index: int, setting: str,
                now: datetime, due_at: datetime | None = None) -> dict[str, Any]:
    return {"dedupe_key": key, "flow": flow.name, "record_id": record_id, "state": state, "event": kind,
            "rule": index, "channel": EVENTS_CHANNEL, "recipient": setting, "due_at": due_at, "event_at": now,
            "created_at": now}


def enqueue_record_event(conn: Connection, registry: FlowRegistry | None, live: LiveFlow, kind: str, *,
                         record_id: int, values: Mapping[str, Any], state: str, actor_id: int | None,
                         now: datetime, transition: str | None = None, from_state: str | None = None,
                         memo: ReadMemo | None = None) -> int:
    """The outbox rows (and frozen payloads) of a create, an edit or a transition, on the change's
    connection (same transaction). Returns how many were written; 0 at once for a flow without events."""
    flow = live.flow
    found = specs_for(flow, kind)
    if not found:
        return 0
    event_id = str(uuid.uuid4())
    rows, payloads = [], []
    for index, spec in found:
        key = event_key(flow.name, record_id, state, epoch(now), kind, event_id, index, spec.url_setting)
        payload = build_payload(conn, registry, flow, spec, kind=kind, event_id=event_id, record_id=record_id,
                                values=values, state=state, occurred_at=now, actor_id=actor_id,
                                transition=transition, from_state=from_state, memo=memo)
        rows.append(_outbox_row(flow, record_id, state, kind, key, index, spec.url_setting, now))
        payloads.append({"dedupe_key": key, "payload": json.dumps(payload, ensure_ascii=False)})
    for frozen in payloads:
        _insert_payload.run(conn, frozen)
    return add_new_rows(conn, rows)  # the keys hold a fresh event id: no repeats to look for


def sla_event_id(key: str) -> str:
    """A warning's or breach's event id: derived from its outbox key, so it is the same on every retry."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "relayflow:" + key))


def enqueue_sla_events(conn: Connection, live: LiveFlow, bound: ColumnElement[bool], now: datetime) -> int:
    """Outbox rows for the warnings and breaches among the SLA events `bound` selects (in the fan-out's
    transaction, before it deletes them). Their payload is frozen when first sent."""
    flow = live.flow
    wanted = {kind: specs_for(flow, kind) for kind in SLA_KINDS}
    if not any(wanted.values()):
        return 0
    e = sla_events
    kinds = [k for k, v in wanted.items() if v]
    rows = []
    for ev in conn.execute(select(e.c.record_id, e.c.state, e.c.event, e.c.stage_start, e.c.due_at, e.c.event_at)
                           .where(and_(bound, e.c.event.in_(kinds))).order_by(e.c.id)):
        for index, spec in wanted[ev.event]:
            key = f"{flow.name}:{ev.record_id}:{ev.state}@{epoch(ev.stage_start)}:{ev.event}:{spec.url_setting}@{index}:{EVENTS_CHANNEL}"
            rows.append(_outbox_row(flow, int(ev.record_id), ev.state, ev.event, key, index, spec.url_setting,
                                    ev.event_at, ev.due_at))
    return add_rows(conn, rows)


def stored_payload(conn: Connection, key: str) -> str | None:
    """The frozen payload of an outbox row, as JSON text, or None."""
    found = conn.execute(select(outbox_payloads.c.payload).where(outbox_payloads.c.dedupe_key == key)).scalar()
    return None if found is None else str(found)


def freeze_sla_payload(conn: Connection, registry: FlowRegistry, row: Mapping[str, Any]) -> str | None:
    """Build and store the payload of a warning's or breach's outbox row from the record as it is now (its
    first send); None when the flow, its `events:` entry or the record is gone."""
    from engine.records.records import Records
    from engine.records.errors import NotFound

    try:
        live = registry.get(row["flow"])
    except NotFound:
        return None
    flow = live.flow
    events = flow.spec.events
    if not 0 <= row["rule"] < len(events):
        return None
    found = conn.execute(live.select_by_id, {"_rid": row["record_id"]}).mappings().first()
    if found is None:
        return None
    values = Records.with_rows(conn, live, Records(conn.engine, registry).row_to_record(live, found)).values
    sla = {"state": _state(flow, row["state"]), "due_at": _iso(row["due_at"]) if row["due_at"] else None}
    payload = build_payload(conn, registry, flow, events[row["rule"]], kind=row["event"],
                            event_id=sla_event_id(row["dedupe_key"]), record_id=int(row["record_id"]),
                            values=values, state=str(found["state"]), occurred_at=row["event_at"],
                            actor_id=None, sla=sla)
    text = json.dumps(payload, ensure_ascii=False)
    conn.execute(insert(outbox_payloads).values(dedupe_key=row["dedupe_key"], payload=text))
    return text
