"""File stores: where the content of attached files is kept, outside the records.

A store keeps each content once, under its sha256, and is used through three
calls: `put` (a stream of chunks in; its hash and size out), `open` (the
content back as a stream of chunks) and `exists`. Nothing holds a whole file
in memory: `put` writes each chunk as it comes and hashes on the way, `open`
reads a chunk at a time. A `put` that fails half-way (a chunk source that
raises: too large, wrong content, the client went away) keeps nothing.

* `FolderStore` (the default): files in a folder, `<dir>/ab/cd/<sha256>`.
  For one server, or several that share the folder over a network file system.
* `DatabaseStore` (RELAYFLOW_FILE_STORE=database): chunks of 1 MiB in the
  `file_chunks` table of the same database. Several servers on one
  PostgreSQL reach it with nothing more to run, and a database backup holds
  the files too. An upload is one transaction, so on SQLite (one writer at a
  time) it would hold other writers back for its duration: use the folder there.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, bindparam, delete, insert, select, update

from engine.settings import Settings
from engine.storage.schema import file_blobs, file_chunks

READ_CHUNK = 256 * 1024
DB_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int


class FileStore(Protocol):
    def put(self, chunks: Iterable[bytes]) -> Stored:
        """Store the content the chunks make up; its hash and size. Nothing is kept if `chunks` raises."""
        ...

    def open(self, sha256: str) -> Iterator[bytes]:
        """The content stored under `sha256`, chunk by chunk (FileNotFoundError when there is none)."""
        ...

    def exists(self, sha256: str) -> bool:
        ...

    def discard(self, sha256: str, *, stored_before: datetime) -> bool:
        """Delete the content if it was last stored before `stored_before` (a `put` of the same content
        stores it anew, so an upload racing the clean-up keeps it); whether it was deleted."""
        ...


class FolderStore:
    """Contents as files under one folder, named by their sha256 (written to a temporary file first)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, chunks: Iterable[bytes]) -> Stored:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self._path(sha)
            if final.exists():
                os.unlink(tmp)
                os.utime(final)  # stored anew: the clean-up of unattached uploads leaves it alone
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Stored(sha, size)

    def open(self, sha256: str) -> Iterator[bytes]:
        f = self._path(sha256).open("rb")  # FileNotFoundError before the first chunk is asked for

        def chunks() -> Iterator[bytes]:
            with f:
                while block := f.read(READ_CHUNK):
                    yield block

        return chunks()

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def discard(self, sha256: str, *, stored_before: datetime) -> bool:
        path = self._path(sha256)
        try:
            if path.stat().st_mtime >= stored_before.timestamp():
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        return True


class DatabaseStore:
    """Contents in 1 MiB rows of `file_chunks`, under their sha256 once complete (`file_blobs`)."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def put(self, chunks: Iterable[bytes]) -> Stored:
        digest = hashlib.sha256()
        size = 0
        key = "upload-" + secrets.token_hex(16)
        seq = 0
        pending = bytearray()
        with self.db.begin() as conn:  # an error anywhere rolls every chunk back
            def flush() -> None:
                nonlocal seq
                conn.execute(insert(file_chunks), {"key": key, "seq": seq, "data": bytes(pending)})
                seq += 1
                pending.clear()

            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                pending += chunk
                if len(pending) >= DB_CHUNK:
                    flush()
            if pending or seq == 0:
                flush()
            sha = digest.hexdigest()
            known = conn.execute(select(file_blobs.c.sha256).where(file_blobs.c.sha256 == sha)).first()
            if known is not None:
                conn.execute(delete(file_chunks).where(file_chunks.c.key == key))
                conn.execute(update(file_blobs).where(file_blobs.c.sha256 == sha).values(stored_at=datetime.now(timezone.utc)))
            else:
                conn.execute(update(file_chunks).where(file_chunks.c.key == key).values(key=sha))
                conn.execute(insert(file_blobs), {"sha256": sha, "size": size, "stored_at": datetime.now(timezone.utc)})
        return Stored(sha, size)

    def open(self, sha256: str) -> Iterator[bytes]:
        if not self.exists(sha256):
            raise FileNotFoundError(sha256)

        def chunks() -> Iterator[bytes]:
            seq = 0
            q = select(file_chunks.c.data).where(file_chunks.c.key == sha256, file_chunks.c.seq == bindparam("seq"))
            while True:
                with self.db.connect().execution_options(readonly=True) as conn:  # one row at a time
                    data = conn.execute(q, {"seq": seq}).scalar()
                if data is None:
                    return
                if data:
                    yield bytes(data)
                seq += 1

        return chunks()

    def exists(self, sha256: str) -> bool:
        with self.db.connect().execution_options(readonly=True) as conn:
            return conn.execute(select(file_blobs.c.sha256).where(file_blobs.c.sha256 == sha256)).first() is not None

    def discard(self, sha256: str, *, stored_before: datetime) -> bool:
        with self.db.begin() as conn:
            gone = conn.execute(delete(file_blobs).where(file_blobs.c.sha256 == sha256,
                                                         file_blobs.c.stored_at < stored_before)).rowcount
            if gone:
                conn.execute(delete(file_chunks).where(file_chunks.c.key == sha256))
        return bool(gone)


def build_store(settings: Settings, db: Engine) -> FileStore:
    """The store the settings name (RELAYFLOW_FILE_STORE, RELAYFLOW_FILES_DIR)."""
    if settings.file_store == "database":
        return DatabaseStore(db)
    return FolderStore(settings.files_dir)
