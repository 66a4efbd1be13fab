"""HTML of a printed record: the default layout (this folder's default_layout.html) or the flow's template.

The default layout is the project's own template (trusted, autoescaped); a flow's template runs in the
sandbox (engine/language/print_templates.py) and sees the same plain data, plus `line_table("lines")`:
the default layout's paged table of that table field, so a flow's own layout gets the same carried-forward
subtotals without writing them (it may still loop over `tables.lines.rows` itself). Line items come in *pages*:
runs of rows that each fill one printed page, with the sum of the rows before (brought forward) at the
top and the sum up to the page's end (carried forward) at the bottom. pdf.py finds how many rows fill a
page; the print view (HTML, no pages) shows each table whole.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from engine.printing.context import PrintData, Table
from engine.printing.words import page_footer_css

_HERE = Path(__file__).parent


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(_HERE)), autoescape=select_autoescape(["html"]))


def print_css(lang: str) -> str:
    """The paged-media stylesheet, with page numbers in `lang`."""
    return (_HERE / "print.css").read_text(encoding="utf-8").replace("__PAGE_NUMBER__", page_footer_css(lang))


def table_pages(table: Table, sizes: Sequence[int] | None) -> list[dict[str, Any]]:
    """The table's rows cut into runs of `sizes` rows (the last run takes the rest; None: one run),
    each with the brought-forward and carried-forward sums."""
    n = len(table.rows)
    cuts: list[tuple[int, int]] = []
    start = 0
    for size in sizes or ():
        if start + size >= n:
            break
        cuts.append((start, start + max(1, size)))
        start += max(1, size)
    cuts.append((start, n))
    pages = []
    for i, (a, b) in enumerate(cuts):
        last = i == len(cuts) - 1
        pages.append({
            "rows": [{"index": k, "cells": table.rows[k]} for k in range(a, b)],
            "brought": table.total_text(table.amounts[:a]) if a > 0 else None,
            "carried": table.total_text(table.amounts[:b]) if not last else None,
            "last": last,
        })
    return pages


def _paged(data: PrintData, sizes: Mapping[str, Sequence[int]] | None) -> dict[str, dict[str, Any]]:
    return {t.id: {"id": t.id, "label": t.label, "columns": t.columns, "totals": t.totals,
                   "pages": table_pages(t, (sizes or {}).get(t.id))} for t in data.tables}


def render_html(data: PrintData, sizes: Mapping[str, Sequence[int]] | None = None) -> str:
    """The record's print HTML; `sizes`: rows per printed page of each table (pdf.py measures them).
    The stylesheet (print_css) is not inside: the PDF adds it, the print view links it (the pages' CSP)."""
    paged = _paged(data, sizes)
    if data.layout.template:
        def line_table(table: str) -> Markup:
            """The paged table of a table field the reader may see; nothing for another name."""
            found = paged.get(str(table))
            if found is None:
                return Markup("")
            return Markup(_env().get_template("line_table.html").render(t=found, words=data.context.get("words", {})))

        return data.flow.print_layouts[data.layout.template].render({**data.context, "line_table": line_table})
    return _env().get_template("default_layout.html").render(**data.context, paged_tables=list(paged.values()))
