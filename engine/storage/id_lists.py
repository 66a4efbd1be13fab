"""`column IN (a list of ids)` as one bound parameter, so the statement's text never depends on the list's length.

SQLAlchemy renders `in_([...])` with one placeholder per id, anew on every execution, and on PostgreSQL
psycopg then parses that text anew (it caches by text): a few hundred ids cost several milliseconds of
client time before the database sees the query (the inbox asks about a page of 200 records). With one
parameter the compiled statement and the driver's parsed query are reused:

* PostgreSQL: `column = ANY(:ids)`, the ids as one array;
* SQLite: `column IN (SELECT value FROM json_each(:ids))`, the ids as one JSON text (SQLite's JSON
  functions are built in since 3.38); SQLite still looks each id up in the column's index.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY


def among(column: Any, ids: Iterable[int], dialect_name: str, name: str = "ids") -> ColumnElement[bool]:
    """`column` is one of `ids` (whole numbers), as one bound parameter called `name`."""
    values = [int(i) for i in ids]
    if dialect_name == "postgresql":
        return column == any_(bindparam(name, values, type_=ARRAY(BigInteger)))  # type: ignore[no-any-return]
    listed = func.json_each(bindparam(name, json.dumps(values), type_=String())).table_valued("value")
    return column.in_(select(listed.c.value))  # type: ignore[no-any-return]
