"""Uploads that never reach a record are deleted, and so is their content once nothing else uses it.

A file is uploaded before the record that names it is saved (engine/files/uploads.py): a form abandoned
half-way, or an API client that uploads and then fails, leaves a pending `files` row and its content
behind. The worker (engine/delivery/worker.py, at most once an hour) and `relayflow files sweep` delete
pending rows older than `unattached_upload_hours`, then each content no row refers to any more.

Files that belonged to a record are never deleted here: a file taken off a field, or the files of a
removed field, are retired and can come back (docs/field-types.md, "Attachments").

An upload of the same content racing the sweep is safe: the store's `put` stores the content anew
(its time moves), and `discard` deletes only content stored before the cut-off.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, delete, select

from engine.files.store import FileStore, build_store
from engine.settings import Settings
from engine.storage.schema import files

log = logging.getLogger("relayflow.files")
BATCH = 1000


@dataclass(frozen=True)
class SweepResult:
    uploads: int  # pending rows deleted
    contents: int  # contents deleted from the store


def sweep_unattached(db: Engine, store: FileStore, *, keep_for: timedelta, now: datetime | None = None) -> SweepResult:
    """Delete the uploads still unattached after `keep_for`, then the contents no file row refers to."""
    cutoff = (now or datetime.now(timezone.utc)) - keep_for
    uploads = contents = 0
    while True:
        with db.begin() as conn:
            rows = conn.execute(select(files.c.id, files.c.sha256)
                                .where(files.c.record_id.is_(None), files.c.uploaded_at < cutoff).limit(BATCH)).all()
            if not rows:
                break
            # `record_id IS NULL` again: a write that attached one of them meanwhile keeps it
            conn.execute(delete(files).where(files.c.id.in_([r.id for r in rows]), files.c.record_id.is_(None)))
            hashes = {r.sha256 for r in rows}
            used = set(conn.execute(select(files.c.sha256).where(files.c.sha256.in_(hashes))).scalars())
        uploads += len(rows)
        for sha in sorted(hashes - used):
            contents += store.discard(sha, stored_before=cutoff)
        if len(rows) < BATCH:
            break
    return SweepResult(uploads, contents)


class UploadSweeper:
    """The worker's sweep, run at most once per `every`."""

    def __init__(self, db: Engine, settings: Settings, *, every: timedelta = timedelta(hours=1)) -> None:
        self.db, self.settings, self.every = db, settings, every
        self._next: datetime | None = None

    def maybe_run(self, now: datetime | None = None) -> SweepResult | None:
        now = now or datetime.now(timezone.utc)
        if self._next is not None and now < self._next:
            return None
        self._next = now + self.every
        result = sweep_unattached(self.db, build_store(self.settings, self.db),
                                  keep_for=timedelta(hours=self.settings.unattached_upload_hours), now=now)
        if result.uploads:
            log.info("deleted %d unattached uploads (%d contents)", result.uploads, result.contents)
        return result
