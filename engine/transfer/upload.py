"""Reading an uploaded spreadsheet: a real XLSX, CSV (or a ZIP of CSVs, as the export gives), within limits.

The kind is told by the content, never by the file name: an XLSX is a ZIP holding `xl/workbook.xml`; a ZIP of
`.csv` files is read sheet by sheet; anything else must be text (UTF-8, with or without a byte-order mark, or
GB18030 as Chinese Excel saves CSV) without NUL bytes, and is read as CSV with its delimiter sniffed. A file
that is none of these, an empty one, one over the size limit, one whose ZIP would unpack to more than
MAX_UNPACKED, or one with more than MAX_ROWS rows gets an `UploadRefused` saying so in words a clerk
understands.
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from forms.messages import Message
from forms.unicode_text import nfc

MAX_BYTES = 20 * 1024 * 1024
MAX_UNPACKED = 400 * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 500


class UploadRefused(ValueError):
    """The upload is not a spreadsheet we can read; `message` says why (a `Message`)."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass
class Sheet:
    """One sheet: its name, the header cells and the data rows with their row numbers as the reader sees them
    (the header is row 1)."""

    name: str
    headers: list[str]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)


@dataclass
class ImportFile:
    name: str
    kind: str  # "xlsx" or "csv"
    sheets: list[Sheet]

    def sheet(self, name: str) -> Sheet | None:
        return next((s for s in self.sheets if s.name == name), None)


def _empty() -> UploadRefused:
    return UploadRefused(Message("import_empty", "the file is empty"))


def _not_a_sheet() -> UploadRefused:
    return UploadRefused(Message("import_not_sheet", "this file is not a CSV or Excel (.xlsx) file"))


def check_size(size: int, limit: int = MAX_BYTES) -> None:
    if size > limit:
        raise UploadRefused(Message("import_too_big", "the file is larger than {mb} MB", mb=limit // (1024 * 1024)))


def read_upload(name: str, data: bytes, *, limit: int = MAX_BYTES) -> ImportFile:
    """The sheets of an uploaded file, or UploadRefused."""
    check_size(len(data), limit)
    if not data.strip():
        raise _empty()
    if data[:4] == b"PK\x03\x04":
        return _read_zip(name, data)
    return ImportFile(name, "csv", [_read_csv(_base(name), data)])


def _base(name: str) -> str:
    stem = name.rsplit("/", 1)[-1]
    return stem.rsplit(".", 1)[0] if "." in stem else stem


def _read_zip(name: str, data: bytes) -> ImportFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _not_a_sheet() from None
    if sum(i.file_size for i in infos) > MAX_UNPACKED:
        raise UploadRefused(Message("import_unpacks_too_big", "the file unpacks to more than {mb} MB",
                                    mb=MAX_UNPACKED // (1024 * 1024)))
    names = [i.filename for i in infos]
    if "xl/workbook.xml" in names:
        return ImportFile(name, "xlsx", _read_xlsx(data))
    csvs = [n for n in names if n.lower().endswith(".csv") and not n.startswith("__MACOSX")]
    if not csvs:
        raise _not_a_sheet()
    return ImportFile(name, "csv", [_read_csv(_base(n), zf.read(n)) for n in csvs])


def _cells(values: Iterable[Any]) -> list[Any]:
    out = [nfc(v.strip()) if isinstance(v, str) else v for v in values]
    while out and (out[-1] is None or out[-1] == ""):
        out.pop()
    return out


def _sheet(name: str, rows: Iterable[Iterable[Any]]) -> Sheet:
    header: list[str] | None = None
    sheet = Sheet(name, [])
    for number, raw in enumerate(rows, start=1):
        cells = _cells(raw)
        if header is None:
            if not cells:
                continue
            if len(cells) > MAX_COLUMNS:
                raise UploadRefused(Message("import_too_wide", "the file has more than {n} columns", n=MAX_COLUMNS))
            header = ["" if c is None else str(c).strip() for c in cells]
            sheet.headers = header
            continue
        if not cells:
            continue
        if len(sheet.rows) >= MAX_ROWS:
            raise UploadRefused(Message("import_too_many_rows", "the file has more than {n} rows", n=MAX_ROWS))
        sheet.rows.append((number, cells))
    return sheet


def _read_xlsx(data: bytes) -> list[Sheet]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds (KeyError, InvalidFileException, XML errors) for a broken file
        raise UploadRefused(Message("import_bad_xlsx", "this Excel file cannot be read; save it again as .xlsx")) from None
    try:
        sheets = []
        for ws in wb.worksheets:
            sheets.append(_sheet(ws.title, ws.iter_rows(values_only=True)))
    except UploadRefused:
        raise
    except Exception:
        raise UploadRefused(Message("import_bad_xlsx", "this Excel file cannot be read; save it again as .xlsx")) from None
    finally:
        wb.close()
    if not any(s.headers for s in sheets):
        raise _empty()
    return [s for s in sheets if s.headers]


def _decode(data: bytes) -> str:
    if b"\x00" in data[:65536]:
        raise _not_a_sheet()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _not_a_sheet()


def _read_csv(name: str, data: bytes) -> Sheet:
    text = _decode(data)
    if not text.strip():
        raise _empty()
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    if any(ch in sample for ch in "\ufffd") or sum(ch.isprintable() or ch in "\r\n\t" for ch in sample) < 0.95 * len(sample):
        raise _not_a_sheet()
    try:
        sheet = _sheet(name, csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error:
        raise _not_a_sheet() from None
    if not sheet.headers:
        raise _empty()
    return sheet


def plain_date(value: Any) -> Any:
    """A date-only cell read from a spreadsheet (a datetime at midnight) as a date."""
    if isinstance(value, datetime) and (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return value.date()
    return value
