"""Who may read a file: the same answer (NotFound) for a file that does not exist and one they may not see.

A file attached to a record is readable by those who may see the record in
its current state, while it is still one of the files of a field the flow has
now and that the state does not hide. A field removed by a reload hides its
files (they are retired with the field's column, not deleted) until a reload
brings the field back. A pending upload is readable by its uploader only.
"""
from __future__ import annotations

from sqlalchemy import select

from engine.files.uploads import FileInfo
from engine.records.access import Access
from engine.records.actor import Actor
from engine.records.errors import NotFound
from engine.storage.schema import files
from forms.file_field import FILE_ID_RE, FileField


def readable_file(access: Access, file_id: str, actor: Actor) -> FileInfo:
    """The file `file_id` if `actor` may read it now; NotFound otherwise (whatever the reason)."""
    missing = NotFound("no such file")
    if not FILE_ID_RE.fullmatch(file_id):
        raise missing
    with access.db.connect().execution_options(readonly=True) as conn:
        row = conn.execute(select(files).where(files.c.id == file_id)).mappings().first()
    if row is None:
        raise missing
    info = FileInfo.of(row)
    if info.record_id is None:
        if info.uploaded_by is None or info.uploaded_by != actor.id:
            raise missing
        return info
    if info.flow not in access.registry:
        raise missing
    flow = access.live(info.flow).flow
    try:
        rec = access.get(info.flow, info.record_id, actor)
    except NotFound:
        raise missing from None
    if not isinstance(flow.fields.get(info.field), FileField) or info.field in flow.hidden_fields(rec.state):
        raise missing
    if info.id not in (rec.values.get(info.field) or []):
        raise missing
    return info
