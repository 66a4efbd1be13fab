"""`relayflow backup` / `restore`: a round trip on SQLite and PostgreSQL gives back exactly the data
of the backup, and files that are not backups are refused without touching the database."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

from cli.entry import main
from engine.storage.schema import history
from tests.conftest import World
from tests.sla.conftest import ORDER


def _snapshot(url: str, table: str) -> tuple[int, int, list[tuple[object, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(f"SELECT id, state, version FROM {table} ORDER BY id")).all()
            return (len(rows), conn.execute(select(func.count()).select_from(history)).scalar_one(),
                    [tuple(r) for r in rows])
    finally:
        engine.dispose()


def test_backup_and_restore_round_trip(database_url: str, reference_flow_text: str, tmp_path: Path) -> None:
    world = World(database_url, reference_flow_text)
    sales = world.user("sally", "sales")
    first = world.records.create("sales_order", sales, {**ORDER, "customer": "ACME"})
    world.records.transition("sales_order", first.id, "submit", sales, expected_version=1)
    table = world.registry.get("sales_order").table.name
    before = _snapshot(database_url, table)
    world.db.dispose()

    runner = CliRunner()
    backup = tmp_path / "relayflow.backup"
    done = runner.invoke(main, ["--db", database_url, "backup", str(backup)])
    assert done.exit_code == 0, done.output
    assert backup.is_file() and backup.stat().st_size > 0
    again = runner.invoke(main, ["--db", database_url, "backup", str(backup)])
    assert again.exit_code == 1 and "exists already" in again.output

    # Work goes on after the backup: another record, another move.
    world = World(database_url, reference_flow_text)
    later = world.records.create("sales_order", sales, {**ORDER, "customer": "Later"})
    world.records.transition("sales_order", first.id, "approve", world.user("carol", "clerk"), expected_version=2)
    world.db.dispose()
    assert _snapshot(database_url, table) != before

    done = runner.invoke(main, ["--db", database_url, "restore", str(backup), "--yes"])
    assert done.exit_code == 0, done.output
    assert _snapshot(database_url, table) == before  # exactly the backup's records and history
    world = World(database_url, reference_flow_text)  # and the engine works on the restored database
    assert world.records.get("sales_order", first.id).state == "review"
    assert later.id not in [r[0] for r in _snapshot(database_url, table)[2]]
    world.db.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(database_url: str, reference_flow_text: str,
                                                     tmp_path: Path) -> None:
    world = World(database_url, reference_flow_text)
    sales = world.user("sally", "sales")
    world.records.create("sales_order", sales, {**ORDER, "customer": "ACME"})
    table = world.registry.get("sales_order").table.name
    world.db.dispose()
    before = _snapshot(database_url, table)
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a backup")
    done = CliRunner().invoke(main, ["--db", database_url, "restore", str(bogus), "--yes"])
    assert done.exit_code == 1 and "is not" in done.output
    missing = CliRunner().invoke(main, ["--db", database_url, "restore", str(tmp_path / "nope"), "--yes"])
    assert missing.exit_code == 1 and "no such backup file" in missing.output
    assert _snapshot(database_url, table) == before
