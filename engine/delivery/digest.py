"""The daily digest: one e-mail a day to each person a flow's dashboards name, listing what is late and what
falls due today, among the records they may see.

* Who: the active users with an e-mail address holding a role a board of the flow is for
  (engine/records/dashboards.py `audience`; the default board: the owners of the flow's stages).
* When: the worker, once the flow's local time has reached RELAYFLOW_DIGEST_AT (`enqueue_digests`),
  or at once with `relayflow digest --now`.
* Once: each digest is an outbox row whose dedupe key names the flow, the person and the local day
  (``sales_order:0:digest@2026-10-12:digest:u7:email``), so a second run the same day adds nothing and a
  crashed worker's claim is taken over like any other message (engine/delivery/outbox.py).
* Nothing to say, no mail: a person with nothing late and nothing due today gets no digest that day.
* What it says is composed when it is sent (`compose_digest`): in the person's language, titles picked
  from the flow, each record with its link.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, and_, select
from sqlalchemy.engine import Connection

from engine.delivery.channels.base import DeliveryFailed
from engine.delivery.channels.message import OutboundMessage, Person
from engine.delivery.outbox import add_rows
from engine.language.flow import CompiledFlow
from engine.people.users import load_actor
from engine.records.access import visible_clause
from engine.records.actor import Actor
from engine.records.dashboard_figures import due_list
from engine.records.dashboards import audience, boards
from engine.records.errors import NotFound
from engine.records.records import Records
from engine.storage.registry import FlowRegistry, LiveFlow
from engine.storage.schema import role_grants, users
from forms.local_text import pick

EVENT = "digest"
LIST_LIMIT = 50  # records per section of one digest (the count says how many there are)

_TEXTS = {
    "en": {"subject": "{flow}: {late} late, {today} due today ({day})", "late": "Late ({n}):",
           "today": "Due today ({n}):", "more": "… and {n} more", "item": "- {title} — {state}, due {due}",
           "open": "  {url}", "board": "Dashboard: {url}"},
    "zh": {"subject": "{flow}:{late} 条已超时,{today} 条今日到期({day})", "late": "已超时({n} 条):",
           "today": "今日到期({n} 条):", "more": "…… 另有 {n} 条", "item": "- {title} — {state},截止 {due}",
           "open": "  {url}", "board": "看板:{url}"},
}


def digest_roles(flow: CompiledFlow) -> frozenset[str]:
    """The roles the flow's dashboards are for."""
    out: set[str] = set()
    for board in boards(flow):
        out |= audience(flow, board)
    return frozenset(out)


def recipients(conn: Connection, flow: CompiledFlow) -> list[int]:
    """Active users with an e-mail address and a role a dashboard of the flow is for."""
    roles = sorted(digest_roles(flow))
    if not roles:
        return []
    q = (select(users.c.id).distinct().join(role_grants, role_grants.c.user_id == users.c.id)
         .where(role_grants.c.role.in_(roles), users.c.active.is_(True), users.c.email.is_not(None), users.c.email != "")
         .order_by(users.c.id))
    return [int(i) for i in conn.execute(q).scalars()]


def local_day(flow: CompiledFlow, now: datetime) -> tuple[date, datetime]:
    """The flow's local date at `now`, and the instant its next day begins."""
    local = now.astimezone(flow.timezone)
    start = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=flow.timezone)
    return local.date(), start.astimezone(timezone.utc)


def digest_key(flow: str, day: date, user_id: int) -> str:
    return f"{flow}:0:{EVENT}@{day.isoformat()}:{EVENT}:u{user_id}:email"


@dataclass(frozen=True)
class Sections:
    late: dict[str, Any]
    today: dict[str, Any]

    @property
    def empty(self) -> bool:
        return not self.late["total"] and not self.today["total"]


def sections(conn: Connection, registry: FlowRegistry, records: Records, live: LiveFlow, actor: Actor,
             now: datetime) -> Sections:
    """What is late and what falls due before the end of the flow's local day, among what `actor` may see."""
    seen = None if actor.is_admin else visible_clause(live, actor)
    _, tomorrow = local_day(live.flow, now)
    late = due_list(conn, registry, records, live, actor, seen, now, late=True, limit=LIST_LIMIT)
    today = due_list(conn, registry, records, live, actor, seen, now, late=False, until=tomorrow, limit=LIST_LIMIT)
    return Sections(late, today)


