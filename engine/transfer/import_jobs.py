"""Import jobs: the uploaded file kept with its mapping, and a dry run or run whose counts the page polls.

A job row (`import_jobs`) holds the file as uploaded (so every step — map, dry run, run — reads the same
bytes, on whichever server process serves the request), the mapping chosen, and the progress: `done` of
`total` rows, the counts so far, and at the end the problems. Only the person who uploaded a file sees its
job. `run_job` is blocking: the web layer runs it in a thread of its own and answers at once.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any
import logging
import threading

from sqlalchemy import Engine, select, update

from engine.records.actor import Actor
from engine.records.errors import NotFound
from engine.records.records import Records
from engine.storage.registry import LiveFlow
from engine.storage.schema import import_jobs
from engine.transfer.import_cells import Translate
from engine.transfer.import_plan import ImportMapping, remember_mapping
from engine.transfer.import_run import Counts, Importer
from engine.transfer.upload import ImportFile, read_upload
from forms.messages import Message

log = logging.getLogger("relayflow.import")


@dataclass
class Job:
    id: int
    flow: str
    user_id: int
    file_name: str
    status: str
    dry_run: bool
    total: int
    done: int
    counts: dict[str, int]
    problems: list[dict[str, Any]]
    mapping: ImportMapping | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "flow": self.flow, "file_name": self.file_name, "status": self.status,
                "dry_run": self.dry_run, "total": self.total, "done": self.done, "counts": self.counts,
                "problems": self.problems, "mapping": self.mapping.to_json() if self.mapping else None}


def create_job(db: Engine, flow: str, user_id: int, file_name: str, content: bytes) -> int:
    """Keep an upload (already checked by `read_upload`) as a new job; its id."""
    with db.begin() as conn:
        result = conn.execute(import_jobs.insert().values(
            flow=flow, user_id=user_id, file_name=file_name[:255], content=content, status="uploaded", dry_run=False,
            total=0, done=0, created_at=datetime.now(timezone.utc)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def _job(row: Mapping[str, Any]) -> Job:
    mapping = ImportMapping.from_json(row["mapping"]) if isinstance(row["mapping"], Mapping) else None
    return Job(int(row["id"]), row["flow"], int(row["user_id"]), row["file_name"], row["status"], bool(row["dry_run"]),
               int(row["total"]), int(row["done"]), dict(row["counts"] or {}), list(row["problems"] or []), mapping)


_FIELDS = [c for c in import_jobs.c if c.name != "content"]
_running: dict[int, tuple[int, int, dict[str, int]]] = {}  # job id → the progress of a run in this process


def get_job(db: Engine, job_id: int, actor: Actor, flow: str | None = None) -> Job:
    """The job, if `actor` uploaded it (else NotFound, as for a job that does not exist)."""
    with db.connect().execution_options(readonly=True) as conn:
        row = conn.execute(select(*_FIELDS).where(import_jobs.c.id == job_id)).mappings().first()
    if row is None or int(row["user_id"]) != actor.id or (flow is not None and row["flow"] != flow):
        raise NotFound(f"no import {job_id}")
    job = _job(dict(row))
    now = _running.get(job.id)
    if job.status == "running" and now is not None:  # the progress of a dry run run by this process
        job.done, job.total, job.counts = now[0], now[1], dict(now[2])
    return job


def job_file(db: Engine, job: Job) -> ImportFile:
    with db.connect().execution_options(readonly=True) as conn:
        content = conn.execute(select(import_jobs.c.content).where(import_jobs.c.id == job.id)).scalar_one()
    return read_upload(job.file_name, bytes(content))


def save_mapping(db: Engine, job: Job, mapping: ImportMapping) -> None:
    """The job's mapping, remembered for this person and flow too."""
    with db.begin() as conn:
        conn.execute(update(import_jobs).where(import_jobs.c.id == job.id).values(mapping=mapping.to_json()))
        remember_mapping(conn, job.flow, job.user_id, mapping)
    job.mapping = mapping


def mark_started(db: Engine, job: Job, *, dry_run: bool) -> bool:
    """Mark the job running (a dry run or the run); False when it is running already."""
    with db.begin() as conn:
        n = conn.execute(update(import_jobs).where(import_jobs.c.id == job.id, import_jobs.c.status != "running").values(
            status="running", dry_run=dry_run, done=0, total=0, counts=None, problems=None,
            started_at=datetime.now(timezone.utc), finished_at=None)).rowcount
    return bool(n)


def run_job(db: Engine, records: Records, live: LiveFlow, actor: Actor, job: Job, *, dry_run: bool,
            lang: str | None = None, tz: tzinfo | None = None, translate: Translate | None = None) -> None:
    """Run the job's dry run or run (after `mark_started`), writing its progress and result to the job row."""
    def progress(done: int, total: int, counts: Counts) -> None:
        _running[job.id] = (done, total, asdict(counts))
        if not dry_run:  # a dry run holds its transaction open to the end: its progress stays in this process
            with db.begin() as conn:
                conn.execute(update(import_jobs).where(import_jobs.c.id == job.id).values(
                    done=done, total=total, counts=asdict(counts)))

    try:
        assert job.mapping is not None
        importer = Importer(db, records, live, actor, job_file(db, job), job.mapping, lang=lang, tz=tz, translate=translate)
        result = importer.run(dry_run=dry_run, progress=progress)
    except Exception:
        log.exception("import %s stopped", job.id)
        _running.pop(job.id, None)
        text = (translate or str)(Message("import_failed", "the import stopped because of an error; "
                                                            "the batches imported before it stay"))
        with db.begin() as conn:
            conn.execute(update(import_jobs).where(import_jobs.c.id == job.id).values(
                status="failed", finished_at=datetime.now(timezone.utc),
                problems=[{"sheet": "", "row": 0, "column": "", "text": text}]))
        return
    data = result.to_json()
    _running.pop(job.id, None)
    with db.begin() as conn:
        conn.execute(update(import_jobs).where(import_jobs.c.id == job.id).values(
            status="done", finished_at=datetime.now(timezone.utc), total=result.counts.rows, done=result.counts.rows,
            counts=data["counts"], problems=data["problems"]))


def start_job(db: Engine, records: Records, live: LiveFlow, actor: Actor, job: Job, *, dry_run: bool,
              lang: str | None = None, translate: Translate | None = None) -> bool:
    """Check the job's mapping, then run its dry run or run in a thread of its own (the caller answers at
    once; the page polls the job). False when it is running already; ValidationFailed for a bad mapping."""
    from engine.records.errors import ValidationFailed
    from engine.transfer.import_plan import mapping_problems

    if job.mapping is None:
        raise ValidationFailed({"mapping": Message("import_no_mapping", "map the columns first")})
    problems = mapping_problems(live.flow, job_file(db, job), job.mapping, actor, lang)
    if problems:
        raise ValidationFailed({"mapping": problems[0]}, "; ".join(problems))
    if not mark_started(db, job, dry_run=dry_run):
        return False
    threading.Thread(target=run_job, args=(db, records, live, actor, job),
                     kwargs={"dry_run": dry_run, "lang": lang, "translate": translate},
                     name=f"import-{job.id}", daemon=True).start()
    return True
