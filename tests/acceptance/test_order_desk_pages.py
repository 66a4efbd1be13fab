"""The order desk's record page: the products of order lines by title, picked from a list of products."""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from engine.files.store import FolderStore
from engine.files.uploads import receive
from engine.people.users import create_user, load_actor
from engine.settings import Settings
from engine.storage.plain import PlainExecutor
from tests.ui.live import PASSWORD, sign_in

FOLDER = Path(__file__).parent / "order_desk"


@pytest.fixture
def desk_app(tmp_path: Path) -> Iterator[FastAPI]:
    from ui.app import create_app

    shutil.copytree(FOLDER, tmp_path / "flows", ignore=shutil.ignore_patterns("fixtures", "*.tests.yaml"))
    os.environ["RELAYFLOW_WORKER"] = "off"
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'desk.db'}", flows_dir=tmp_path / "flows",
                              files_dir=tmp_path / "files"))
    for name, roles in (("sales", ["sales"]), ("clerk", ["clerk"]), ("pm", ["product_manager"])):
        create_user(app.state.db, name, display_name=name.title(), password=PASSWORD, roles=roles)
    yield app
    app.state.db.dispose()


def _cells(html: str, column: str) -> list[str]:
    return re.findall(rf'<td class="cell[^"]*" data-col="{column}">(.*?)</td>', html, re.S)


def test_order_lines_show_and_offer_products_by_title(desk_app: FastAPI) -> None:
    records = desk_app.state.api.records
    who = {u: load_actor(desk_app.state.db, username=u) for u in ("sales", "pm")}
    pump = records.create("product", who["pm"], {"code": "HD-2000", "name": "液压泵", "list_price": "1200"})
    valve = records.create("product", who["pm"], {"code": "VL-300", "name": "电磁阀", "list_price": "350.50"})
    old = records.create("product", who["pm"], {"code": "OLD-1", "name": "旧型号", "list_price": "99"})
    customer = records.create("customer", who["sales"], {"name": "宁波华东机电", "city": "宁波"})
    order: Any = records.create("sales_order", who["sales"], {
        "order_no": "SO-000001", "customer": customer.id, "delivery_date": "2026-12-20",
        "lines": [{"product": pump.id, "quantity": 2}, {"product": old.id, "quantity": 1}]})
    records.transition("product", old.id, "discontinue", who["pm"], expected_version=old.version)

    client, _csrf = sign_in(desk_app, "sales", lang="zh-CN")
    html = client.get(f"/records/sales_order/{order.id}").text
    cells = _cells(html, "product")
    assert len(cells) >= 2
    first, second = cells[0], cells[1]
    # an editable cell is a list of the products one may pick, by title, with the line's own selected
    assert f'<option value="{pump.id}" selected>HD-2000 液压泵</option>' in first
    assert f'<option value="{valve.id}">VL-300 电磁阀</option>' in first
    assert f'<option value="{old.id}"' not in first  # discontinued: no longer offered to new lines...
    assert f'<option value="{old.id}" selected>OLD-1 旧型号</option>' in second  # ...but kept where chosen
    assert "SO-000001 · 宁波华东机电" in html

    client, _csrf = sign_in(desk_app, "clerk", lang="zh-CN")  # the clerk cannot see the draft: 404, like a missing one
    assert client.get(f"/records/sales_order/{order.id}").status_code == 404

    # submitted (with its contract), the lines are read-only for the clerk: products by title, no select box
    flow = desk_app.state.registry.get("sales_order").flow
    scan = receive(PlainExecutor(desk_app.state.db), FolderStore(desk_app.state.settings.files_dir), flow, "contract",
                   who["sales"], "contract.pdf", iter([(FOLDER / "fixtures" / "contract.pdf").read_bytes()]))
    order = records.edit("sales_order", order.id, who["sales"], {"contract": [scan.id]}, expected_version=order.version)
    records.transition("sales_order", order.id, "submit", who["sales"], expected_version=order.version)
    html = client.get(f"/records/sales_order/{order.id}").text
    cells = _cells(html, "product")
    assert "HD-2000 液压泵" in cells[0] and "OLD-1 旧型号" in cells[1] and "<select" not in cells[0]


def test_the_live_preview_shows_the_price_a_picked_product_brings(desk_app: FastAPI) -> None:
    """Picking a product in a line shows its price beside the empty price cell, and the amount and total use it,
    before anything is saved; a price typed in the line wins."""
    records = desk_app.state.api.records
    pm = load_actor(desk_app.state.db, username="pm")
    pump = records.create("product", pm, {"code": "HD-2000", "name": "液压泵", "list_price": "1200"})
    valve = records.create("product", pm, {"code": "VL-300", "name": "电磁阀", "list_price": "350.50"})
    client, csrf = sign_in(desk_app, "sales", lang="zh-CN")
    form = {"csrf_token": csrf, "order_no": "SO-000009", "lines": "rows",
            "lines.0.product": str(pump.id), "lines.0.quantity": "2", "lines.0.unit_price": "",
            "lines.1.product": str(valve.id), "lines.1.quantity": "1", "lines.1.unit_price": "300"}
    res = client.post("/records/sales_order/preview", data=form)
    assert res.status_code == 200, res.text
    html = res.text
    hint = re.search(r'<small id="h-lines-0-unit_price"[^>]*>(.*?)</small>', html)
    assert hint is not None and "1,200.00" in hint.group(1) and "产品" in hint.group(1)
    assert 'id="h-lines-1-unit_price"' not in html  # the typed price wins: nothing to fetch
    assert re.search(r'id="c-lines-0-amount"[^>]*>2,400.00', html)
    assert re.search(r'id="c-lines-1-amount"[^>]*>300.00', html)
    assert "2,700.00" in html  # the order total
    # the new-order page has the hint's place beside the fetched cell
    page = client.get("/records/sales_order/new").text
    assert 'id="h-lines-0-unit_price"' in page
    # nothing was saved
    with desk_app.state.db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM flow_sales_order").scalar() == 0
