"""`relayflow plan`, `relayflow apply` and `relayflow revisions` as an admin uses them."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from cli.entry import main
from tests.evolve.helpers import BASE, edit

NARROW = edit(BASE, ("  code: {type: text, max_length: 100}", "  code: {type: text, max_length: 2}"))
ADD_REGION = edit(BASE, ("  note: {type: longtext}\n", "  note: {type: longtext}\n  region: {type: text}\n"))


def run(db: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], input=input, catch_exceptions=False)


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_plan_and_apply(sqlite_url: str, tmp_path: Path) -> None:
    base = _file(tmp_path, "base.yaml", BASE)
    first = run(sqlite_url, "plan", base)
    assert first.exit_code == 0 and "New flow 'orders'" in first.output and "live: nothing (new flow)" in first.output
    assert run(sqlite_url, "apply", base, "--yes").exit_code == 0
    region = _file(tmp_path, "region.yaml", ADD_REGION)
    plan = run(sqlite_url, "plan", region)
    assert plan.exit_code == 0 and "New field 'region'" in plan.output and "live: revision 1 → new: revision 2" in plan.output
    said_no = run(sqlite_url, "apply", region, input="n\n")
    assert said_no.exit_code == 1 and "not applied" in said_no.output
    wrong = run(sqlite_url, "apply", region, "--yes", "--expect", "0000")
    assert wrong.exit_code == 1 and "not the plan you checked" in wrong.output
    digest = next(line for line in plan.output.splitlines() if "plan " in line and "live:" in line).split()[-1]
    ok = run(sqlite_url, "apply", region, "--expect", digest, input="y\n")
    assert ok.exit_code == 0 and "revision 2 is live" in ok.output
    again = run(sqlite_url, "apply", region, "--yes")
    assert again.exit_code == 0 and "Nothing to do" in again.output


def test_a_refused_plan_exits_1(sqlite_url: str, tmp_path: Path) -> None:
    assert run(sqlite_url, "apply", _file(tmp_path, "base.yaml", BASE), "--yes").exit_code == 0
    run(sqlite_url, "user", "add", "ann", "--password", "pw-12345678", "--role", "clerk")
    rec = run(sqlite_url, "record", "create", "orders", "--as", "ann", "--set", "code=ABCDEF")
    assert rec.exit_code == 0, rec.output
    narrow = _file(tmp_path, "narrow.yaml", NARROW)
    res = run(sqlite_url, "plan", narrow)
    assert res.exit_code == 1 and "REFUSED" in res.output and "record #1: 'ABCDEF'" in res.output
    assert run(sqlite_url, "apply", narrow, "--yes").exit_code == 1
    broken = run(sqlite_url, "plan", _file(tmp_path, "broken.yaml", "flow: x\n"))
    assert broken.exit_code == 1 and "missing required key" in broken.output


def test_revisions_list_and_show(sqlite_url: str, tmp_path: Path) -> None:
    run(sqlite_url, "apply", _file(tmp_path, "base.yaml", BASE), "--yes")
    run(sqlite_url, "apply", _file(tmp_path, "region.yaml", ADD_REGION), "--yes")
    listing = run(sqlite_url, "revisions", "orders")
    assert listing.exit_code == 0 and len(listing.output.splitlines()) == 2 and listing.output.rstrip().endswith("live")
    shown = run(sqlite_url, "revisions", "orders", "--show", "1")
    assert shown.output == BASE
    assert run(sqlite_url, "revisions", "nope").exit_code == 1
