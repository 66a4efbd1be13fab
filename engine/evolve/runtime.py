"""Reloading inside a running server: the flows/ folder at start, new revisions, development mode.

* `sync_folder` (server start): each file of flows/ becomes the live revision
  when its plan is safe (adds and rule changes only); a plan that touches stored
  data or is refused is logged and held back, and the live revision keeps being
  served. `relayflow plan` / `relayflow apply` are how an admin applies those.
* `LiveRevisionPoller`: at most every `interval` seconds, one cheap query
  (`flows.live_revision`) tells a worker whether another process applied a new
  revision; the web layer calls it before handling a request.
* `FlowFolderWatcher` (development mode): polls the folder's modification
  times and applies every changed file whose plan is not refused.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic

from sqlalchemy import Engine

from engine.sla.calendar import CalendarSpec
from engine.evolve.apply import AppliedRevision, NotAllowedHere, apply_flow
from engine.evolve.errors import LiveRevisionChanged, PlanChanged, PlanRefused
from engine.evolve.model import Plan
from engine.evolve.planner import plan_flow
from engine.evolve.render import render_plan
from engine.language.flow import CompiledFlow
from engine.language.problems import FlowLoadError, FlowProblem
from engine.language.flow_set import CALENDARS_FILE
from engine.storage.registry import FlowRegistry, LiveFlow, load_folder
from engine.storage.tables import build_flow_table

log = logging.getLogger("relayflow.reload")


class HeldBack(FlowLoadError):
    """A flow file whose change was not applied automatically; the live revision is still served."""

    def __init__(self, plan: Plan, why: str) -> None:
        live = f"revision {plan.base_revision}" if plan.base_revision else "nothing"
        message = (f"flow '{plan.flow}' not applied automatically: {why}; still serving {live}. "
                   f"See `relayflow plan {plan.source}` and apply it with `relayflow apply {plan.source}`")
        super().__init__([FlowProblem(1, 1, message, plan.source)])
        self.plan = plan


def safe_only(plan: Plan) -> str | None:
    if plan.safe:
        return None
    touched = [c.text for c in plan.changes if c.effect == "data"]
    return "the change touches stored data (" + "; ".join(touched[:3]) + ")"


@dataclass
class FolderSync:
    applied: list[AppliedRevision] = field(default_factory=list)
    held_back: list[HeldBack] = field(default_factory=list)
    errors: list[FlowLoadError] = field(default_factory=list)

    @property
    def problems(self) -> list[FlowLoadError]:
        return [*self.errors, *self.held_back]


def apply_files(db: Engine, registry: FlowRegistry, flows: list[CompiledFlow], calendars: dict[str, CalendarSpec],
                allow: Callable[[Plan], str | None] | None) -> FolderSync:
    result = FolderSync()
    superseded = _superseded_files(db, flows) if allow is not None else {}
    for flow in flows:
        if flow.name in superseded:
            # The file is an older revision: an admin has applied a newer one (pages, API or CLI)
            # since. Re-applying it at start would silently undo that change.
            log.warning("flow %s: %s is revision %s, older than the live revision %s; not applied",
                        flow.name, flow.source, *superseded[flow.name])
            continue
        if plan_flow(db, flow, calendars=calendars).unchanged:
            continue  # the usual case at start: no lock taken, nothing written
        try:
            applied = apply_flow(db, flow, calendars=calendars, allow=allow)
        except PlanRefused as exc:
            held = HeldBack(exc.plan, "the plan is refused")
            log.warning("%s\n%s", held, render_plan(exc.plan))
            result.held_back.append(held)
            continue
        except NotAllowedHere as exc:
            held = HeldBack(exc.plan, exc.message)
            log.warning("%s\n%s", held, render_plan(exc.plan))
            result.held_back.append(held)
            continue
        except (LiveRevisionChanged, PlanChanged) as exc:  # pragma: no cover - only with an expected plan
            log.warning("%s", exc.message)
            continue
        if applied.applied:
            log.info("flow %s: revision %s applied from %s", flow.name, applied.revision, flow.source)
            registry.put(LiveFlow(flow, build_flow_table(flow), int(applied.revision or 0)))
        result.applied.append(applied)
    registry.refresh(db, calendars)
    return result


def _superseded_files(db: Engine, flows: list[CompiledFlow]) -> dict[str, tuple[int, int]]:
    """Flows whose file is an earlier (not the live) revision: name → (that revision, live revision)."""
    from sqlalchemy import select

    from engine.storage.schema import flow_revisions
    from engine.storage.schema import flows as flows_table

    names = [f.name for f in flows]
    if not names:
        return {}
    with db.connect().execution_options(readonly=True) as conn:
        live = dict(conn.execute(select(flows_table.c.name, flows_table.c.live_revision)
                                 .where(flows_table.c.name.in_(names))).all())
        known = conn.execute(select(flow_revisions.c.flow, flow_revisions.c.revision, flow_revisions.c.sha256)
                             .where(flow_revisions.c.flow.in_(names))).all()
    by_sha: dict[tuple[str, str], int] = {}
    for name, revision, sha in known:
        by_sha[(name, sha)] = max(revision, by_sha.get((name, sha), 0))
    out = {}
    for flow in flows:
        rev = by_sha.get((flow.name, flow.sha256))
        current = live.get(flow.name)
        if rev is not None and current is not None and rev < current:
            live_sha = next((sha for n, r, sha in known if n == flow.name and r == current), None)
            if live_sha != flow.sha256:
                out[flow.name] = (rev, int(current))
    return out


def sync_folder(db: Engine, registry: FlowRegistry, folder: str | Path,
                allow: Callable[[Plan], str | None] | None = safe_only) -> FolderSync:
    """Make the folder's flows live under the policy `allow`; serve every live flow of the database."""
    good, bad, calendars = load_folder(folder)
    registry.calendars = calendars
    result = apply_files(db, registry, good, calendars, allow)
    result.errors.extend(bad)
    for err in bad:
        log.error("%s", err)
    return result


