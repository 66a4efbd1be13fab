"""The worker: a scheduler pass, then a batch of deliveries, again and again.

It runs as a thread inside the server (``start_worker_thread``; off with
``RELAYFLOW_WORKER=off``) and on its own as ``relayflow worker``. Any number
may run at once: scheduler passes lock per flow, deliveries are claimed with a
lease (engine/delivery/outbox.py), so nothing is sent twice by two healthy workers; a
crashed one's claims are taken over after their lease, and every message
carries its dedupe key for receivers. Due rows in the past are found like any
other, so a worker that was down catches up.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time as clock_time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from forms.local_text import pick
from engine.delivery.channels import BROADCAST_CHANNELS, Channel, DeliveryFailed, build_channels
from engine.delivery.channels.message import OutboundMessage, Person, compose, compose_event, load_people
from engine.delivery.channels.settings import ChannelSettings
from engine.delivery.digest import EVENT as DIGEST, compose_digest, enqueue_digests, local_day
from engine.delivery.print_attachments import attachments_for
from engine.records.errors import NotFound
from engine.records.board_store import Figures, FigureStore, RefreshResult, Stale, refresh_ahead
from engine.records.dashboards import recompute
from engine.files.cleanup import UploadSweeper
from engine.delivery.outbox import DROPPED, Claimed, DeliveryPolicy, claim, epoch, mark_dropped, mark_failed, mark_sent
from engine.records.records import Records, values_from_row
from engine.delivery.outbox import (
    HELD, mark_held
)
from engine.delivery.change_notices import CHANGE_EVENT, with_change_notice
from engine.delivery.channels.events import DeliveryHeld, EventsChannel, release_configured, unconfigured_settings
from engine.delivery.event_values import record_title as record_title_of
from engine.delivery.events import EVENTS_CHANNEL
from engine.storage.registry import FlowRegistry
from engine.sla.scheduler import PassResult, resolve_recipients, run_pass
from engine.settings import Settings

log = logging.getLogger("relayflow.worker")

DEFAULT_INTERVAL = 15.0


def worker_enabled(settings: Settings) -> bool:
    """False when RELAYFLOW_WORKER is off (the server then runs no worker thread)."""
    return settings.worker


def worker_interval(settings: Settings) -> float:
    return settings.worker_interval


@dataclass
class CycleResult:
    passes: list[PassResult] = field(default_factory=list)
    sent: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def enqueued(self) -> int:
        return sum(p.enqueued for p in self.passes)


class Worker:
    """Scheduler passes and deliveries for the flows of a registry."""

    def __init__(self, db: Engine, registry: FlowRegistry, *, channels: Mapping[str, Channel] | None = None,
                 settings: ChannelSettings | None = None, policy: DeliveryPolicy | None = None,
                 batch: int = 50, name: str | None = None, digest_at: str | None = None) -> None:
        self.db = db
        self.registry = registry
        self.settings = settings or ChannelSettings.from_env()  # a worker is a place the program is assembled
        self.channels = channels if channels is not None else build_channels(db, self.settings)
        if EVENTS_CHANNEL not in self.channels:  # `events:` of the flows: needs the registry (payloads of warnings)
            events = EventsChannel(db, registry, self.settings.env, timeout=self.settings.http_timeout)
            self.channels = {**self.channels, EVENTS_CHANNEL: events}
        self._start_events()
        self.policy = policy or DeliveryPolicy.from_env()
        self.batch = batch
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        program = Settings.from_env()  # read once: the sweeper's file store and the digest's hour
        self.sweeper = UploadSweeper(db, program)  # unattached uploads (engine/files/cleanup.py)
        # The daily digest (engine/delivery/digest.py): at RELAYFLOW_DIGEST_AT in each flow's zone; "" = none.
        at = program.digest_at if digest_at is None else digest_at
        self.digest_at = clock_time.fromisoformat(at) if at else None
        self._digested: dict[str, Any] = {}  # flow → the local day whose digests this worker has queued
        # Dashboards read in the last `dashboard_keep` seconds: computed again ahead of their expiry
        # (engine/records/board_store.py), so that no reader of a busy board waits for its figures.
        self.board_store = FigureStore(db)
        self.board_ttl, self.board_keep = program.dashboard_ttl, program.dashboard_keep

    def _start_events(self) -> None:
        """Say which flows' events wait for a setting; send the held ones whose setting is set now."""
        events = self.channels.get(EVENTS_CHANNEL)
        if not isinstance(events, EventsChannel):
            return
        for flow, setting in unconfigured_settings(self.registry, self.settings.env):
            log.warning("flow '%s' sends events to RELAYFLOW_%s, which is not set: its events are held in the "
                        "outbox until a worker starts with it", flow, setting)
        try:
            released = release_configured(self.db, events)
        except Exception:  # a database without the tables yet (a worker built before the upgrade)
            log.debug("held events not released", exc_info=True)
            return
        if released:
            log.info("%d held event(s) queued again: their settings are set now", released)

    # --- one cycle -------------------------------------------------------------------------------

    def run_once(self, *, now: datetime | None = None, deliver: bool = True) -> CycleResult:
        """One scheduler pass over every flow, then deliveries until nothing due is left (bounded)."""
        self.registry.refresh(self.db)  # serve a flow revision applied by another process
        result = CycleResult(passes=run_pass(self.db, self.registry, now=now))
        try:
            self.sweeper.maybe_run(now)
        except Exception:  # noqa: BLE001 - house-keeping must not stop reminders
            log.exception("the sweep of unattached uploads failed")
        self.queue_digests(now or datetime.now(timezone.utc))
        if deliver:
            for _ in range(100):
                claimed = self.deliver_batch(now=now, into=result)
                if claimed < self.batch:
                    break
        self.refresh_boards()  # after the reminders: they do not wait for dashboards
        return result

    def refresh_boards(self, budget: float = 20.0) -> RefreshResult | None:
        """Dashboard figures that somebody reads, computed again before they expire (at most `budget` seconds)."""
        records: list[Records] = []  # made when a row is to be computed

        def compute(row: Stale) -> Figures | None:
            if not records:
                records.append(Records(self.db, self.registry))
            return recompute(self.db, self.registry, records[0], row)

        try:
            return refresh_ahead(self.board_store, compute, ttl=self.board_ttl, keep=self.board_keep, budget=budget)
        except Exception:  # noqa: BLE001 - dashboards must not stop reminders
            log.exception("the refresh of dashboard figures failed")
            return None

    def queue_digests(self, now: datetime) -> int:
        """Today's digests of the flows whose local digest time has come, once a day per flow and worker
        (the outbox's dedupe keys keep it to one per person and day across workers and restarts)."""
        if self.digest_at is None:
            return 0
        due = [lf.flow.name for lf in self.registry.all()
               if self._digested.get(lf.flow.name) != local_day(lf.flow, now)[0]
               and now.astimezone(lf.flow.timezone).time() >= self.digest_at]
        if not due:
            return 0
        added = enqueue_digests(self.db, self.registry, Records(self.db, self.registry), now, at=self.digest_at, flows=due)
        for lf in self.registry.all():
            if lf.flow.name in due:
                self._digested[lf.flow.name] = local_day(lf.flow, now)[0]
        return added

    def deliver_batch(self, *, now: datetime | None = None, into: CycleResult | None = None) -> int:
        """Claim up to `batch` due messages and send them; returns how many were claimed."""
        claimed = claim(self.db, self.name, limit=self.batch, now=now, policy=self.policy)
        for c in claimed:
            outcome = self.deliver(c, now=now)
            if into is not None:
                if outcome == "sent":
                    into.sent += 1
                elif outcome == "retry":
                    into.retried += 1
                elif outcome not in (DROPPED, HELD):
                    into.dead += 1
        return len(claimed)

    def deliver(self, c: Claimed, *, now: datetime | None = None) -> str:
        """Send one claimed message; `now` (default: the clock) is when a retry is scheduled from."""
        started = datetime.now(timezone.utc)
        if self._stage_ended(c):
            mark_dropped(self.db, c, self.name, "the record left the stage this reminder is about", started=started)
            return DROPPED
        try:
            channel = self.channels.get(c.row["channel"])
            if channel is None:
                raise DeliveryFailed(f"no channel '{c.row['channel']}'", permanent=True)
            detail = channel.send(self.message(c))
        except DeliveryHeld as exc:
            log.warning("delivery %s %s", c.row["dedupe_key"], exc)
            mark_held(self.db, c, self.name, str(exc), started=started)
            return HELD
        except DeliveryFailed as exc:
            outcome = mark_failed(self.db, c, self.name, str(exc), started=started, permanent=exc.permanent,
                                  policy=self.policy, now=now)
            log.info("delivery %s (%s) failed: %s → %s", c.row["dedupe_key"], c.attempt, exc, outcome)
            return outcome
        except Exception as exc:  # a bug or an unexpected error in a channel: retried, then dead-lettered
            log.exception("delivery %s crashed", c.row["dedupe_key"])
            return mark_failed(self.db, c, self.name, f"{type(exc).__name__}: {exc}", started=started,
                               policy=self.policy, now=now)
        mark_sent(self.db, c, self.name, started=started, detail=detail)
        return "sent"

    def _stage_ended(self, c: Claimed) -> bool:
        """A warning, breach or repeat is about one SLA stage (its state and start, in the dedupe key): once the
        record has left that stage (moved on, or entered the state again), a retry must not send it."""
        row = c.row
        if row["event"] not in ("warn", "breach", "repeat") or row["channel"] == EVENTS_CHANNEL:
            return False  # an event sent to another system happened, whatever the record did since
        try:
            live = self.registry.get(row["flow"])
        except NotFound:
            return False
        t = live.table
        with self.db.connect().execution_options(readonly=True) as conn:
            now_in = conn.execute(select(t.c.sla_state, t.c.sla_started_at).where(t.c.id == row["record_id"])).first()
        if now_in is None or now_in.sla_state is None or now_in.sla_started_at is None:
            return True
        # flow:record:state@stage-start:… (flow ids hold no colon)
        return bool(row["dedupe_key"].split(":")[2] != f"{now_in.sla_state}@{epoch(now_in.sla_started_at)}")

    def message(self, c: Claimed) -> OutboundMessage:
        """Compose the message of a claimed row from the live flow and the record as it is now."""
        row = c.row
        if row["channel"] == EVENTS_CHANNEL:  # the channel sends the event's frozen payload
            return compose_event(row)
        if row["event"] == DIGEST:
            return compose_digest(self.db, self.registry, Records(self.db, self.registry), row, base_url=self.settings.base_url)
        flow_title, record_title, state_title = row["flow"], f"{row['flow']} #{row['record_id']}", row["state"]
        tz: ZoneInfo = ZoneInfo("UTC")
        language: str | None = None
        record: Mapping[Any, Any] = {}
        try:
            live = self.registry.get(row["flow"])
        except NotFound:
            live = None
        with self.db.connect().execution_options(readonly=True) as conn:
            person: Person | None = None
            if row["user_id"] is not None:
                people = load_people(conn, [row["user_id"]])
                person = people[0] if people else Person(row["user_id"], f"user {row['user_id']}", None)
            if live is not None:
                flow = live.flow
                # One person reads it in their own language; a team channel in the flow's.
                tz, language = flow.timezone, (person.locale if person and person.locale else None) or flow.spec.language
                flow_title = pick(flow.spec.title, language, flow.spec.language) or flow.name
                if row["state"] in flow.spec.states:
                    state_title = pick(flow.state(row["state"]).title, language, flow.spec.language) or row["state"]
                found = conn.execute(select(live.table).where(live.table.c.id == row["record_id"])).mappings().first()
                if found is not None:
                    record = found
                    record_title = record_title_of(conn, self.registry, flow, values_from_row(flow, dict(found)),
                                                   row["record_id"], found["state"])
            recipients: list[Person] = []
            if row["channel"] in BROADCAST_CHANNELS and live is not None and record and row["event"] != CHANGE_EVENT:
                rules = live.flow.spec.reminders
                if 0 <= row["rule"] < len(rules) and row["state"] in live.flow.spec.states:
                    found_people = resolve_recipients(conn, live.flow, rules[row["rule"]], row["state"],
                                                      {**record, "state": row["state"]})
                    recipients = load_people(conn, [p.user_id for p in found_people if p.user_id is not None])
        message = compose(outbox_row=row, flow_title=flow_title, record_title=record_title, state_title=state_title,
                          tz=tz, language=language, base_url=self.settings.base_url, person=person,
                          recipients=recipients)
        if row["event"] == CHANGE_EVENT and live is not None:  # a change notice says what changed
            message = with_change_notice(self.db, live.flow, message, language)
        files = attachments_for(self.db, self.registry, row, person)  # `attach:` PDFs (print_attachments.py)
        return replace(message, attachments=files) if files else message

    # --- the loop --------------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, interval: float = DEFAULT_INTERVAL) -> None:
        """Cycle every `interval` seconds until `stop` is set; errors are logged, never fatal."""
        log.info("worker %s started (every %.1fs)", self.name, interval)
        while not stop.is_set():
            began = time.monotonic()
            try:
                self.run_once()
            except Exception:
                log.exception("worker cycle failed")
            stop.wait(max(0.0, interval - (time.monotonic() - began)))
        log.info("worker %s stopped", self.name)


@dataclass
class WorkerThread:
    thread: threading.Thread
    stop: threading.Event

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        self.thread.join(timeout)


def start_worker_thread(db: Engine, registry: FlowRegistry, *, interval: float = DEFAULT_INTERVAL) -> WorkerThread:
    """The worker as a daemon thread (what the server runs)."""
    stop = threading.Event()
    worker = Worker(db, registry)
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"interval": interval},
                              name="relayflow-worker", daemon=True)
    thread.start()
    return WorkerThread(thread, stop)
