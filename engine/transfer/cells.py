"""Spreadsheet cells: the typed columns of an export, and formula neutralisation.

A cell that a spreadsheet program could read as a formula (text starting with `=`, `+`, `-`, `@`, a tab or a
carriage return) is neutralised on the way out: in a CSV it gets a leading apostrophe (which Excel and
LibreOffice hide and which the importer takes off again); in an XLSX it is stored as a string cell with
"quote prefix" set, never as a formula.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CellKind = Literal["text", "integer", "number", "money", "date", "datetime", "boolean"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an exported sheet: its header (in the reader's language), its kind and number format."""

    title: str
    kind: CellKind = "text"
    number_format: str | None = None


def could_be_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def csv_text(text: str) -> str:
    """Text for a CSV cell: an apostrophe before text a spreadsheet would run as a formula (and before an
    apostrophe that starts such text, so that the importer's un-quoting gives back exactly what was exported)."""
    if could_be_formula(text) or (text.startswith("'") and could_be_formula(text[1:])):
        return "'" + text
    return text


def from_csv_text(text: str) -> str:
    """The reverse of `csv_text` (a leading apostrophe before formula-like text is taken off)."""
    if text.startswith("'") and (could_be_formula(text[1:]) or text[1:].startswith("'")):
        return text[1:]
    return text


def money_format(currency: str, scale: int) -> str:
    """An Excel number format showing the amount with `scale` places and the currency code."""
    places = "." + "0" * scale if scale else ""
    return f'#,##0{places} "{currency}"'


def decimal_format(scale: int) -> str:
    return "0" + ("." + "0" * scale if scale else "")


DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
