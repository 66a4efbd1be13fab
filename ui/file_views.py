"""The files of a record's file fields, as the record form and the read-only view list them.

A file field's view gets `attrs["files"]`: the files its inputs name that this
reader may see here (the record's own files, or the reader's own pending
uploads after a failed save), each with its download and preview addresses,
and `attrs["upload_url"]`, where the page's script sends a picked file.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine

from engine.files.content import PREVIEWABLE
from engine.files.uploads import FileInfo, file_infos
from engine.records.actor import Actor
from forms.file_field import human_size
from ui.formview import FieldView


@dataclass(frozen=True)
class FileView:
    id: str
    name: str
    size: str
    url: str
    preview_url: str | None
    image: bool
    pdf: bool


def file_view(info: FileInfo) -> FileView:
    preview = info.media_type in PREVIEWABLE
    return FileView(info.id, info.name, human_size(info.size), f"/api/files/{info.id}/content",
                    f"/api/files/{info.id}/preview" if preview else None,
                    preview and info.media_type.startswith("image/"), info.media_type == "application/pdf")


def add_file_views(fields: Iterable[FieldView], db: Engine, flow: str, record_id: int | None, actor: Actor) -> None:
    """Fill in the files of every file field among `fields` (the reader may see the record)."""
    wanted = [f for f in fields if f.widget == "file"]
    if not wanted:
        return
    infos = file_infos(db, (i for f in wanted for i in f.inputs if i))
    for f in wanted:
        shown = []
        for file_id in f.inputs:
            info = infos.get(file_id)
            if info is None or info.flow != flow or info.field != f.name:
                continue
            ours = (info.record_id is not None and info.record_id == record_id) or (
                info.record_id is None and info.uploaded_by == actor.id)
            if ours:
                shown.append(file_view(info))
        f.attrs = {**f.attrs, "files": shown, "upload_url": f"/records/{flow}/files/{f.name}"}
