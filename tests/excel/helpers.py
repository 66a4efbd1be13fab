"""Shared steps of the export/import tests: export a list, import a file, read back what a flow holds."""
from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from engine.records.actor import Actor
from engine.records.listing import ListQuery
from engine.transfer.export import export_chunks
from engine.transfer.import_plan import ImportMapping, guess_mapping
from engine.transfer.import_run import Importer, ImportResult
from engine.transfer.list_export import ListExport
from engine.transfer.upload import read_upload
from tests.excel.desk import Desk


def export(d: Desk, actor: Actor, fmt: str = "xlsx", flow: str = "sales_order", lang: str | None = "en",
           query: ListQuery | None = None) -> bytes:
    live = d.registry.get(flow)
    source = ListExport(d.db, d.records, live, actor, query or ListQuery(sort="id"), lang, live.flow.timezone)
    chunks, _, _ = export_chunks(source, fmt)  # type: ignore[arg-type]
    return b"".join(chunks)


def run_import(d: Desk, actor: Actor, name: str, data: bytes, *, dry_run: bool = False,
               mapping: ImportMapping | None = None, lang: str | None = "en") -> ImportResult:
    live = d.registry.get("sales_order")
    upload = read_upload(name, data)
    mapping = mapping or guess_mapping(live.flow, upload)
    return Importer(d.db, d.records, live, actor, upload, mapping, lang=lang, batch_size=100).run(dry_run=dry_run)


def workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    wb = Workbook()
    first = True
    for title, rows in sheets.items():
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        ws.title = title
        first = False
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def orders(d: Desk) -> dict[str, dict[str, Any]]:
    """order_no → what a person sees of the order: state, values with references as titles, lines."""
    live = d.registry.get("sales_order")
    flow = live.flow
    out = {}
    titles = {}
    for name in ("customer", "product"):
        with d.db.connect() as conn:
            other = d.registry.get(name)
            for row in conn.execute(other.table.select()).mappings():
                rec = d.records.row_to_record(other, row)
                titles[(name, rec.id)] = rec.title
    with d.db.connect() as conn:
        ids = [r[0] for r in conn.execute(live.table.select().with_only_columns(live.table.c.id))]
    for rid in ids:
        rec = d.records.get("sales_order", rid)
        values = {k: v for k, v in rec.values.items() if flow.fields[k].type not in ("file", "table")}
        values["customer"] = titles[("customer", values["customer"])]
        lines = [{**row, "product": titles[("product", row["product"])]} for row in rec.values["lines"]]
        for line in lines:
            line.pop("id", None)
        out[values["order_no"]] = {"state": rec.state, "values": values, "lines": lines}
    return out
