"""A short soak in CI (4 clients x 20 s on 200 records, SQLite and PostgreSQL): no 5xx, every record whole.

The full length is a documented command: `python3 -m bench.soak --clients 20 --minutes 10` (bench/soak.py).
"""
from __future__ import annotations

from pathlib import Path

from bench.soak import soak


def test_short_soak(database_url: str, tmp_path: Path) -> None:
    result = soak(database_url, tmp_path / "flows", clients=4, seconds=20, records=200, log=tmp_path / "server.log")
    assert result.problems == [], result.problems[:10]
    assert not any(s >= 500 for s in result.statuses), (result.statuses, result.errors)
    assert sum(n for s, n in result.statuses.items() if s < 300) > 500, result.statuses  # real traffic went through
