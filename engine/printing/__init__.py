"""Print layouts and PDFs of records (docs/print.md).

context.py gathers what one reader may see of one record as plain data; layout.py makes HTML from
it (the default layout or the flow's own template, sandboxed); pdf.py turns that into a paged PDF
with WeasyPrint; service.py puts the three together behind the visibility rules.
"""
