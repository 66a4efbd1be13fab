"""What a person types into a number input, read as a person means it.

Clerks copy amounts from spreadsheets and Chinese input methods: "1,200.50",
"12,000", "１２００" (full-width digits), "1，200". A page's number input takes
them: full-width digits, comma and point become ASCII, and commas that group
digits in threes are dropped. A comma in any other place ("12,00", a decimal
comma) stays, so the number check refuses it rather than guess. The API is not
read this way: JSON numbers and strings there are exact (forms/number_fields.py).
"""
from __future__ import annotations

import re

_FULL_WIDTH = str.maketrans("０１２３４５６７８９，．－＋", "0123456789,.-+")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")


def typed_number(raw: str | None) -> str | None:
    """`raw` with full-width characters and thousands separators taken out (unchanged when not such a number)."""
    if raw is None:
        return None
    text = raw.strip().translate(_FULL_WIDTH)
    if _GROUPED.fullmatch(text):
        return text.replace(",", "")
    return text
