"""Layering: ui/api → engine → forms, and the engine stays free of web code (import-linter)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_import_contracts_are_kept() -> None:
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run([str(Path(sys.executable).with_name("lint-imports"))],
                         cwd=root, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "broken" in res.stdout and "0 broken" in res.stdout
