"""The flow editor over HTTP: validate as typed, plan, apply with the hash, refusals, stale plans, rollback."""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from engine.evolve import apply_flow
from engine.language.loader import load_flow_text
from engine.storage.revisions import list_revisions
from tests.ui.live import REFERENCE_FLOW, new_order, sign_in

FLOW = REFERENCE_FLOW.read_text(encoding="utf-8")
EDIT_LIST = "delivery_date, priority, special_requirements]"
# A mistake: the draft state edits a field the file does not define.
MISTAKE = FLOW.replace(EDIT_LIST, "delivery_date, priority, special_requirements, customer_po]")
# ... fixed by adding the field.
WITH_FIELD = MISTAKE.replace("  paid_amount:", "  customer_po: {type: text, title: 客户订单号, max_length: 40}\n  paid_amount:")
EDIT = "/admin/flows/sales_order/edit"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[FastAPI]:
    """An app of its own: these tests apply new revisions."""
    from tests.ui.live import make_app

    app = make_app(tmp_path)
    yield app
    app.state.db.dispose()


def _htmx(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf, "HX-Request": "true"}


def _hidden(page: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert m, f"no hidden {name}"
    return m.group(1)


def _plan(client: TestClient, csrf: str, text: str, url: str = EDIT) -> tuple[str, dict[str, str]]:
    res = client.post(f"{url}/plan", data={"csrf_token": csrf, "yaml": text})
    assert res.status_code == 200, res.text
    fields = {n: _hidden(res.text, n) for n in ("plan_hash", "base_revision", "plan_sha")}
    return res.text, fields


def _live_revision(app: FastAPI, flow: str = "sales_order") -> int:
    with app.state.db.connect() as conn:
        return max(r.revision for r in list_revisions(conn, flow))


def _columns(app: FastAPI) -> set[str]:
    with app.state.db.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("flow_sales_order")}


def test_the_editor_shows_the_live_file_and_checks_it_as_typed(app: FastAPI) -> None:
    client, csrf = sign_in(app, "admin")
    page = client.get(EDIT)
    assert page.status_code == 200
    assert 'hx-post="/admin/flows/sales_order/edit/validate"' in page.text
    assert 'hx-trigger="input changed delay:500ms"' in page.text and '<label for="yaml">' in page.text
    assert "record_title: &#34;{{ customer }}" in page.text  # the live YAML, escaped
    wrong = client.post(f"{EDIT}/validate", data={"yaml": MISTAKE}, headers=_htmx(csrf))
    assert wrong.status_code == 200 and "<html" not in wrong.text  # a fragment for htmx
    line = MISTAKE.splitlines().index(next(x for x in MISTAKE.splitlines() if "customer_po]" in x)) + 1
    assert re.search(rf'data-line="{line}" data-column="\d+">{line}:\d+</a>: unknown field &#39;customer_po&#39;',
                     wrong.text), wrong.text
    syntax = client.post(f"{EDIT}/validate", data={"yaml": "flow: x\nfields: [\n"}, headers=_htmx(csrf))
    assert re.search(r">3:1</a>: expected the node content", syntax.text), syntax.text
    fine = client.post(f"{EDIT}/validate", data={"yaml": WITH_FIELD}, headers=_htmx(csrf))
    assert 'id="no-problems"' in fine.text and "18 fields" in fine.text


def test_broken_yaml_shows_located_errors_and_applies_nothing(app: FastAPI) -> None:
    client, csrf = sign_in(app, "admin")
    before = _live_revision(app)
    planned = client.post(f"{EDIT}/plan", data={"csrf_token": csrf, "yaml": MISTAKE})
    assert planned.status_code == 422 and 'id="problem-list"' in planned.text and 'id="plan"' not in planned.text
    assert 'aria-invalid="true"' in planned.text and "customer_po]" in planned.text  # the text is kept
    crafted = client.post(f"{EDIT}/apply", data={"csrf_token": csrf, "yaml": MISTAKE, "plan_hash": "0" * 64,
                                                 "base_revision": str(before), "plan_sha": "0" * 64})
    assert crafted.status_code == 422 and "The file has problems; nothing was applied." in crafted.text
    assert _live_revision(app) == before and "customer_po" not in _columns(app)


def test_script_tags_in_yaml_and_its_errors_are_escaped(app: FastAPI) -> None:
    client, csrf = sign_in(app, "admin")
    evil = FLOW.replace("title: 销售订单跟单", f"title: 销售订单跟单\n{SCRIPT}: 1")
    for res in (client.post(f"{EDIT}/validate", data={"yaml": evil}, headers=_htmx(csrf)),
                client.post(f"{EDIT}/plan", data={"csrf_token": csrf, "yaml": evil})):
        assert "<script>alert" not in res.text
        assert "unknown key &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;" in res.text, res.text


