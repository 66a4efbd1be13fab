"""A Relayflow server for tests: a fresh SQLite database, the reference flow, one user per role.

`make_world` builds the database and users; `LiveServer` runs the app under
uvicorn in a thread on 127.0.0.1 and a free port (for the browser tests).
"""
from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from engine.people.users import create_user, load_actor
from engine.settings import Settings
from tests.flow_desk import app_without_worker

REFERENCE_FLOW = Path(__file__).resolve().parents[1] / "acceptance" / "sales_order.yaml"
PASSWORD = "secret-pass-1"
USERS = {  # username: (display name, roles, admin)
    "admin": ("管理员 Admin", (), True),
    "sales1": ("Sally Sales", ("sales",), False),
    "clerk1": ("Clara Clerk", ("clerk",), False),
    "manager1": ("Max Manager", ("manager",), False),
    "prod1": ("Pat Production", ("production",), False),
    "finance1": ("Fiona Finance", ("finance",), False),
}


def make_app(tmp: Path, *, flow_text: str | None = None) -> FastAPI:
    """The app with pages on a fresh SQLite file under `tmp`, the reference flow and USERS."""
    flows = tmp / "flows"
    flows.mkdir(parents=True, exist_ok=True)
    if flow_text is None:
        shutil.copy(REFERENCE_FLOW, flows / "sales_order.yaml")
    else:
        (flows / "sales_order.yaml").write_text(flow_text, encoding="utf-8")
    app = app_without_worker(Settings(database_url=f"sqlite:///{tmp / 'relayflow.db'}", flows_dir=flows))
    for username, (name, roles, admin) in USERS.items():
        create_user(app.state.db, username, display_name=name, password=PASSWORD, roles=list(roles), is_admin=admin)
    return app


def browser_sign_in(browser: Any, base_url: str, username: str, *, locale: str = "en-US", width: int = 1200,
                    timeout_ms: int = 15_000, **context: Any) -> Any:
    """A new browser page (its own context: locale, viewport `width` x 900, `context` options) signed in as
    `username` with the page tests' password, on the home page."""
    ctx = browser.new_context(locale=locale, viewport={"width": width, "height": 900}, **context)
    ctx.set_default_timeout(timeout_ms)
    page = ctx.new_page()
    page.goto(base_url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(base_url + "/")
    return page


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn serving `app` in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def sign_in(app: FastAPI, username: str, *, lang: str = "en") -> tuple[TestClient, str]:
    """A client signed in as `username`, and its session's CSRF token."""
    client = TestClient(app, headers={"Accept-Language": lang})
    page = client.get("/login")
    token = re.search(r'name="pre_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    res = client.post("/login", data={"username": username, "password": PASSWORD, "pre_token": token, "next": "/"},
                      follow_redirects=False)
    assert res.status_code == 303, res.text
    home = client.get("/")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text).group(1)  # type: ignore[union-attr]
    return client, csrf


def new_order(app: FastAPI, username: str = "sales1", **values: Any) -> Any:
    """A sales order created through the engine (a valid one unless values say otherwise)."""
    data = {"customer": "ACME", "product_model": "M-1", "quantity": 2, "unit_price": "10.00",
            "delivery_date": "2026-12-01"}
    data.update(values)
    actor = load_actor(app.state.db, username=username)
    return app.state.api.records.create("sales_order", actor, data)


def move(app: FastAPI, rec_id: int, transition: str, username: str, **kw: Any) -> Any:
    svc = app.state.api
    actor = load_actor(app.state.db, username=username)
    current = svc.records.get("sales_order", rec_id)
    return svc.records.transition("sales_order", rec_id, transition, actor, expected_version=current.version, **kw)


SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"  # git-ignored test artifacts
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def screenshot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
