"""An API app over the reference flow, one user (and API token) per role, helpers to drive it over HTTP."""
from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from engine.people.tokens import create_token
from engine.people.users import create_user, hash_password
from engine.settings import Settings
from engine.storage.schema import users

ORDER = {"customer": "ACME 有限公司", "product_model": "X-100", "quantity": 10, "unit_price": "1250.50",
         "delivery_date": "2026-12-20", "contact_phone": "+86 21 5555 0101"}

# username → roles; one user per role of the reference flow, a second clerk, an admin and an outsider.
PEOPLE: dict[str, tuple[str, ...]] = {
    "sally": ("sales",), "sam": ("sales",), "clerk1": ("clerk",), "clerk2": ("clerk",), "mia": ("manager",),
    "paul": ("production",), "quinn": ("qc",), "walt": ("warehouse",), "fiona": ("finance",),
    "nobody": (), "root": (),
}


class Api:
    """A TestClient with one bearer token per user."""

    def __init__(self, client: TestClient, tokens: dict[str, str], ids: dict[str, int]) -> None:
        self.client = client
        self.tokens = tokens
        self.ids = ids
        self.app = client.app

    def h(self, user: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}", **extra}

    def get(self, user: str, url: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self.client.get(url, headers=self.h(user), **kw)

    def post(self, user: str, url: str, json: Any = None, headers: dict[str, str] | None = None, **kw: Any):  # type: ignore[no-untyped-def]
        return self.client.post(url, json=json, headers={**self.h(user), **(headers or {})}, **kw)

    def patch(self, user: str, url: str, json: Any = None, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return self.client.patch(url, json=json, headers={**self.h(user), **(headers or {})})

    def create(self, user: str = "sally", values: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.post(user, "/api/flows/sales_order/records", {"values": values or ORDER})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def move(self, user: str, rec: dict[str, Any], name: str, **body: Any) -> dict[str, Any]:
        r = self.post(user, f"/api/flows/sales_order/records/{rec['id']}/transitions/{name}",
                      {"version": rec["version"], **body})
        assert r.status_code == 200, (name, user, r.text)
        return r.json()  # type: ignore[no-any-return]

    def edit(self, user: str, rec: dict[str, Any], **values: Any) -> dict[str, Any]:
        r = self.patch(user, f"/api/flows/sales_order/records/{rec['id']}", {"version": rec["version"], "values": values})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


PASSWORD = "correct horse battery staple"


@functools.cache
def _hash() -> str:
    return hash_password(PASSWORD)


def make_api(url: str, flow_text: str, folder: Path) -> tuple[TestClient, Api]:
    from api.app import create_app

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sales_order.yaml").write_text(flow_text, encoding="utf-8")
    app = create_app(Settings(database_url=url, flows_dir=folder))
    db = app.state.db
    tokens, ids = {}, {}
    for name, roles in PEOPLE.items():
        ids[name] = create_user(db, name, display_name=name.title(), roles=list(roles), is_admin=name == "root")
        tokens[name] = create_token(db, ids[name], "tests").secret
    with db.begin() as conn:  # argon2 is slow on purpose: hash once per session
        conn.execute(update(users).where(users.c.username.in_(["sally", "root"])).values(password_hash=_hash()))
    client = TestClient(app, raise_server_exceptions=False)
    return client, Api(client, tokens, ids)


def _running_api(url: str, flow_text: str, folder: Path) -> Iterator[Api]:
    client, a = make_api(url, flow_text, folder)
    with client:
        yield a
    client.app.state.db.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def api(sqlite_url: str, reference_flow_text: str, tmp_path: Path) -> Iterator[Api]:
    yield from _running_api(sqlite_url, reference_flow_text, tmp_path / "flows")


@pytest.fixture
def api_pg(postgres_url: str, reference_flow_text: str, tmp_path: Path) -> Iterator[Api]:
    yield from _running_api(postgres_url, reference_flow_text, tmp_path / "flows")


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """Run `app` under a real uvicorn server on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
