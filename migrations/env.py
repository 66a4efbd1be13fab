"""Alembic environment for the engine's own tables.

The engine calls Alembic programmatically (engine/storage/migrate.py) and passes an
open connection; the command line `alembic -c migrations/alembic.ini` works
too with RELAYFLOW_DATABASE_URL set.
"""
from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from engine.storage.db import make_engine
from engine.storage.schema import metadata

VERSION_TABLE = "relayflow_schema_version"


def _only_engine_tables(name: str | None, type_: str, parent_names: dict) -> bool:
    # Flow tables (flow_*) are evolved by the engine's reload plan, never by Alembic revisions.
    if type_ == "table":
        return name is not None and not name.startswith("flow_") and name != VERSION_TABLE
    return True


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_name=_only_engine_tables,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(os.environ.get("RELAYFLOW_DATABASE_URL", "sqlite:///relayflow.db"))
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
