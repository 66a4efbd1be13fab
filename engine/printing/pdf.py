"""PDF of a printed record through WeasyPrint (paged media: page boxes, running headers, page counters).

Carried-forward subtotals cannot be had from CSS (a counter cannot sum a column), so the rows of a table
are cut into pages in Python, measured by WeasyPrint's own layout rather than guessed:

1. the document is laid out once with each table whole; every row has an anchor, and the pages it
   lands on say how many rows fit on the first page of the table and on a following one;
2. the rows are cut into runs of that many rows, less the rows the subtotals take (one carried-forward
   row on the first page, a brought-forward and a carried-forward one on the others), each run ending
   with a page break;
3. the result is laid out again and checked: a run whose rows do not all land on one page (a tall
   row) is cut where its page ends, and the rest re-cut, until every run fits (a few rounds at most).

A flow's own template is measured the same way when it prints a table with `line_table(...)` (the rows'
anchors are there); a table it loops over itself is laid out as it comes: its headers repeat on every
page (`thead`), with no subtotals per page. Page numbers come from the stylesheet added to either.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from engine.printing.context import PrintData
from engine.printing.layout import print_css, render_html

log = logging.getLogger("relayflow.print")
MAX_ROUNDS = 5


def _document(html: str, lang: str) -> Any:
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # imported on use: it loads pango, which only printing needs

    return HTML(string=html).render(stylesheets=[CSS(string=print_css(lang))])


def _row_pages(doc: Any, table: str) -> dict[int, int]:
    """Row index → the page (0-based) it is laid out on, for one table."""
    prefix = f"r-{table}-"
    out: dict[int, int] = {}
    for number, page in enumerate(doc.pages):
        for anchor in page.anchors:
            if anchor.startswith(prefix):
                out.setdefault(int(anchor[len(prefix):]), number)
    return out


def _first_sizes(pages_of: Mapping[int, int], n: int) -> list[int]:
    """Rows per page from a layout of the whole table: the first page's count less its carried-forward row,
    then a full page's count less the brought- and carried-forward rows."""
    counts: dict[int, int] = {}
    for page in pages_of.values():
        counts[page] = counts.get(page, 0) + 1
    if len(counts) <= 1:
        return []
    ordered = [counts[p] for p in sorted(counts)]
    first = max(1, ordered[0] - 1)
    full = max(1, max(ordered[1:-1] or ordered[1:]) - 2)
    sizes = [first]
    while sum(sizes) < n:
        sizes.append(full)
    return sizes


def _refit(sizes: list[int], pages_of: Mapping[int, int]) -> list[int] | None:
    """None when every run of rows lies on one page; else the sizes with the first overflowing run cut."""
    start = 0
    for i, size in enumerate(sizes):
        run = [pages_of[k] for k in range(start, start + size) if k in pages_of]
        if run and run[0] != run[-1]:
            fits = sum(1 for p in run if p == run[0])
            cut = max(1, fits - 1)  # room for the carried-forward row
            rest = sum(sizes[i:]) - cut
            full = max(1, min(sizes[1:] or [cut]) if i == 0 else cut)
            out = sizes[:i] + [cut]
            while rest > 0:
                out.append(min(full, rest))
                rest -= full
            return out
        start += size
    return None


def render_pdf(data: PrintData) -> bytes:
    """The PDF of one printed record."""
    lang = data.lang
    if not any(len(t.rows) > 1 for t in data.tables):
        return bytes(_document(render_html(data), lang).write_pdf())
    doc = _document(render_html(data), lang)
    sizes: dict[str, list[int]] = {}
    for t in data.tables:
        sizes[t.id] = _first_sizes(_row_pages(doc, t.id), len(t.rows))
    if not any(sizes.values()):
        return bytes(doc.write_pdf())
    for _round in range(MAX_ROUNDS):
        doc = _document(render_html(data, sizes), lang)
        changed = False
        for t in data.tables:
            if not sizes[t.id]:
                continue
            refit = _refit(sizes[t.id], _row_pages(doc, t.id))
            if refit is not None:
                sizes[t.id] = refit
                changed = True
        if not changed:
            break
    else:
        log.warning("print %s of %s: line pages still uneven after %d rounds", data.layout.name, data.flow.name, MAX_ROUNDS)
    return bytes(doc.write_pdf())