def enqueue_digests(db: Engine, registry: FlowRegistry, records: Records, now: datetime, *, at: time | None,
                    flows: list[str] | None = None) -> int:
    """Outbox rows for today's digests of every flow whose local time has reached `at` (None: now, whatever the
    time); a person already sent today's digest of a flow is skipped. Returns the rows added."""
    added = 0
    for live in registry.all():
        if flows is not None and live.flow.name not in flows:
            continue
        day, _ = local_day(live.flow, now)
        if at is not None and now.astimezone(live.flow.timezone).time() < at:
            continue
        with db.connect().execution_options(readonly=True) as conn:
            wanted = [(uid, digest_key(live.flow.name, day, uid)) for uid in recipients(conn, live.flow)]
            rows = []
            for uid, key in wanted:
                try:
                    actor = load_actor(db, uid=uid)
                except NotFound:
                    continue
                if sections(conn, registry, records, live, actor, now).empty:
                    continue
                rows.append({"dedupe_key": key, "flow": live.flow.name, "record_id": 0, "state": "", "event": EVENT,
                             "rule": 0, "channel": "email", "recipient": f"u{uid}", "user_id": uid,
                             "event_at": now, "created_at": now})
        if rows:
            with db.begin() as wconn:
                added += add_rows(wconn, rows)
    return added


def _language(person: Person, flow: CompiledFlow) -> str | None:
    return person.locale or flow.spec.language


def compose_digest(db: Engine, registry: FlowRegistry, records: Records, row: Mapping[str, Any], *,
                   base_url: str | None, now: datetime | None = None) -> OutboundMessage:
    """The e-mail of a digest row: the records late and due that day as of the digest's instant (the row's
    `event_at`; a record finished since is left out), in the person's language."""
    now = now or row["event_at"]
    try:
        live = registry.get(row["flow"])
        actor = load_actor(db, uid=row["user_id"])
    except NotFound as exc:  # the flow was removed or the person deactivated since: nobody to tell
        raise DeliveryFailed(f"no digest: {exc}", permanent=True) from None
    flow = live.flow
    with db.connect().execution_options(readonly=True) as conn:
        found = conn.execute(select(users.c.email).where(and_(users.c.id == actor.id))).scalar()
        person = Person(actor.id, actor.display_name or actor.username, found, actor.locale)
        parts = sections(conn, registry, records, live, actor, now)
    lang = _language(person, flow)
    texts = _TEXTS["zh" if lang and lang.lower().startswith("zh") else "en"]
    flow_title = pick(flow.spec.title, lang, flow.spec.language) or flow.name
    tz = flow.timezone
    day = row["dedupe_key"].split("@", 1)[1].split(":", 1)[0]

    def section(head: str, part: dict[str, Any]) -> list[str]:
        if not part["total"]:
            return []
        lines = [texts[head].format(n=part["total"])]
        for item in part["items"]:
            state = pick(flow.state(item["state"]).title, lang, flow.spec.language) if item["state"] in flow.spec.states else None
            due = datetime.fromisoformat(item["due_at"]).astimezone(tz)
            lines.append(texts["item"].format(title=item["title"], state=state or item["state"],
                                              due=f"{due:%Y-%m-%d %H:%M} ({getattr(tz, 'key', 'UTC')})"))
            if base_url:
                lines.append(texts["open"].format(url=f"{base_url}/records/{flow.name}/{item['id']}"))
        if part["total"] > len(part["items"]):
            lines.append(texts["more"].format(n=part["total"] - len(part["items"])))
        return lines + [""]

    subject = texts["subject"].format(flow=flow_title, late=parts.late["total"], today=parts.today["total"], day=day)
    body = [subject, ""] + section("late", parts.late) + section("today", parts.today)
    if base_url:
        body.append(texts["board"].format(url=f"{base_url}/dashboards/{flow.name}"))
    return OutboundMessage(
        outbox_id=row["id"], dedupe_key=row["dedupe_key"], attempt=row["attempts"], channel=row["channel"], event=EVENT,
        flow=flow.name, flow_title=flow_title, record_id=0, record_title=subject, state="", state_title="",
        due_at=None, event_at=row["event_at"], subject=subject, body="\n".join(body).rstrip() + "\n",
        url=f"{base_url}/dashboards/{flow.name}" if base_url else None, person=person, address=row["address"])