def test_plan_then_apply_adds_the_field_and_lists_the_revisions(fresh: FastAPI) -> None:
    client, csrf = sign_in(fresh, "admin")
    page, fields = _plan(client, csrf, WITH_FIELD)
    assert "New field &#39;客户订单号&#39;, text (at most 40 characters)" in page and 'class="badge effect-safe">safe<' in page
    assert "(customer_po)" not in page  # a page names a field by its title, never by its id
    assert "live: revision 1 → new: revision 2" in page and fields["base_revision"] == "1"
    assert re.search(r'<button type="submit" id="apply" class="primary" formaction="[^"]+/apply">', page)
    done = client.post(f"{EDIT}/apply", data={"csrf_token": csrf, "yaml": WITH_FIELD, **fields},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin/flows/sales_order?msg=applied"
    flow_page = client.get(done.headers["location"]).text
    assert 'id="live-revision">revision 2<' in flow_page and "The new revision is live." in flow_page
    assert 'href="/admin/flows/sales_order/edit?revision=1"' in flow_page  # roll back to revision 1
    assert "edit?revision=2" not in flow_page  # not to the live one
    sales, _ = sign_in(fresh, "sales1")
    assert 'id="f-customer_po"' in sales.get("/records/sales_order/new").text
    with fresh.state.db.connect() as conn:
        assert list_revisions(conn, "sales_order")[-1].applied_by is not None


def test_a_refused_plan_cannot_be_applied_even_by_a_crafted_post(fresh: FastAPI) -> None:
    rec = new_order(fresh, customer="A customer with a long name")
    narrow = FLOW.replace("max_length: 100, index: true", "max_length: 10, index: true")
    client, csrf = sign_in(fresh, "admin")
    page, fields = _plan(client, csrf, narrow)
    assert 'class="badge effect-refused">refused<' in page and "Values that would not convert" in page
    assert f"record #{rec.id}: &#39;A customer with a long name&#39;" in page
    assert re.search(r'<button type="submit" id="apply" class="primary" formaction="[^"]+" disabled '
                     r'aria-describedby="apply-why">', page)
    assert "1 records block it" in page
    crafted = client.post(f"{EDIT}/apply", data={"csrf_token": csrf, "yaml": narrow, **fields})
    assert crafted.status_code == 422 and "The plan is refused; nothing was applied." in crafted.text
    forged = client.post(f"{EDIT}/apply", data={"csrf_token": csrf, "yaml": narrow, **fields, "plan_hash": "a" * 64})
    assert forged.status_code == 409 and " disabled " in forged.text
    assert _live_revision(fresh) == 1
    assert fresh.state.api.records.get("sales_order", rec.id).values["customer"] == "A customer with a long name"


def test_a_stale_plan_is_refused_with_the_message_and_the_new_plan(fresh: FastAPI) -> None:
    client, csrf = sign_in(fresh, "admin")
    _, seen = _plan(client, csrf, WITH_FIELD)
    other = FLOW.replace("  paid_amount:", "  region: {type: text, title: 区域}\n  paid_amount:")
    apply_flow(fresh.state.db, load_flow_text(other))  # another admin, meanwhile
    stale = client.post(f"{EDIT}/apply", data={"csrf_token": csrf, "yaml": WITH_FIELD, **seen})
    assert stale.status_code == 409
    assert "Someone applied another revision of this flow after your plan (made against revision 1; live is now " \
           "revision 2). Nothing was applied." in stale.text
    assert "live: revision 2 → new: revision 3" in stale.text and "customer_po]" in stale.text
    fresh_hash = _hidden(stale.text, "plan_hash")
    assert fresh_hash != seen["plan_hash"] and _hidden(stale.text, "base_revision") == "2"
    assert _live_revision(fresh) == 2 and "customer_po" not in _columns(fresh)
    again = client.post(f"{EDIT}/apply", data={"csrf_token": csrf, "yaml": WITH_FIELD, "plan_hash": fresh_hash,
                                               "base_revision": "2", "plan_sha": seen["plan_sha"]},
                        follow_redirects=False)
    assert again.status_code == 303 and _live_revision(fresh) == 3


def test_the_plan_of_an_indexed_field_estimates_the_index_build(app: FastAPI) -> None:
    new_order(app)
    client, csrf = sign_in(app, "admin")
    indexed = FLOW.replace("  paid_amount:", "  region: {type: text, title: 区域, index: true}\n  paid_amount:")
    page, _ = _plan(client, csrf, indexed)
    assert "<h3>Indexes</h3>" in page and "expected to take under a second" in page
    assert re.search(r"is built over [\d,]+ records?", page) and "records affected" in page


def test_text_changed_after_the_plan_or_no_plan_at_all(app: FastAPI) -> None:
    client, csrf = sign_in(app, "admin")
    _, seen = _plan(client, csrf, WITH_FIELD)
    changed = WITH_FIELD.replace("客户订单号", "客户PO号")
    res = client.post(f"{EDIT}/apply", data={"csrf_token": csrf, "yaml": changed, **seen})
    assert res.status_code == 409 and "The text changed after the plan; nothing was applied." in res.text
    res = client.post(f"{EDIT}/apply", data={"csrf_token": csrf, "yaml": WITH_FIELD})
    assert res.status_code == 409 and "Make a plan and check it before applying" in res.text
    assert "customer_po" not in _columns(app)


def test_rolling_back_plans_the_older_file_and_applies_it(fresh: FastAPI) -> None:
    client, csrf = sign_in(fresh, "admin")
    _, seen = _plan(client, csrf, WITH_FIELD)
    client.post(f"{EDIT}/apply", data={"csrf_token": csrf, "yaml": WITH_FIELD, **seen})
    back = client.get(f"{EDIT}?revision=1")
    assert back.status_code == 200 and "This is the file of revision 1." in back.text
    assert "is removed from the form" in back.text and 'class="badge effect-data">touches data<' in back.text
    assert "customer_po]" not in back.text
    done = client.post(f"{EDIT}/apply", data={"csrf_token": csrf, "yaml": FLOW,
                                              **{n: _hidden(back.text, n) for n in seen}}, follow_redirects=False)
    assert done.status_code == 303 and _live_revision(fresh) == 3
    assert "customer_po" not in fresh.state.registry.get("sales_order").flow.fields
    assert client.get(f"{EDIT}?revision=99").status_code == 404
    assert client.get(f"{EDIT}?revision={10**30}").status_code == 404


def test_new_flow_from_an_uploaded_file(fresh: FastAPI) -> None:
    client, csrf = sign_in(fresh, "admin")
    starter = client.get("/admin/flows/new")
    assert starter.status_code == 200 and "flow: new_flow" in starter.text
    text = starter.text.split('hx-sync="this:replace">\n', 1)[1].split("</textarea>", 1)[0]
    upload = html.unescape(text).replace("new_flow", "it_request").encode()
    res = client.post("/admin/flows/new/upload", data={"csrf_token": csrf},
                      files={"file": ("it_request.yaml", upload, "application/yaml")})
    assert res.status_code == 200 and "Opened it_request.yaml." in res.text
    assert "New flow &#39;it_request&#39;" in res.text and "new flow: revision 1" in res.text
    done = client.post("/admin/flows/new/apply", data={
        "csrf_token": csrf, "yaml": upload.decode(), **{n: _hidden(res.text, n) for n in ("plan_hash", "base_revision",
                                                                                          "plan_sha")}},
        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin/flows/it_request?msg=applied"
    assert client.get("/admin/flows/it_request").status_code == 200
    again = client.post("/admin/flows/new/plan", data={"csrf_token": csrf, "yaml": upload.decode()})
    assert again.status_code == 422 and "a flow named &#39;it_request&#39; already exists" in again.text
    elsewhere = client.post(f"{EDIT}/plan", data={"csrf_token": csrf, "yaml": upload.decode()})
    assert elsewhere.status_code == 422 and "this file is for flow &#39;it_request&#39;" in elsewhere.text
    binary = client.post("/admin/flows/new/upload", data={"csrf_token": csrf},
                         files={"file": ("x.yaml", b"\xff\xfe\x00bad", "application/yaml")})
    assert binary.status_code == 422 and "The file is not UTF-8 text." in binary.text
    empty = client.post("/admin/flows/new/upload", data={"csrf_token": csrf})
    assert empty.status_code == 422 and "Choose a .yaml file first." in empty.text


def test_unknown_flows_and_actions_are_404(app: FastAPI) -> None:
    client, csrf = sign_in(app, "admin")
    assert client.get("/admin/flows/nope/edit").status_code == 404
    assert client.post("/admin/flows/nope/edit/plan", data={"csrf_token": csrf, "yaml": FLOW}).status_code == 404
    assert client.post(f"{EDIT}/explode", data={"csrf_token": csrf}).status_code == 404


def test_the_editor_in_chinese(app: FastAPI) -> None:
    client, csrf = sign_in(app, "admin", lang="zh-CN")
    page = client.get(EDIT).text
    assert "编辑流程：销售订单跟单" in page and "流程文件（YAML）" in page and "变更计划" in page
    res = client.post(f"{EDIT}/plan", data={"csrf_token": csrf, "yaml": WITH_FIELD}).text
    assert "字段与数据列" in res and ">安全<" in res and "应用第 2 版" in res
