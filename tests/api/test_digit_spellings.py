"""Ids, page sizes and versions in URLs and forms are written with 0-9: other spellings do not name a record."""
from __future__ import annotations

import pytest

from tests.api.conftest import Api


@pytest.mark.parametrize("spelling", ["{id}.0", "0_{id}", "{arabic}", " {id}", "+{id}"])
def test_a_record_id_in_another_spelling_is_not_that_record(api: Api, spelling: str) -> None:
    rec = api.create()
    rid = rec["id"]
    arabic = "".join(chr(0x0660 + int(d)) for d in str(rec["id"]))
    url = "/api/flows/sales_order/records/" + spelling.format(id=rid, arabic=arabic)
    assert api.get("sally", f"/api/flows/sales_order/records/{rec['id']}").status_code == 200
    r = api.get("sally", url)
    assert r.status_code in (404, 422), (url, r.status_code, r.text)


@pytest.mark.parametrize("param", ["limit", "assignee", "created_by"])
@pytest.mark.parametrize("value", ["١٢", "１２", "1_0"])
def test_list_numbers_in_other_scripts_are_refused(api: Api, param: str, value: str) -> None:
    r = api.get("sally", f"/api/flows/sales_order/records?{param}={value}")
    assert r.status_code == 422, r.text
