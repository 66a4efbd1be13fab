"""The list-filter benchmark runs end to end on a small table (its figures are not checked here)."""
from __future__ import annotations

import pytest

from bench import list_filter


def test_list_filter_bench_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    list_filter.main(["--records", "3000", "--queries", "12", "--db", "sqlite"])
    out = capsys.readouterr().out
    assert "3,000 records" in out and "p95" in out and "sums of the whole filtered set" in out
