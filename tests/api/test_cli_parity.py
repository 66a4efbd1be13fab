"""`relayflow record move` goes through the access layer: it refuses what the API refuses, with the same reason."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.entry import main
from tests.api.conftest import Api


@pytest.mark.parametrize(("user", "transition", "version"), [
    ("nobody", "submit", 1),  # cannot see the record: "no such record", not a role to acquire
    ("clerk1", "submit", 1),  # nor can a clerk see a draft of someone else
    ("sam", "approve", 5),  # a role that may never fire it: refused before the stale version is looked at
])
def test_the_cli_refuses_a_move_as_the_api_does(api: Api, sqlite_url: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, user: str, transition: str,
                                                 version: int) -> None:
    rec = api.create("sally")
    answer = api.post(user, f"/api/flows/sales_order/records/{rec['id']}/transitions/{transition}",
                      {"version": version})
    assert answer.status_code in (403, 404), answer.text
    monkeypatch.setenv("RELAYFLOW_FLOWS_DIR", str(tmp_path / "flows"))
    res = CliRunner().invoke(main, ["--db", sqlite_url, "record", "move", "sales_order", str(rec["id"]), transition,
                                    "--as", user, "--version", str(version)])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1] == f"error: {answer.json()['detail']}"
    assert api.get("sally", f"/api/flows/sales_order/records/{rec['id']}").json()["version"] == rec["version"]