class LiveRevisionPoller:
    """Brings a registry up to date with the database, at most every `interval` seconds."""

    def __init__(self, db: Engine, registry: FlowRegistry, *, interval: float = 0.5,
                 calendars: dict[str, CalendarSpec] | None = None) -> None:
        self.db = db
        self.registry = registry
        self.interval = interval
        self.calendars = calendars
        self._next = monotonic() + interval
        self._lock = threading.Lock()

    def due(self) -> bool:
        return monotonic() >= self._next and not self._lock.locked()

    def poll(self) -> list[str]:
        """Refresh now unless another thread is already doing it; the names of the flows that changed."""
        if not self._lock.acquire(blocking=False):
            return []
        try:
            return self.registry.refresh(self.db, self.calendars)
        except Exception:  # a database hiccup must not fail the request that triggered the poll
            log.exception("could not check for new flow revisions")
            return []
        finally:
            self._next = monotonic() + self.interval
            self._lock.release()


Snapshot = dict[Path, tuple[int, int]]


class FlowFolderWatcher:
    """Development mode: applies the flow files of a folder whenever they change on disk."""

    def __init__(self, db: Engine, registry: FlowRegistry, folder: str | Path, *, interval: float = 0.5) -> None:
        self.db = db
        self.registry = registry
        self.folder = Path(folder)
        self.interval = interval
        self._seen = self._snapshot()
        self._pending: Snapshot = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: FolderSync | None = None

    def _snapshot(self) -> Snapshot:
        out: Snapshot = {}
        for path in self.folder.glob("*.y*ml"):
            try:
                st = path.stat()
            except OSError:
                continue
            out[path] = (st.st_mtime_ns, st.st_size)
        return out

    def poll_once(self) -> FolderSync | None:
        """Apply the files that changed and then stayed the same for one look (None when there are none).

        Waiting for one unchanged look keeps a half-written file (an editor saving) from being read.
        """
        now = self._snapshot()
        moved = {p: sig for p, sig in now.items() if self._seen.get(p) != sig}
        changed = {p for p, sig in moved.items() if self._pending.get(p) == sig}
        self._pending = {p: sig for p, sig in moved.items() if p not in changed}
        self._seen.update({p: now[p] for p in changed})
        if not changed:
            return None
        good, bad, calendars = load_folder(self.folder)
        if not any(p.name == CALENDARS_FILE for p in changed):
            good = [f for f in good if Path(f.source) in changed]
            bad = [e for e in bad if any(Path(p.source) in changed for p in e.problems)]
        for err in bad:
            log.error("%s", err)
        result = apply_files(self.db, self.registry, good, calendars, allow=None)
        result.errors.extend(bad)
        self.last = result
        return result

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll_once()
            except Exception:
                log.exception("reloading the flow folder failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="relayflow-flow-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
