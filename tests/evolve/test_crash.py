"""An apply killed with SIGKILL at any moment leaves exactly the old revision or the new one."""
from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.evolve.planner import compute_plan
from engine.settings import Settings
from engine.storage.revisions import list_revisions, read_live
from engine.storage.schema import history, retired_columns
from tests.evolve.helpers import BASE, Evolving, admin_headers, edit

ROOT = Path(__file__).resolve().parents[2]

# Rename a field, retire one, add an indexed one, remove a state that holds a record.
CHANGED = edit(
    BASE,
    ("  customer: {type: text, title: Customer, max_length: 100}",
     "  client: {type: text, title: Customer, max_length: 100, renamed_from: customer}"),
    ("  note: {type: longtext}\n", "  region: {type: text, index: true}\n"),
    ("edit: [customer, code, qty, note]", "edit: [client, code, qty, region]"),
    ("  legal: {owner: manager}", "  legal: {moved_to: review}"),
    ("  to_legal: {from: review, to: legal, by: manager}\n", ""),
    ("approve: {from: [review, legal]", "approve: {from: [review]"),
)


def _run_until(url: str, flow_file: Path, checkpoint: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.evolve.apply_and_pause", url, str(flow_file), checkpoint],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        assert sel.select(timeout=60), "the apply did not reach its checkpoint in time"
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.strip() == f"paused at {checkpoint}", line + proc.stderr.read()  # type: ignore[union-attr]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


@pytest.mark.parametrize(("checkpoint", "expected"), [
    ("schema_changed", 1), ("revision_written", 1), ("committed", 2),
])
def test_a_killed_apply_leaves_one_whole_revision(database_url: str, tmp_path: Path, checkpoint: str,
                                                  expected: int) -> None:
    world = Evolving(database_url)
    try:
        rec = world.create({"customer": "ACME", "note": "keep me"}, "submit", "to_legal")
        flow_file = tmp_path / "orders.yaml"
        flow_file.write_text(CHANGED, encoding="utf-8")
        _run_until(database_url, flow_file, checkpoint)

        with world.db.connect() as conn:
            live = read_live(conn, "orders")
            assert live is not None and live.revision == expected
            assert [r.revision for r in list_revisions(conn, "orders")] == list(range(1, expected + 1))
            # The table, the retired columns and the records are exactly what the live revision needs.
            plan, _ = compute_plan(conn, live.compile())
            assert plan.unchanged, [c.text for c in plan.changes]
            retired = set(conn.execute(select(retired_columns.c.column_name)).scalars())
            moves = conn.execute(select(func.count()).select_from(history).where(history.c.action == "migrate")).scalar()
        assert retired == ({"note"} if expected == 2 else set())
        assert moves == (1 if expected == 2 else 0)
        assert set(world.columns()) >= ({"client", "region", "note"} if expected == 2 else {"customer", "note"})

        # The app starts on this database (its folder still holds the old file) and serves the live revision.
        folder = tmp_path / "flows"
        folder.mkdir()
        (folder / "orders.yaml").write_text(BASE, encoding="utf-8")
        app = create_app_on(database_url, folder)
        flows = TestClient(app).get("/api/flows", headers=admin_headers(app.state.db)).json()
        assert [(f["name"], f["revision"]) for f in flows] == [("orders", expected)]
        assert world.raw("state")[rec.id] == ("legal" if expected == 1 else "review")
        app.state.db.dispose()
    finally:
        world.close()


def create_app_on(url: str, folder: Path):  # type: ignore[no-untyped-def]
    from api.app import create_app

    return create_app(Settings(database_url=url, flows_dir=folder))
