"""Inside a running server: flows/ at start, new revisions from other processes, development mode."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.evolve.runtime import FlowFolderWatcher, LiveRevisionPoller, sync_folder
from engine.settings import Settings
from engine.storage.registry import FlowRegistry
from tests.evolve.helpers import BASE, Evolving, admin_headers, edit

ADD_REGION = edit(BASE, ("  note: {type: longtext}\n", "  note: {type: longtext}\n  region: {type: text}\n"))
WITHOUT_NOTE = edit(BASE, ("  note: {type: longtext}\n", ""), ("edit: [customer, code, qty, note]", "edit: [customer, code, qty]"))


@pytest.fixture
def world(sqlite_url: str) -> Iterator[Evolving]:
    w = Evolving(sqlite_url)
    yield w
    w.close()


def _folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir(exist_ok=True)
    (folder / "orders.yaml").write_text(text, encoding="utf-8")
    return folder


def test_at_start_a_safe_change_is_applied(world: Evolving, tmp_path: Path) -> None:
    registry = FlowRegistry()
    result = sync_folder(world.db, registry, _folder(tmp_path, ADD_REGION))
    assert result.problems == [] and [a.revision for a in result.applied] == [2]
    assert registry.get("orders").revision == 2 and "region" in registry.get("orders").flow.fields


def test_at_start_a_change_that_touches_data_is_held_back(world: Evolving, tmp_path: Path) -> None:
    registry = FlowRegistry()
    result = sync_folder(world.db, registry, _folder(tmp_path, WITHOUT_NOTE))
    assert result.applied == [] and len(result.held_back) == 1
    message = str(result.held_back[0])
    assert "not applied automatically: the change touches stored data" in message
    assert "still serving revision 1" in message and "relayflow apply" in message
    assert registry.get("orders").revision == 1 and "note" in registry.get("orders").flow.fields
    assert world.live_revision() == 1


def test_the_app_reports_a_held_back_change_and_serves_the_live_revision(world: Evolving, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=str(world.db.url), flows_dir=_folder(tmp_path, WITHOUT_NOTE)))
    client = TestClient(app, headers=admin_headers(app.state.db))
    assert any("not applied automatically" in b for b in app.state.broken_flows)
    assert client.get("/ready").status_code == 200  # a held-back change: the live revision is served
    assert [f["revision"] for f in client.get("/api/flows").json()] == [1]
    app.state.db.dispose()


def test_the_app_picks_up_a_revision_applied_elsewhere(world: Evolving, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=str(world.db.url), flows_dir=_folder(tmp_path, BASE)))
    client = TestClient(app, headers=admin_headers(app.state.db))
    assert [f["revision"] for f in client.get("/api/flows").json()] == [1]
    world.apply(ADD_REGION)
    deadline = time.monotonic() + 3
    while [f["revision"] for f in client.get("/api/flows").json()] != [2]:
        assert time.monotonic() < deadline, "the app still serves revision 1"
        time.sleep(0.05)
    app.state.db.dispose()


def test_the_poller_asks_the_database_at_most_every_interval(world: Evolving) -> None:
    registry = FlowRegistry()
    registry.refresh(world.db)
    poller = LiveRevisionPoller(world.db, registry, interval=0.2)
    assert not poller.due()
    world.apply(ADD_REGION)
    time.sleep(0.25)
    assert poller.due() and poller.poll() == ["orders"]
    assert registry.get("orders").revision == 2 and not poller.due()


def test_development_mode_applies_changed_files(world: Evolving, tmp_path: Path) -> None:
    folder = _folder(tmp_path, BASE)
    registry = FlowRegistry()
    sync_folder(world.db, registry, folder)
    watcher = FlowFolderWatcher(world.db, registry, folder, interval=0.05)
    assert watcher.poll_once() is None
    (folder / "orders.yaml").write_text(WITHOUT_NOTE, encoding="utf-8")  # touches data: fine in development
    assert watcher.poll_once() is None  # just changed: wait until it stays the same for one look
    result = watcher.poll_once()
    assert result is not None and [a.revision for a in result.applied] == [2]
    assert "note" not in registry.get("orders").flow.fields
    (folder / "orders.yaml").write_text(BASE.replace("flow: orders", "flow: orders\nnope: 1"), encoding="utf-8")
    watcher.poll_once()
    broken = watcher.poll_once()
    assert broken is not None and "unknown key 'nope'" in str(broken.errors[0])
    assert registry.get("orders").revision == 2  # a broken file never replaces what is served
    watcher.start()
    try:
        (folder / "orders.yaml").write_text(BASE, encoding="utf-8")
        deadline = time.monotonic() + 3
        while registry.get("orders").revision != 3:
            assert time.monotonic() < deadline, "the watcher did not apply the file"
            time.sleep(0.05)
    finally:
        watcher.stop()
    assert "note" in registry.get("orders").flow.fields
