"""Writing an export: any source of rows (a list today, a saved view later) to CSV or XLSX, streamed.

The writers know nothing of flows. A source (`ExportSource`) gives the columns of the main sheet, the
line-item tables (each its own sheet, its rows keyed by the record's number and key), and an iterable of
rows whose cells are already plain Python values: text, int, Decimal, date, naive datetime in the reader's
time zone, bool or None (engine/transfer/list_export.py builds them from a list, with the reader's rights).

* CSV: UTF-8 with a byte-order mark (so Excel reads Chinese text), one line per record. A flow with line
  items gives a ZIP with one CSV per sheet (`<sheet>.csv`), since a CSV has a single sheet.
* XLSX: openpyxl's write-only workbook (rows go to temporary files as they come, whatever the row count),
  saved to a temporary file that is then read out in chunks. Numbers are numbers, money has the currency
  number format, dates are dates; no cell is ever a formula.

Memory stays flat in the number of rows: see bench/export_import.py.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from engine.transfer.cells import DATE_FORMAT, DATETIME_FORMAT, Column, csv_text

Format = Literal["csv", "xlsx"]
CHUNK = 64 * 1024
_BAD_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


@dataclass(frozen=True, slots=True)
class ExportTable:
    """A line-item table: its sheet's title and columns (the first ones name the record the row belongs to)."""

    key: str
    title: str
    columns: Sequence[Column]


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One record: the main sheet's cells, and the rows of each line-item table (by `ExportTable.key`)."""

    cells: Sequence[Any]
    lines: dict[str, list[Sequence[Any]]] = field(default_factory=dict)


class ExportSource(Protocol):
    """What an export writes: a title (sheet and file name), columns, tables, and the visible rows."""

    title: str
    columns: Sequence[Column]
    tables: Sequence[ExportTable]

    def rows(self) -> Iterable[ExportRow]: ...


def sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique worksheet name (at most 31 characters, none of []:*?/\\)."""
    base = (title.translate(_BAD_SHEET_CHARS).strip() or "Sheet")[:31]
    name, n = base, 2
    while name.casefold() in taken:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name.casefold())
    return name


# --- CSV ---------------------------------------------------------------------------------------

def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (date, int, Decimal)):
        return str(value) if not isinstance(value, date) else value.isoformat()
    return csv_text(str(value))


class _Lines:
    """A file-like sink csv.writer writes to; hands out what was written since the last call."""

    def __init__(self) -> None:
        self.buf = io.StringIO()

    def write(self, text: str) -> int:
        return self.buf.write(text)

    def take(self) -> str:
        out = self.buf.getvalue()
        self.buf.seek(0)
        self.buf.truncate()
        return out


def csv_chunks(columns: Sequence[Column], rows: Iterable[Sequence[Any]], *, bom: bool = True) -> Iterator[bytes]:
    """One CSV, as UTF-8 chunks of about CHUNK bytes."""
    sink = _Lines()
    writer = csv.writer(sink, lineterminator="\r\n")
    writer.writerow([csv_text(c.title) for c in columns])
    pending = ("\ufeff" if bom else "") + sink.take()
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
        pending += sink.take()
        if len(pending) >= CHUNK:
            yield pending.encode("utf-8")
            pending = ""
    if pending:
        yield pending.encode("utf-8")


def export_csv(source: ExportSource) -> Iterator[bytes]:
    """The main sheet as one CSV (a source without line-item tables)."""
    return csv_chunks(source.columns, (r.cells for r in source.rows()))


def export_csv_zip(source: ExportSource) -> Iterator[bytes]:
    """A ZIP with one CSV per sheet: the records, then each line-item table. The line rows are held in a
    temporary file while the records stream, so memory does not grow with the row count."""
    with tempfile.TemporaryDirectory(prefix="relayflow-export-") as folder:
        taken: set[str] = set()
        names = [sheet_name(source.title, taken)] + [sheet_name(t.title, taken) for t in source.tables]
        line_files = {t.key: open(os.path.join(folder, f"{i}.csv"), "w", encoding="utf-8", newline="")
                      for i, t in enumerate(source.tables)}
        writers = {k: csv.writer(f, lineterminator="\r\n") for k, f in line_files.items()}
        for t in source.tables:
            line_files[t.key].write("\ufeff")
            writers[t.key].writerow([csv_text(c.title) for c in t.columns])
        zpath = os.path.join(folder, "export.zip")
        with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            with zf.open(names[0] + ".csv", "w", force_zip64=True) as main:
                for chunk in csv_chunks(source.columns, _main_cells(source, writers)):
                    main.write(chunk)
            for i, t in enumerate(source.tables, start=1):
                line_files[t.key].close()
                zf.write(os.path.join(folder, f"{i - 1}.csv"), names[i] + ".csv")
        yield from _file_chunks(zpath)


def _main_cells(source: ExportSource, writers: dict[str, Any]) -> Iterator[Sequence[Any]]:
    for row in source.rows():
        for key, lines in row.lines.items():
            for line in lines:
                writers[key].writerow([_csv_cell(v) for v in line])
        yield row.cells


# --- XLSX --------------------------------------------------------------------------------------

def _xlsx_cell(ws: WriteOnlyWorksheet, column: Column, value: Any) -> Any:
    if value is None:
        return None
    cell = WriteOnlyCell(ws)
    if isinstance(value, str):
        # Assigning text that starts with "=" makes openpyxl store a formula: store a string, always,
        # and mark it "quote prefixed" so a spreadsheet program never evaluates it.
        cell.value = value
        cell.data_type = "s"
        if value.startswith(("=", "+", "-", "@", "\t", "\r")):
            cell.quotePrefix = True
        return cell
    cell.value = value
    if isinstance(value, datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    elif column.number_format and isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        cell.number_format = column.number_format
    return cell


def _header(ws: WriteOnlyWorksheet, columns: Sequence[Column]) -> list[Any]:
    out = []
    for c in columns:
        cell = WriteOnlyCell(ws)
        cell.value = c.title
        cell.data_type = "s"
        cell.font = Font(bold=True)
        if c.title.startswith(("=", "+", "-", "@", "\t", "\r")):
            cell.quotePrefix = True
        out.append(cell)
    return out


def write_xlsx(source: ExportSource, path: str) -> int:
    """Write the source as an XLSX workbook at `path`; returns the number of records written."""
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    main = wb.create_sheet(sheet_name(source.title, taken))
    main.append(_header(main, source.columns))
    sheets = {}
    for t in source.tables:
        ws = wb.create_sheet(sheet_name(t.title, taken))
        ws.append(_header(ws, t.columns))
        sheets[t.key] = (ws, t.columns)
    n = 0
    for row in source.rows():
        main.append([_xlsx_cell(main, c, v) for c, v in zip(source.columns, row.cells, strict=True)])
        for key, lines in row.lines.items():
            ws, cols = sheets[key]
            for line in lines:
                ws.append([_xlsx_cell(ws, c, v) for c, v in zip(cols, line, strict=True)])
        n += 1
    wb.save(path)
    return n


def export_xlsx(source: ExportSource) -> Iterator[bytes]:
    """The workbook, written to a temporary file, then streamed out in chunks (the file is removed after)."""
    fd, path = tempfile.mkstemp(prefix="relayflow-export-", suffix=".xlsx")
    os.close(fd)
    try:
        write_xlsx(source, path)
        yield from _file_chunks(path)
    finally:
        os.unlink(path)


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def export_chunks(source: ExportSource, fmt: Format) -> tuple[Iterator[bytes], str, str]:
    """(chunks, media type, file name suffix) of the export of `source` in `fmt`."""
    if fmt == "xlsx":
        return export_xlsx(source), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"
    if source.tables:
        return export_csv_zip(source), "application/zip", ".zip"
    return export_csv(source), "text/csv; charset=utf-8", ".csv"
