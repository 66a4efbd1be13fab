"""bench/export_import.py runs end to end on a few orders (its figures are not checked here)."""
from __future__ import annotations

import pytest

from bench import export_import


def test_export_import_bench_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert export_import.main(["--records", "300", "--import-rows", "60", "--db", "sqlite"]) == 0
    out = capsys.readouterr().out
    assert "export of 300 orders" in out and "import of 60 orders" in out and "memory growth" in out
