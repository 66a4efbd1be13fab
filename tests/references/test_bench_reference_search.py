"""The reference search benchmark runs end to end on a small table (its figures are not checked here)."""
from __future__ import annotations

import pytest

from bench import reference_search


def test_reference_search_bench_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    reference_search.main(["--customers", "3000", "--queries", "20", "--db", "sqlite"])
    out = capsys.readouterr().out
    assert "3,000 customers" in out and "p50" in out and "p95" in out
