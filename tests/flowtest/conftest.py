"""Shared helpers of the flow-tests tests: a copy of the order desk folder to break on purpose, and the CLI."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.entry import main

ORDER_DESK = Path(__file__).parent / "order_desk"


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    """A copy of tests/flowtest/order_desk (the acceptance flows and their tests file) to change."""
    folder = tmp_path / "order_desk"
    shutil.copytree(ORDER_DESK, folder)
    return folder


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """The line number of the nth line that contains `needle`."""
    hits = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return hits[nth - 1]


def relayflow_test(*args: str) -> Result:
    return CliRunner().invoke(main, ["test", *args], catch_exceptions=False)
