"""The list's search box: any input ends in a page (results or a clear message), found text shown escaped."""
from __future__ import annotations

from fastapi import FastAPI

from tests.ui.live import new_order, sign_in

ODD_SEARCHES = ['"', '""', '"acme', "*", "acme*", "NEAR(a b)", "a OR b", "NOT x", "-x", "- -", "^x", "x:y",
                "{customer}: x", "(", "' OR 1=1 --", "%", "_", "\\", "\x00", "ab\x00cd", "\t", "   ", "é", "华",
                "<script>alert(1)</script>"]


def test_odd_search_input_never_fails(app: FastAPI) -> None:
    new_order(app, customer='Odd "Quote" <b>Bold</b> Ltd')
    client, _ = sign_in(app, "sales1")
    for q in ODD_SEARCHES:
        res = client.get("/lists/sales_order", params={"q": q})
        assert res.status_code == 200 and "<html" in res.text, repr(q)
    found = client.get("/lists/sales_order", params={"q": '"quote" <b>'})
    assert found.status_code == 200 and "Odd &#34;Quote&#34; &lt;b&gt;Bold&lt;/b&gt; Ltd" in found.text
    for q in ("x" * 101, "NEAR " * 2000):
        res = client.get("/lists/sales_order", params={"q": q})
        assert res.status_code == 422 and "at most 100 characters" in res.text


def test_chinese_search_in_both_lengths(app: FastAPI) -> None:
    new_order(app, customer="深圳华强电子有限公司")
    new_order(app, customer="华北重工")
    client, _ = sign_in(app, "sales1", lang="zh-CN")
    long_hit = client.get("/lists/sales_order", params={"q": "华强电子"}).text
    assert "深圳华强电子有限公司" in long_hit and "华北重工" not in long_hit
    short_hit = client.get("/lists/sales_order", params={"q": "华"}).text  # shorter than a trigram
    assert "深圳华强电子有限公司" in short_hit and "华北重工" in short_hit
