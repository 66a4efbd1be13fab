"""The relayflow command line, as a business user and an admin use it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from cli.entry import main
from engine.language.yaml_safe import load_yaml

REFERENCE = Path(__file__).parent / "acceptance" / "sales_order.yaml"


def run(*args: str, db: str | None = None, input: str | None = None):  # type: ignore[no-untyped-def]
    argv = (["--db", db] if db else []) + list(args)
    return CliRunner().invoke(main, argv, input=input, catch_exceptions=False)


def test_validate_good_and_bad_files(tmp_path: Path) -> None:
    ok = run("validate", str(REFERENCE))
    assert ok.exit_code == 0 and "ok — flow 'sales_order'" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(REFERENCE.read_text(encoding="utf-8").replace("to: production\n    by: clerk", "to: prodution\n    by: clerk"),
                   encoding="utf-8")
    res = run("validate", str(REFERENCE), str(bad))
    assert res.exit_code == 1
    assert f"{bad}:" in res.output and "unknown state 'prodution' — did you mean 'production'?" in res.output
    line = next(text for text in res.output.splitlines() if "prodution" in text)
    assert line.split(":")[1:3] == ["102", "9"]
    assert "1 of 2 file(s) have errors" in res.output


def test_validate_a_folder(tmp_path: Path) -> None:
    shutil.copy(REFERENCE, tmp_path / "a.yaml")
    (tmp_path / "b.yml").write_text("flow: x\nfields: {}\nstates: {}\n", encoding="utf-8")
    res = run("validate", str(tmp_path))
    assert res.exit_code == 1 and "a.yaml: ok" in res.output and "b.yml:" in res.output


def test_schema_accepts_the_reference_flow_and_flags_unknown_keys() -> None:
    res = run("schema")
    assert res.exit_code == 0
    schema = json.loads(res.output)
    data, _ = load_yaml(REFERENCE.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    data["states"]["review"]["sla"] = {"due": "4h", "wran": "75%"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_users_records_and_inbox_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    flows = tmp_path / "flows"
    flows.mkdir()
    shutil.copy(REFERENCE, flows / "sales_order.yaml")
    assert run("db", "upgrade", db=db).exit_code == 0
    assert run("user", "add", "sam", "--password", "pw", "--role", "sales", db=db).exit_code == 0
    assert run("user", "add", "cleo", "--password", "pw", "--role", "clerk", db=db).exit_code == 0
    dup = CliRunner().invoke(main, ["--db", db, "user", "add", "sam", "--password", "pw"])
    assert dup.exit_code == 1 and "already exists" in dup.output
    listing = run("user", "list", db=db)
    assert "sam" in listing.output and "clerk" in listing.output
    assert run("load", str(flows), db=db).output.startswith("sales_order: revision 1")

    import os

    os.environ["RELAYFLOW_FLOWS_DIR"] = str(flows)
    try:
        made = run("record", "create", "sales_order", "--as", "sam", "--set", "customer=ACME", "--set", "product_model=X",
                   "--set", "quantity=2", "--set", "unit_price=10", "--set", "delivery_date=2026-12-01", db=db)
        assert made.exit_code == 0, made.output
        assert "sales_order #1  ACME · X × 2  state=draft  version=1" in made.output
        wrong = CliRunner().invoke(main, ["--db", db, "record", "move", "sales_order", "1", "submit", "--as", "cleo"])
        # As through the API: a clerk cannot see someone else's draft, so for them it does not exist.
        assert wrong.exit_code == 1 and "no sales_order record 1" in wrong.output
        stale = CliRunner().invoke(main, ["--db", db, "record", "move", "sales_order", "1", "submit", "--as", "sam",
                                          "--version", "5"])
        assert stale.exit_code == 1 and "changed by someone else" in stale.output
        moved = run("record", "move", "sales_order", "1", "submit", "--as", "sam", "--version", "1", db=db)
        assert "state=review" in moved.output
        inbox = run("inbox", "--as", "cleo", db=db)
        assert "sales_order#1" in inbox.output and "订单审核" in inbox.output
        shown = run("record", "show", "sales_order", "1", db=db)
        assert "amount: 20.00" in shown.output and "draft→review" in shown.output
    finally:
        del os.environ["RELAYFLOW_FLOWS_DIR"]


def test_user_contact_sets_and_refuses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from cli.entry import main
    from engine.people.users import list_users
    from engine.storage.db import make_engine

    url = f"sqlite:///{tmp_path / 'c.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--db", url, "user", "add", "lei", "--password", "pw-12345678"]).exit_code == 0
    ok = runner.invoke(main, ["--db", url, "user", "contact", "lei", "--phone", "138 0013 8000", "--im-id", "lei.li"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(main, ["--db", url, "user", "contact", "lei", "--phone", "call me"])
    assert bad.exit_code == 1 and "error:" in bad.output
    db = make_engine(url)
    try:
        [lei] = list_users(db)
        assert (lei["phone"], lei["im_id"]) == ("13800138000", "lei.li")
    finally:
        db.dispose()
