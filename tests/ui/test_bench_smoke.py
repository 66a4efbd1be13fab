"""The page benchmark runs end to end on a small table (the figures themselves are not checked here)."""
from __future__ import annotations

import pytest

from bench import ui_pages


def test_ui_pages_bench_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    ui_pages.main(["--records", "3000", "--requests", "5", "--warmup", "1"])
    out = capsys.readouterr().out
    assert "bare endpoint" in out and "inbox" in out and "record" in out and "p95" in out
