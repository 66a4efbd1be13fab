"""An upload: a stream of bytes for one file field, checked while it arrives, stored, and recorded as pending.

The checks happen on the stream, before the store keeps anything:

* the content (its first bytes, engine/files/content.py) must be of a kind the
  field accepts, and the name must not claim another kind;
* the size may not pass the field's `max_size`: the chunk that passes it
  stops the upload at once (FileTooLarge), and the store keeps nothing.

The file is then pending: a `files` row with no record, which only its
uploader may read or attach (engine/files/attach.py) by naming its id in a
record's write.
"""
from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, insert, select

from engine.files.content import HEAD_BYTES, extension_of, kind_of_name, recognise
from engine.files.store import FileStore
from engine.language.flow import CompiledFlow
from engine.records.access import create_fields, editable_fields, may_create
from engine.records.actor import Actor
from engine.records.errors import Forbidden, NotFound, ValidationFailed
from engine.storage.executor import WriteExecutor
from engine.storage.schema import files
from forms.file_field import KIND_NAMES, FileField, human_size
from forms.messages import Message

MAX_NAME = 255


class FileTooLarge(ValidationFailed):
    """The upload passed the field's `max_size` (the HTTP layer answers 413)."""

    code = "file_too_large"


@dataclass(frozen=True)
class FileInfo:
    id: str
    name: str
    size: int
    media_type: str
    sha256: str
    flow: str
    field: str
    uploaded_by: int | None
    uploaded_at: datetime
    record_id: int | None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> FileInfo:
        return cls(row["id"], row["name"], int(row["size"]), row["media_type"], row["sha256"], row["flow"],
                   row["field"], row["uploaded_by"], row["uploaded_at"], row["record_id"])

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "size": self.size, "media_type": self.media_type,
                "sha256": self.sha256, "flow": self.flow, "field": self.field,
                "record_id": self.record_id, "uploaded_at": self.uploaded_at.isoformat()}


def file_field(flow: CompiledFlow, name: str) -> FileField:
    f = flow.fields.get(name)
    if not isinstance(f, FileField):
        raise NotFound(f"flow '{flow.name}' has no file field '{name}'")
    return f


def may_upload(flow: CompiledFlow, name: str, actor: Actor) -> bool:
    """Whether the actor could ever put a file in this field: as a creator, or in a state they edit it in."""
    if actor.is_admin:
        return True
    if name in create_fields(flow) and may_create(flow, actor):
        return True
    return any(name in editable_fields(flow, state, actor) for state in flow.spec.states)


def clean_name(raw: str | None) -> str:
    """The name to keep for display: no folders, no control characters, NFC, at most 255 characters."""
    text = unicodedata.normalize("NFC", raw or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        text = (stem[:MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 16 else text[:MAX_NAME]
    return text or "file"


def _refuse(field_name: str, code: str, template: str, **params: Any) -> ValidationFailed:
    return ValidationFailed({field_name: Message(code, template, **params)})


def check_content(field: FileField, field_name: str, name: str, head: bytes) -> str:
    """The media type of a file from its first bytes, if the field takes it; ValidationFailed otherwise."""
    if not head:
        raise _refuse(field_name, "file_empty", "the file is empty")
    found = recognise(head)
    accepted = field.media_types()
    if accepted is not None:
        if found.media_type not in accepted:
            raise _refuse(field_name, "file_kind", "this file is {what}, but only {kinds} files are taken here",
                          what=found.what, kinds=field.accept_names())
        ext = extension_of(name)
        if ext is not None and field.accept is not None and ext not in field.accept:
            raise _refuse(field_name, "file_name_kind", "the file name ends in .{ext}, but only {kinds} files are taken here",
                          ext=ext, kinds=field.accept_names())
    claimed = kind_of_name(name)
    if claimed is not None and found.media_type is not None and claimed != found.media_type:
        raise _refuse(field_name, "file_name_mismatch", "the file name says {claimed}, but the file is {what}",
                      claimed=KIND_NAMES[claimed], what=found.what)
    return found.media_type or "application/octet-stream"


class CheckedStream:
    """The chunks of an upload, checked on the way: content kind from the head, size against the limit."""

    def __init__(self, chunks: Iterable[bytes], field: FileField, field_name: str, name: str) -> None:
        self.chunks = chunks
        self.field = field
        self.field_name = field_name
        self.name = name
        self.media_type: str | None = None
        self.size = 0

    def _count(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.field.max_bytes:
            raise FileTooLarge({self.field_name: Message(
                "file_too_large", "this file is larger than {limit}, the most this field takes",
                limit=human_size(self.field.max_bytes))})

    def __iter__(self) -> Iterator[bytes]:
        head = bytearray()
        for chunk in self.chunks:
            if not chunk:
                continue
            self._count(chunk)
            if self.media_type is None:
                head += chunk
                if len(head) < HEAD_BYTES:
                    continue
                self.media_type = check_content(self.field, self.field_name, self.name, bytes(head))
                chunk, head = bytes(head), bytearray()
            yield chunk
        if self.media_type is None:  # the whole file was shorter than the head
            self.media_type = check_content(self.field, self.field_name, self.name, bytes(head))
            yield bytes(head)


def receive(executor: WriteExecutor, store: FileStore, flow: CompiledFlow, field_name: str, actor: Actor,
            name: str | None, chunks: Iterable[bytes], *, now: datetime | None = None) -> FileInfo:
    """Check, store and record one upload for `field_name` of `flow`; the pending file."""
    field = file_field(flow, field_name)
    if not may_upload(flow, field_name, actor):
        raise Forbidden("you may not put files in this field")
    shown = clean_name(name)
    stream = CheckedStream(chunks, field, field_name, shown)
    stored = store.put(stream)
    row = {"id": secrets.token_hex(16), "sha256": stored.sha256, "size": stored.size,
           "media_type": stream.media_type or "application/octet-stream", "name": shown, "flow": flow.name,
           "field": field_name, "uploaded_by": actor.id, "uploaded_at": now or datetime.now(timezone.utc),
           "record_id": None, "attached_at": None, "removed_at": None}
    with executor.transaction() as tx:
        tx.execute(insert(files), row)
    return FileInfo.of(row)


def file_infos(db: Engine, ids: Iterable[str]) -> dict[str, FileInfo]:
    """The files of these ids that exist, by id (for pages listing a field's files)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    with db.connect().execution_options(readonly=True) as conn:
        rows = conn.execute(select(files).where(files.c.id.in_(wanted))).mappings().all()
    return {r["id"]: FileInfo.of(r) for r in rows}
