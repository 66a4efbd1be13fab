"""A 100 MB upload and download through a real server process keep its memory growth under 20 MB.

The server is `uvicorn ui.app:create_app --factory` in its own process on 127.0.0.1; its peak resident
memory (VmHWM in /proc/<pid>/status) is reset after a warm-up (`5` into /proc/<pid>/clear_refs) and read
after the transfer, which streams in 64 KiB pieces with no Content-Length (chunked).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.people.tokens import create_token
from engine.people.users import create_user
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database
from tests.files.conftest import FLOW
from tests.ui.live import free_port

pytestmark = [pytest.mark.memory, pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")]

SIZE = 100 * 1024 * 1024
PIECE = 64 * 1024
LIMIT = 20 * 1024 * 1024
BIG_FLOW = FLOW.replace("qc_report: {type: file, title: QC report, accept: [pdf], max_size: 20MB}",
                        "qc_report: {type: file, title: QC report, accept: [pdf], max_size: 200MB}")


def _kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(key)


def _pdf_pieces() -> Iterator[bytes]:
    head = b"%PDF-1.4\n" + b"%" * (PIECE - 9)
    yield head
    filler = bytes(range(256)) * (PIECE // 256)
    for _ in range(SIZE // PIECE - 1):
        yield filler


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    url = f"sqlite:///{tmp_path / 'relayflow.db'}"
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "purchase.yaml").write_text(BIG_FLOW, encoding="utf-8")
    db = make_engine(url)
    upgrade_database(db)
    uid = create_user(db, "bea", display_name="Bea", roles=["buyer"])
    token = create_token(db, uid, "memory").secret
    db.dispose()
    port = free_port()
    env = {**os.environ, "RELAYFLOW_DATABASE_URL": url, "RELAYFLOW_FLOWS_DIR": str(tmp_path / "flows"),
           "RELAYFLOW_FILES_DIR": str(tmp_path / "files"), "RELAYFLOW_WORKER": "off"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "ui.app:create_app", "--factory", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"], env=env, cwd=Path(__file__).parents[2])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield base, token, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_100mb_upload_and_download_stay_in_bounded_memory(server: tuple[str, str, int]) -> None:
    base, token, pid = server
    headers = {"Authorization": f"Bearer {token}", "X-File-Name": "big.pdf"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        warm = client.post("/api/flows/purchase/files/qc_report", content=b"%PDF-1.4\n" + b"x" * 300_000)
        assert warm.status_code == 201, warm.text
        assert client.get(f"/api/files/{warm.json()['id']}/content").status_code == 200
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM from here on
        start = _kb(pid, "VmRSS")

        r = client.post("/api/flows/purchase/files/qc_report", content=_pdf_pieces())
        assert r.status_code == 201, r.text
        assert r.json()["size"] == SIZE
        upload_peak = _kb(pid, "VmHWM") - start

        digest = hashlib.sha256()
        got = 0
        with client.stream("GET", f"/api/files/{r.json()['id']}/content") as down:
            assert down.status_code == 200
            for block in down.iter_bytes():
                digest.update(block)
                got += len(block)
        expected = hashlib.sha256()
        for piece in _pdf_pieces():
            expected.update(piece)
        assert got == SIZE and digest.hexdigest() == expected.hexdigest() == r.json()["sha256"]
        peak = _kb(pid, "VmHWM") - start
    assert upload_peak < LIMIT, f"upload grew the server by {upload_peak / 2**20:.1f} MB"
    assert peak < LIMIT, f"upload and download grew the server by {peak / 2**20:.1f} MB"
