"""The data-table page without a browser: columns, the filter row, sums, paging, saved views, bulk actions,
refusals in the reader's language, and bad input answered with a message on the page (not a 500)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.datatable.conftest import make_desk_app, new_purchase
from tests.ui.live import sign_in


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    app = make_desk_app(tmp_path, list_scan_limit=3)
    yield app
    app.state.db.dispose()


def _nos(html: str) -> list[str]:
    return re.findall(r">(PO-\d+)</a>", html)


def test_columns_filters_sums_and_pages(app: Any) -> None:
    for i in range(60):
        new_purchase(app, order_no=f"PO-{i:03d}", amount=f"{i}.50", region="north" if i % 2 else "south", qty=i)
    client, csrf = sign_in(app, "sally", lang="zh-CN")
    res = client.get("/lists/purchase/table?col=order_no&col=region&col=amount&op.region=in&v.region=north&sort=amount")
    assert res.status_code == 200
    html = res.text
    assert "区域" in html and "北方" in html and "南方</option>" in html  # labels in the reader's language
    first = _nos(html)
    assert len(first) == 30 and first[0] == "PO-001"
    sums = client.get("/lists/purchase/table/sums?col=order_no&col=region&col=amount&op.region=in&v.region=north")
    assert "30" in sums.text and "915.00 CNY" in sums.text  # 1.5 + 3.5 + ... + 59.5 over the whole filtered set
    res = client.get("/lists/purchase/table?col=order_no&col=amount&sort=amount")
    assert len(_nos(res.text)) == 50
    nxt = re.search(r'href="\?([^"]+)" rel="next"', res.text)
    assert nxt is not None
    page2 = client.get("/lists/purchase/table?" + nxt.group(1).replace("&amp;", "&"))
    assert _nos(page2.text) == [f"PO-{i:03d}" for i in range(50, 60)]
    prev = re.search(r'href="\?([^"]*)" rel="prev"', page2.text)
    assert prev is not None
    assert _nos(client.get("/lists/purchase/table?" + prev.group(1).replace("&amp;", "&")).text)[0] == "PO-000"


def test_bad_filter_input_shows_a_message_not_a_500(app: Any) -> None:
    for i in range(5):
        new_purchase(app, order_no=f"PO-{i:03d}", amount="1")
    client, _ = sign_in(app, "sally")
    res = client.get("/lists/purchase/table?col=order_no&col=amount&op.amount=gt&v.amount=lots")
    assert res.status_code == 422 and 'role="alert"' in res.text
    res = client.get("/lists/purchase/table?col=order_no&col=note&op.note=contains&v.note=x")
    assert res.status_code == 422 and "not indexed" in res.text  # 5 records > the scan limit of 3
    res = client.get("/lists/purchase/table?col=order_no&after=garbage")
    assert res.status_code == 422
    assert client.get("/lists/purchase/table?col=order_no&sort=nope").status_code == 422


def test_save_reopen_rename_default_and_delete_a_view(app: Any) -> None:
    new_purchase(app, order_no="PO-001", amount="5", region="north")
    new_purchase(app, order_no="PO-002", amount="7", region="south")
    client, csrf = sign_in(app, "sally", lang="zh-CN")
    spec = '{"columns": ["order_no", "amount"], "filters": [{"field": "region", "op": "in", "value": ["south"]}], "sort": "-@id"}'
    res = client.post("/lists/purchase/table/views", data={"csrf_token": csrf, "name": "南方 orders", "spec": spec,
                                                           "default": "on"}, follow_redirects=False)
    assert res.status_code == 303
    url = res.headers["location"]
    opened = client.get(url)
    assert _nos(opened.text) == ["PO-002"] and "南方 orders" in opened.text
    assert _nos(client.get("/lists/purchase/table").text) == ["PO-002"]  # the default view opens by itself
    vid = url.rsplit("=", 1)[1]
    client.post(f"/lists/purchase/table/views/{vid}/rename", data={"csrf_token": csrf, "name": "South"})
    assert "South" in client.get(url).text
    shared = client.post("/lists/purchase/table/views", data={"csrf_token": csrf, "name": "x", "spec": spec,
                                                              "shared_role": "sales"})
    assert shared.status_code == 403 and "只有管理员或此流程的经理才能把视图共享给角色" in shared.text
    bad = client.post("/lists/purchase/table/views", data={"csrf_token": csrf, "name": "y", "spec": "{broken"})
    assert bad.status_code == 422
    client.post(f"/lists/purchase/table/views/{vid}/delete", data={"csrf_token": csrf})
    assert sorted(_nos(client.get("/lists/purchase/table").text)) == ["PO-001", "PO-002"]


def test_bulk_transition_on_the_page_reports_each_record(app: Any) -> None:
    good = new_purchase(app, order_no="PO-001", amount="5")
    bad = new_purchase(app, order_no="PO-002", qty=500, amount="5")
    client, csrf = sign_in(app, "sally", lang="zh-CN")
    res = client.post("/lists/purchase/table/bulk?col=order_no", data={
        "csrf_token": csrf, "action": "transition:submit", "ids": [str(good.id), str(bad.id)]})
    assert res.status_code == 200
    results = res.text.split('class="card bulk-results"')[1].split("</section>")[0]
    assert f"#{good.id}</a> 已推进" in results and f"#{bad.id}</a> 未执行" in results
    assert app.state.api.records.get("purchase", good.id).state == "review"
    assert app.state.api.records.get("purchase", bad.id).state == "draft"
    none = client.post("/lists/purchase/table/bulk", data={"csrf_token": csrf, "action": "transition:submit"})
    assert none.status_code == 422
