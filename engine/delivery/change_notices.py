"""Change notices (`notify_on_change:` of a flow): tell people which fields changed, from what to what.

An edit or a transition that changes a listed field (a table field: a row added, changed or removed)
while the record is in one of the rule's `states` (any state without them) writes one outbox row per
person and personal channel (inbox, email) and one per team channel (wecom, dingtalk, feishu, webhook),
in the change's transaction, through the outbox like every reminder. The one who made the change is
not told. What changed is frozen beside the row (`outbox_payloads`): the fields, their values before
and after (references by their titles, people by their names, as they were then). The text is written
when the message is sent, in the reader's language (their locale, else the flow's), with the fields'
titles and choices' labels picked for them.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection

from engine.delivery.channels import BROADCAST_CHANNELS
from engine.delivery.channels.message import OutboundMessage, _language, load_people
from engine.delivery.event_values import Namer
from engine.delivery.events import stored_payload
from engine.delivery.outbox import add_rows, dedupe_key
from engine.language.flow import CompiledFlow
from engine.storage.registry import FlowRegistry, LiveFlow
from engine.storage.schema import outbox_payloads, users
from forms.base import FieldSpecBase
from forms.local_text import pick

CHANGE_EVENT = "change"

_TEXTS = {
    "en": {"subject": "Changed: {record} — {fields}", "line": "{field}: {before} → {after}", "by": "Changed by: {name}",
           "to": "For: {names}", "open": "Open: {url}", "rows": "{n} rows", "one_row": "1 row", "none": "(empty)",
           "yes": "yes", "no": "no", "sep": ", "},
    "zh": {"subject": "已变更:{record} — {fields}", "line": "{field}:{before} → {after}", "by": "修改人:{name}",
           "to": "提醒:{names}", "open": "查看:{url}", "rows": "{n} 行", "one_row": "1 行", "none": "(空)",
           "yes": "是", "no": "否", "sep": "、"},
}


def _shown(namer: Namer, spec: FieldSpecBase, value: Any) -> Any:
    """A value as the history keeps it (JSON), with references and people named."""
    if value is None:
        return None
    if spec.type == "reference" and isinstance(value, int):
        return {"id": value, "title": namer.titles.get((str(getattr(spec, "flow", "")), value), "")}
    if spec.type == "user" and isinstance(value, int):
        return {"id": value, "name": namer.people.get(value, "")}
    return value


def enqueue_change_notices(conn: Connection, registry: FlowRegistry | None, live: LiveFlow, *, record_id: int,
                           state: str, changes: Mapping[str, list[Any]], row: Mapping[str, Any],
                           actor_id: int | None, now: datetime) -> int:
    """The outbox rows of the notices a change calls for; `state` is the one it was made in, `changes`
    field → [before, after] as the history writes them, `row` the record row as written."""
    from engine.sla.scheduler import resolve_recipients  # the reminders' way of finding people

    flow = live.flow
    rules = flow.spec.notify_on_change
    if not rules or not changes:
        return 0
    targets: dict[tuple[str, str], tuple[int, list[str], set[int], int | None, str | None]] = {}
    for index, rule in enumerate(rules):
        if rule.states and state not in rule.states:
            continue
        changed = [f for f in rule.fields if f in changes]
        if not changed:
            continue
        people = [p for p in resolve_recipients(conn, flow, cast(Any, rule), state, row) if p.user_id != actor_id]
        for channel in rule.via:
            found = [None] if channel in BROADCAST_CHANNELS else people
            for person in found:
                if person is not None and channel == "inbox" and person.user_id is None:
                    continue
                key = ("all" if person is None else person.key, channel)
                first, fields, mention, uid, address = targets.get(
                    key, (index, [], set(), person.user_id if person else None, person.address if person else None))
                fields.extend(f for f in changed if f not in fields)
                if person is None:
                    mention.update(p.user_id for p in people if p.user_id is not None)
                targets[key] = (first, fields, mention, uid, address)
    if not targets:
        return 0
    names = list(dict.fromkeys(f for _, fields, _, _, _ in targets.values() for f in fields))
    namer = Namer(conn, registry, flow, [{n: changes[n][0] for n in names}, {n: changes[n][1] for n in names}], names)
    actor = (conn.execute(select(users.c.display_name).where(users.c.id == actor_id)).scalar()
             if actor_id is not None else None)
    version = row.get("version")
    rows, payloads = [], []
    for (recipient, way), (first, listed, mention, uid, address) in targets.items():
        key_text = dedupe_key(flow.name, record_id, state, int(version or 0), CHANGE_EVENT, recipient, way)
        ordered = [n for n in flow.fields if n in listed]
        payload = {"fields": ordered, "changes": {n: [_shown(namer, flow.fields[n], changes[n][0]),
                                                      _shown(namer, flow.fields[n], changes[n][1])] for n in ordered},
                   "by": str(actor) if actor else None, "people": sorted(mention)}
        rows.append({"dedupe_key": key_text, "flow": flow.name, "record_id": record_id, "state": str(row.get("state") or state),
                     "event": CHANGE_EVENT, "rule": first, "channel": way, "recipient": recipient, "user_id": uid,
                     "address": address, "event_at": now, "created_at": now})
        payloads.append({"dedupe_key": key_text, "payload": json.dumps(payload, ensure_ascii=False)})
    written = add_rows(conn, rows)
    conn.execute(insert(outbox_payloads), payloads)
    return written


def _display(spec: FieldSpecBase, value: Any, flow: CompiledFlow, lang: str, texts: Mapping[str, str]) -> str:
    if value is None or value == "" or value == []:
        return texts["none"]
    if isinstance(value, dict):
        return str(value.get("title") or value.get("name") or value.get("id"))
    if spec.type == "table" and isinstance(value, list):
        return texts["one_row"] if len(value) == 1 else texts["rows"].format(n=len(value))
    choices: Mapping[str, Any] = getattr(spec, "choices", None) or {}
    if isinstance(value, list):
        return texts["sep"].join(str(pick(choices.get(v), lang, flow.spec.language) or v) for v in value)
    if isinstance(value, bool):
        return texts["yes"] if value else texts["no"]
    if choices and isinstance(value, str):
        return str(pick(choices.get(value), lang, flow.spec.language) or value)
    return str(value)


def with_change_notice(db: Engine, flow: CompiledFlow, message: OutboundMessage, language: str | None) -> OutboundMessage:
    """`message` (a composed `change` row) saying which fields changed from what to what, in `language`."""
    with db.connect().execution_options(readonly=True) as conn:
        text = stored_payload(conn, message.dedupe_key)
        if text is None:
            return message
        payload = json.loads(text)
        people = load_people(conn, [int(i) for i in payload.get("people", [])])
    lang = _language(language, message.flow_title)
    texts = _TEXTS[lang]
    reader = language or flow.spec.language
    titles, lines = [], []
    for name in payload["fields"]:
        spec = flow.fields.get(name)
        if spec is None:  # a field removed by a reload since
            continue
        title = str(pick(spec.title, reader, flow.spec.language) or name)
        titles.append(title)
        before, after = payload["changes"][name]
        lines.append(texts["line"].format(field=title, before=_display(spec, before, flow, reader or "", texts),
                                          after=_display(spec, after, flow, reader or "", texts)))
    subject = texts["subject"].format(record=message.record_title, fields=texts["sep"].join(titles))
    body = [subject, *lines]
    if payload.get("by"):
        body.append(texts["by"].format(name=payload["by"]))
    if people:
        body.append(texts["to"].format(names=", ".join(p.name for p in people)))
    if message.url:
        body.append(texts["open"].format(url=message.url))
    return dataclasses.replace(message, subject=subject, body="\n".join(body), recipients=tuple(people))
