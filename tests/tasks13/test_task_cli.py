"""`relayflow task ...` on SQLite and PostgreSQL: hand-over, add-approver, urge, decide and return from the command
line, with the API's refusals (someone who cannot see the record, an urge too soon, a rejection without a
comment, an unknown person) printed as one error line and exit code 1, and nothing changed by a refusal."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI

from cli.commands import main
from tests.approvals.page_world import make_page_app, submitted


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[tuple[FastAPI, Any]]:
    app = make_page_app(tmp_path, database_url)
    runner = CliRunner(env={"RELAYFLOW_FLOWS_DIR": str(tmp_path / "flows")})

    def run(*args: str) -> Any:
        return runner.invoke(main, ["--db", database_url, "task", *args])

    yield app, run
    app.state.db.dispose()


def _tasks(app: FastAPI, rid: int | str) -> list[tuple[str, str]]:
    hist = app.state.api.records.history("purchase", int(rid))
    return [(h["action"], h.get("comment") or "") for h in hist]


def test_the_task_actions_from_the_command_line(world) -> None:  # type: ignore[no-untyped-def]
    app, run = world
    rid = str(submitted(app).id)
    out = run("hand-over", "purchase", rid, "--to", "olga", "--as", "fred", "--reason", "on leave next week")
    assert out.exit_code == 0 and out.output.startswith(f"hand_over: record #{rid} in check"), out.output
    out = run("add-approver", "purchase", rid, "--to", "mona", "--position", "after", "--as", "fiona",
              "--reason", "the manager should see this")
    assert out.exit_code == 0 and "add_approver" in out.output, out.output
    out = run("urge", "purchase", rid, "--as", "bob", "--reason", "the supplier is waiting")
    assert out.exit_code == 0 and "urge" in out.output, out.output
    out = run("decide", "purchase", rid, "approve", "--as", "olga", "--comment", "fine by me")
    assert out.exit_code == 0 and out.output.startswith(f"approve: record #{rid}"), out.output
    history = _tasks(app, rid)
    assert ("hand_over", "on leave next week") in history and ("add_approver", "the manager should see this") in history
    assert ("urge", "the supplier is waiting") in history and ("approve", "fine by me") in history
    out = run("responsibility", "purchase", rid, "--as", "bob")
    assert out.exit_code == 0 and "hand_over: acted" in out.output
    out = run("return", "purchase", rid, "--to", "draft", "--as", "fiona", "--reason", "the amount is wrong")
    assert out.exit_code == 0 and f"return: record #{rid} in draft" in out.output, out.output
    assert app.state.api.records.get("purchase", int(rid)).state == "draft"


def test_refusals_are_one_error_line_and_change_nothing(world) -> None:  # type: ignore[no-untyped-def]
    app, run = world
    rid = str(submitted(app).id)
    before = len(_tasks(app, rid))
    nosy = run("urge", "purchase", rid, "--as", "nosy")
    assert nosy.exit_code == 1 and f"no purchase record {rid}" in nosy.output
    nobody = run("urge", "purchase", rid, "--as", "ghost")
    assert nobody.exit_code == 1 and "no active user 'ghost'" in nobody.output
    assert run("urge", "purchase", rid, "--as", "bob").exit_code == 0
    again = run("urge", "purchase", rid, "--as", "bob")
    assert again.exit_code == 1 and "urged a short while ago" in again.output
    silent = run("decide", "purchase", rid, "reject", "--as", "fiona")
    assert silent.exit_code == 1 and "say why you reject it" in silent.output
    stranger = run("hand-over", "purchase", rid, "--to", "nobody_here", "--as", "fred", "--reason", "x")
    assert stranger.exit_code == 1 and "nobody_here" in stranger.output
    missing = run("hand-over", "purchase", rid, "--to", "olga", "--as", "fred")
    assert missing.exit_code == 2 and "--reason" in missing.output
    assert len(_tasks(app, rid)) == before + 1  # only the one urge that was allowed
