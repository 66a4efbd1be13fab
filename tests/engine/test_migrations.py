"""The Alembic revisions create exactly the engine tables the code describes."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from engine.storage.schema import metadata


def test_upgrade_matches_the_schema_and_is_repeatable(database_url: str) -> None:
    db = make_engine(database_url)
    try:
        upgrade_database(db)
        upgrade_database(db)  # a second run is a no-op
        with db.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, metadata)
            diff = [d for d in diff if not (isinstance(d, tuple) and d[0] == "remove_table")]
            assert diff == []
            tables = set(inspect(conn).get_table_names())
        assert {"users", "role_grants", "flows", "flow_revisions", "history", "assign_cursors",
                "relayflow_schema_version"} <= tables
    finally:
        db.dispose()


def test_the_write_path_stores_instants_as_sqlalchemy_would_on_sqlite() -> None:
    """engine/storage/fastsql.py formats UTC instants itself on SQLite: the text must equal SQLAlchemy's, naive refused."""
    from datetime import datetime, timedelta, timezone

    import pytest
    from sqlalchemy.dialects import sqlite

    from engine.storage.db import UtcDateTime
    from engine.storage.fastsql import _bind_processor

    dialect = sqlite.dialect()
    general = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    fast = _bind_processor(UtcDateTime(), dialect)
    assert fast is not None and general is not None
    for value in (datetime(2026, 1, 1, tzinfo=timezone.utc),
                  datetime(2026, 3, 8, 2, 30, 0, 5, tzinfo=timezone(timedelta(hours=8))),
                  datetime(1, 1, 2, tzinfo=timezone.utc),
                  datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
                  datetime(999, 5, 5, 5, 5, 5, tzinfo=timezone(timedelta(hours=-5)))):
        assert fast(value) == general(value)
    with pytest.raises(ValueError):
        fast(datetime(2026, 1, 1))
