"""`among`: a list of ids as one bound parameter, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, Table, insert, select

from engine.storage.db import make_engine
from engine.storage.id_lists import among


def test_among_finds_exactly_the_listed_ids_and_reuses_one_statement(database_url: str) -> None:
    db = make_engine(database_url)
    md = MetaData()
    t = Table("id_list_probe", md, Column("id", BigInteger, primary_key=True, autoincrement=False))
    md.create_all(db)
    try:
        with db.begin() as conn:
            conn.execute(insert(t), [{"id": i} for i in range(1, 3001)])
        with db.connect() as conn:
            name = conn.dialect.name

            def found(ids: list[int]) -> list[int]:
                return sorted(conn.execute(select(t.c.id).where(among(t.c.id, ids, name))).scalars())

            assert found([]) == []
            assert found([5, 7, 7, 99_999]) == [5, 7]  # repeats once, ids not in the table nothing
            wanted = list(range(2, 3001, 2))  # more ids than SQLite allows bound parameters in one IN list
            assert found(wanted) == wanted
            one = str(select(t.c.id).where(among(t.c.id, [1], name)).compile(conn))
            many = str(select(t.c.id).where(among(t.c.id, wanted, name)).compile(conn))
            assert one == many  # the statement's text does not depend on the list's length
    finally:
        md.drop_all(db)
        db.dispose()
