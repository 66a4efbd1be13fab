"""The Alembic revisions create exactly the engine tables the code describes."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from engine.db import make_engine
from engine.migrate import upgrade_database
from engine.schema import metadata


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
