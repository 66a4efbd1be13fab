"""Text search on lists: a case-insensitive "contains" over the searchable fields, through the search index.

Runs on SQLite (FTS5 trigram table) and PostgreSQL (pg_trgm GIN indexes): the
records found must be exactly those a plain "contains" finds, for any input.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from engine.listing import ListQuery, list_records
from engine.records import Record
from engine.search_index import fts_table_name, search_index_ready
from tests.evolve.helpers import Evolving, change, edit, kinds

FLOW = """\
flow: shop
title: Shop orders
roles: {clerk: Clerk}
fields:
  customer: {type: text, title: Customer, index: true, max_length: 200}
  code: {type: text, title: Code, index: true, max_length: 200}
  email: {type: email, title: E-mail}
  note: {type: longtext}
  qty: {type: integer, index: true}
states:
  draft: {owner: clerk, edit: [customer, code, email, note, qty]}
  review: {owner: clerk}
  done: {final: true}
transitions:
  submit: {from: draft, to: review, by: clerk}
  close: {from: review, to: done, by: clerk}
"""

CUSTOMERS = [
    "Acme Trading", "ACME steel", "acme", "北京华为技术有限公司", "上海华为", "100% pure_x", 'quote "q" co',
    "a-b OR c", "NEAR stuff*", "O'Brien & Sons", "Ünïcode Gmbh", "tab\there", "Customer 0042", "Customer 1042",
]
NEEDLES = [
    "acme", "ACME", "Acme Tr", "华为", "华为技术", "技术有限公司", "100%", "_x", "%", "_", '"q"', '"', 'quote "q',
    "OR", "a-b OR c", "NEAR", "NEAR(a b)", "stuff*", "*", "-", "-b", "^acme", "acme:", "{customer}: acme",
    "' OR 1=1 --", "O'Brien", "nïCODE", "Ünï", "\\", "Customer 0042", "ustomer 0", "0042", "x" * 100, "e", "nothing-here",
    "\x00", "acme\x00", "\t", "AND", "NOT acme", "acme*", "(acme)",
]


@pytest.fixture
def shop(database_url: str) -> Iterator[Evolving]:
    w = Evolving(database_url, FLOW)
    yield w
    w.close()


def _expected(records: list[Record], needle: str, fields: tuple[str, ...] = ("customer", "code")) -> list[int]:
    if "\x00" in needle:
        return []
    low = needle.lower()
    return sorted((r.id for r in records if any(low in str(r.values.get(f) or "").lower() for f in fields)),
                  reverse=True)


def _search(w: Evolving, needle: str, **query: object) -> list[int]:
    live = w.registry.get(w.name)
    ids: list[int] = []
    after = None
    while True:
        page = list_records(w.db, w.records, live, w.actor, ListQuery(search=needle, after=after, **query))  # type: ignore[arg-type]
        ids += [r.id for r in page.records]
        after = page.next_cursor
        if after is None:
            return ids


def test_search_finds_exactly_what_contains_finds_for_any_input(shop: Evolving) -> None:
    recs = [shop.create({"customer": c, "code": f"C-{i:03d}", "note": "acme in a long text is not searched"})
            for i, c in enumerate(CUSTOMERS)]
    recs.append(shop.create({"code": "only-a-code ACME-9"}))
    if shop.db.dialect.name == "sqlite":
        assert search_index_ready(shop.db, "flow_shop", shop.registry.get("shop").revision)
    for needle in NEEDLES:
        assert _search(shop, needle, limit=3) == _expected(recs, needle.strip()), repr(needle)


def test_search_combines_with_states_filters_sorting_and_pages(shop: Evolving) -> None:
    recs = []
    for i in range(23):
        moves = ("submit",) if i % 3 else ()
        recs.append(shop.create({"customer": f"Widget Works {i:02d}", "code": f"W{i % 4}", "qty": i}, *moves))
    for i in range(5):
        shop.create({"customer": f"Gadget {i}", "code": "W1", "qty": i}, "submit")
    recs = [shop.get(r.id) for r in recs]
    got = _search(shop, "widget work", states=("review",), sort="-customer", limit=4)
    assert got == [r.id for r in sorted(recs, key=lambda r: r.values["customer"], reverse=True) if r.state == "review"]
    from engine.listing import Filter
    got = _search(shop, "WORKS", filters=(Filter("qty", "gte", "10"),), sort="qty", limit=5)
    assert got == [r.id for r in recs if r.values["qty"] >= 10]
    got = _search(shop, "ks 1", filters=(Filter("code", "eq", "W1"),), limit=2)
    assert got == sorted((r.id for r in recs if r.values["code"] == "W1" and "ks 1" in r.values["customer"]),
                         reverse=True)


def test_the_index_follows_every_write(shop: Evolving) -> None:
    rec = shop.create({"customer": "Old Name Ltd", "code": "K-1"})
    with shop.db.begin() as conn:  # any writer, not only the engine
        conn.execute(text("UPDATE flow_shop SET customer = 'New Name Ltd' WHERE id = :id"), {"id": rec.id})
    assert _search(shop, "old name") == [] and _search(shop, "new name") == [rec.id]
    shop.records.edit("shop", rec.id, shop.actor, {"customer": "Third Name Ltd"}, expected_version=None)
    assert _search(shop, "new name") == [] and _search(shop, "third name") == [rec.id]
    with shop.db.begin() as conn:
        conn.execute(text("DELETE FROM flow_shop WHERE id = :id"), {"id": rec.id})
    assert _search(shop, "third name") == []


def test_the_plan_builds_rebuilds_and_drops_the_index(shop: Evolving) -> None:
    a = shop.create({"customer": "Alpha Corp", "code": "Z-100", "email": "boss@alpha.example"})
    assert shop.plan(FLOW).unchanged  # the index built with the table is what the flow needs
    # email becomes searchable: the index is rebuilt over the existing records
    with_email = edit(FLOW, ("email: {type: email, title: E-mail}", "email: {type: email, title: E-mail, index: true}"))
    plan = shop.plan(with_email)
    assert "search_index_built" in kinds(plan) and "rebuilt" in change(plan, "search_index_built").text
    assert plan.safe
    shop.apply(with_email, plan)
    assert _search(shop, "BOSS@alpha") == [a.id]
    # a searchable field renamed: still found, and new writes are indexed under the new name
    renamed = edit(with_email, ("  customer: {type: text, title: Customer, index: true, max_length: 200}",
                                "  client: {type: text, title: Client, index: true, max_length: 200, "
                                "renamed_from: customer}"), ("edit: [customer,", "edit: [client,"))
    plan = shop.plan(renamed)
    assert "search_index_built" in kinds(plan)
    shop.apply(renamed, plan)
    assert _search(shop, "alpha corp") == [a.id]
    b = shop.create({"client": "Beta Corp"})
    assert _search(shop, "beta") == [b.id] and _search(shop, "corp") == [b.id, a.id]
    # no searchable field left: the index goes, and nothing is searched
    plain = renamed.replace(", index: true", "")
    plan = shop.plan(plain)
    assert "search_index_dropped" in kinds(plan)
    shop.apply(plain, plan)
    assert shop.plan(plain).unchanged
    if shop.db.dialect.name == "sqlite":
        with shop.db.connect() as conn:
            left = conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE :p"),
                                {"p": fts_table_name("flow_shop") + "%"}).all()
        assert left == []
    assert len(_search(shop, "corp")) == 2  # no searchable field: the search does not filter


def test_a_database_made_before_the_index_gets_it_from_the_plan(shop: Evolving) -> None:
    rec = shop.create({"customer": "Legacy Co", "code": "L-1"})
    from engine import search_index
    with shop.db.begin() as conn:
        search_index.drop(conn, "flow_shop")
    plan = shop.plan(FLOW)
    assert not plan.unchanged and plan.safe and "search_index_built" in kinds(plan)
    shop.apply(FLOW, plan)
    assert shop.plan(FLOW).unchanged
    assert _search(shop, "legacy") == [rec.id]


def test_postgresql_serves_the_search_from_the_trigram_indexes(postgres_url: str) -> None:
    w = Evolving(postgres_url, FLOW)
    try:
        w.create({"customer": "北京华为技术有限公司"})
        with w.db.connect() as conn:
            conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(r[0] for r in conn.execute(text(
                "EXPLAIN SELECT id FROM flow_shop WHERE customer ILIKE '%华为技术%' OR code ILIKE '%华为技术%'")))
        assert "trgm_flow_shop_customer" in plan and "trgm_flow_shop_code" in plan, plan
        assert _search(w, "华为技术") == [1]
    finally:
        w.close()
