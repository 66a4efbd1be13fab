"""What a reminder says: composed at delivery time from the outbox row, the flow and the record.

The outbox row freezes the facts (event, stage, due instant, recipient); the
record's title and the people's names are read when the message is sent.
A message to one person is in that person's language (their `locale`), its
titles picked from the flow's mappings; otherwise, and for team channels, in
the flow's ``language``: Chinese for ``zh…`` (or, with no ``language``, a
Chinese title), else English.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection

from engine.storage.schema import users

_TEXTS = {
    "en": {
        "warn": "Due soon: {record} — {state} is due {due}",
        "breach": "Overdue: {record} — {state} was due {due}",
        "repeat": "Still overdue: {record} — {state} was due {due}",
        "enter": "{record} is now in {state}",
        "urge": "Urged: {record} — {state} is waiting for you",
        "change": "Changed: {record}",
        "due": "Due: {due}",
        "to": "For: {names}",
        "open": "Open: {url}",
    },
    "zh": {
        "warn": "即将超时：{record} — {state}，截止 {due}",
        "breach": "已超时：{record} — {state}，截止 {due}",
        "repeat": "仍未处理（已超时）：{record} — {state}，截止 {due}",
        "enter": "{record} 已进入「{state}」",
        "urge": "催办：{record} — 「{state}」正在等您处理",
        "change": "已变更：{record}",
        "due": "截止：{due}",
        "to": "提醒：{names}",
        "open": "查看：{url}",
    },
}


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str | None
    locale: str | None = None  # the language the person reads (their setting), None: the flow's
    phone: str | None = None  # for @-mentions in IM robot messages (engine/people/im_contacts.py)
    im_id: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail (a printed record's PDF: engine/delivery/print_attachments.py)."""

    filename: str
    content: bytes
    mime: str = "application/pdf"


@dataclass(frozen=True)
class OutboundMessage:
    """One message on its way to one recipient (or to a team's endpoint)."""

    outbox_id: int
    dedupe_key: str
    attempt: int
    channel: str
    event: str
    flow: str
    flow_title: str
    record_id: int
    record_title: str
    state: str
    state_title: str
    due_at: datetime | None
    event_at: datetime
    subject: str
    body: str
    url: str | None = None
    person: Person | None = None
    address: str | None = None
    recipients: tuple[Person, ...] = field(default_factory=tuple)
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    @property
    def email_to(self) -> str | None:
        return self.address or (self.person.email if self.person else None)

    def as_json(self) -> dict[str, Any]:
        """The generic webhook body."""
        return {
            "id": self.dedupe_key,
            "event": self.event,
            "flow": {"name": self.flow, "title": self.flow_title},
            "record": {"id": self.record_id, "title": self.record_title, "url": self.url},
            "state": {"name": self.state, "title": self.state_title},
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "event_at": self.event_at.isoformat(),
            "recipients": [{"id": p.id, "name": p.name} for p in self.recipients],
            "subject": self.subject,
            "text": self.body,
        }


def record_url(base_url: str | None, flow: str, record_id: int) -> str | None:
    """The record's page under the site's public address (RELAYFLOW_BASE_URL): the route of
    ui/routes/records.py, `/records/<flow>/<id>`; None without a base URL."""
    return f"{base_url.rstrip('/')}/records/{flow}/{record_id}" if base_url else None


def compose_event(outbox_row: Mapping[str, Any]) -> OutboundMessage:
    """The facts of an `events` row (engine/delivery/events.py); its channel sends the frozen payload."""
    return OutboundMessage(
        outbox_id=outbox_row["id"], dedupe_key=outbox_row["dedupe_key"], attempt=outbox_row["attempts"],
        channel=outbox_row["channel"], event=outbox_row["event"], flow=outbox_row["flow"], flow_title=outbox_row["flow"],
        record_id=outbox_row["record_id"], record_title="", state=outbox_row["state"], state_title=outbox_row["state"],
        due_at=outbox_row["due_at"], event_at=outbox_row["event_at"], subject="", body="",
        address=outbox_row["recipient"])


def load_people(conn: Connection, ids: list[int]) -> list[Person]:
    if not ids:
        return []
    rows = conn.execute(select(users.c.id, users.c.display_name, users.c.email, users.c.locale, users.c.phone,
                               users.c.im_id).where(users.c.id.in_(ids))).all()
    by_id = {r.id: Person(r.id, r.display_name, r.email, r.locale, r.phone, r.im_id) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def _language(language: str | None, flow_title: str) -> str:
    """zh for `language: zh…`, or when none is given and the flow's title is Chinese; else en."""
    if language:
        return "zh" if language.lower().startswith("zh") else "en"
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in flow_title) else "en"


def compose(*, outbox_row: Mapping[str, Any], flow_title: str, record_title: str, state_title: str,
            tz: ZoneInfo, language: str | None, base_url: str | None, person: Person | None,
            recipients: list[Person]) -> OutboundMessage:
    texts = _TEXTS[_language(language, flow_title)]
    due = outbox_row["due_at"]
    # Named with its zone: a reader in another office must not guess whose 18:00 it is.
    due_text = f"{due.astimezone(tz):%Y-%m-%d %H:%M} ({tz.key})" if due else "-"
    event = outbox_row["event"]
    subject = texts[event].format(record=record_title, state=state_title, due=due_text)
    url = record_url(base_url, outbox_row["flow"], outbox_row["record_id"])
    lines = [subject]
    if due and event == "enter":
        lines.append(texts["due"].format(due=due_text))
    if recipients:
        lines.append(texts["to"].format(names=", ".join(p.name for p in recipients)))
    if url:
        lines.append(texts["open"].format(url=url))
    return OutboundMessage(
        outbox_id=outbox_row["id"], dedupe_key=outbox_row["dedupe_key"], attempt=outbox_row["attempts"],
        channel=outbox_row["channel"], event=event, flow=outbox_row["flow"], flow_title=flow_title,
        record_id=outbox_row["record_id"], record_title=record_title, state=outbox_row["state"],
        state_title=state_title, due_at=due, event_at=outbox_row["event_at"], subject=subject,
        body="\n".join(lines), url=url, person=person, address=outbox_row["address"],
        recipients=tuple(recipients),
    )
