"""Text search on lists: a case-insensitive "contains" over the searchable fields, through the search index.

Runs on SQLite (FTS5 trigram table) and PostgreSQL (pg_trgm GIN indexes): the
records found must be exactly those a plain "contains" finds, for any input.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from engine.records.listing import ListQuery, list_records
from engine.records.records import Record
from engine.storage.search_index import fts_table_name, search_index_ready
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
    from engine.records.listing import Filter
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
    from engine.storage import search_index
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


def test_search_folds_case_beyond_ascii_on_sqlite(sqlite_url: str) -> None:
    # SQLite's own LIKE folds ASCII letters only: "ü" must still find "Ü", "ж" find "Ж".
    w = Evolving(sqlite_url, FLOW)
    try:
        recs = [w.create({"customer": c}) for c in ("Ünïcode GmbH", "ÄRGER Ökonomie", "ЖУРНАЛ Москва", "Éclair café",
                                                    "北京华为", "plain ascii")]
        for needle in ("ünïcode", "ÜNÏCODE", "ü", "ärger", "ökonomie", "öKo", "журнал", "москва", "ÉCLAIR CAFÉ",
                       "é", "华为", "ASCII", "Ü", "zz"):
            assert _search(w, needle) == _expected(recs, needle), repr(needle)
            assert _search(w, needle, limit=1) == _expected(recs, needle), repr(needle)
    finally:
        w.close()


def test_postgresql_without_the_right_to_create_pg_trgm_plans_no_index(postgres_url: str) -> None:
    # A user who may not CREATE EXTENSION: the plan must not want an index it cannot build (it would be
    # planned, "built" and reported again at every reload and server start); search still works, unindexed.
    from sqlalchemy.engine import make_url

    from engine.storage.db import make_engine
    role = f"rf_plain_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT ALL ON SCHEMA public TO "{role}"'))
    w = Evolving(make_url(postgres_url).set(username=role).render_as_string(hide_password=False), FLOW)
    try:
        rec = w.create({"customer": "Plain Role Ltd"})
        assert w.plan(FLOW).unchanged
        assert _search(w, "role lt") == [rec.id]
    finally:
        w.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


def test_the_index_survives_a_table_copied_by_batch_mode(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite before 3.35 drops a column by copying the table (Alembic batch mode): dropping the old table
    # drops the index's triggers too, even when the converted column is not searchable.
    from engine.evolve import schema_steps
    monkeypatch.setattr(schema_steps, "NATIVE_DROP_COLUMN", False)
    w = Evolving(sqlite_url, FLOW)
    try:
        old = w.create({"customer": "Before Copy Ltd", "qty": 3})
        converted = edit(FLOW, ("qty: {type: integer, index: true}", "qty: {type: decimal, index: true}"))
        w.apply(converted, w.plan(converted))
        assert w.plan(converted).unchanged
        new = w.create({"customer": "After Copy Ltd", "qty": "4.5"})
        assert _search(w, "copy ltd") == [new.id, old.id]
        w.records.edit("shop", old.id, w.actor, {"customer": "Renamed Later"}, expected_version=None)
        assert _search(w, "before copy") == [] and _search(w, "renamed later") == [old.id]
    finally:
        w.close()


def test_a_search_estimates_its_trigrams_once_for_the_list_its_counts_and_next_pages(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.records.tab_counts import capped_counts
    from engine.storage import search_index
    w = Evolving(sqlite_url, FLOW)
    try:
        recs = [w.create({"customer": f"Repeat Search {i}"}) for i in range(5)]
        estimates: list[str] = []
        real = search_index.choose_fts_terms

        def counting(conn: object, table_name: str, needle: str) -> object:
            estimates.append(needle)
            return real(conn, table_name, needle)  # type: ignore[arg-type]

        monkeypatch.setattr(search_index, "choose_fts_terms", counting)
        live = w.registry.get("shop")
        assert _search(w, "repeat search", limit=2) == [r.id for r in reversed(recs)]  # three pages
        assert capped_counts(w.db, live, w.actor, ListQuery(search="repeat search")) == {
            "draft": 5, "review": 0, "done": 0}
        assert estimates == ["repeat search"]
        # "no record holds this" is not remembered: the next write can make it false
        assert _search(w, "brand new name") == []
        fresh = w.create({"customer": "Brand New Name"})
        assert _search(w, "brand new name") == [fresh.id]
    finally:
        w.close()


def test_moving_searchable_fields_in_the_file_leaves_the_index_alone(database_url: str) -> None:
    w = Evolving(database_url, FLOW)
    try:
        rec = w.create({"customer": "Kept Index Co", "code": "M-1"})
        moved = edit(FLOW, ("  customer: {type: text, title: Customer, index: true, max_length: 200}\n"
                            "  code: {type: text, title: Code, index: true, max_length: 200}\n",
                            "  code: {type: text, title: Code, index: true, max_length: 200}\n"
                            "  customer: {type: text, title: Customer, index: true, max_length: 200}\n"))
        plan = w.plan(moved)
        assert not plan.steps and "search_index_built" not in kinds(plan), kinds(plan)
        w.apply(moved, plan)
        assert _search(w, "kept index") == [rec.id] and _search(w, "m-1") == [rec.id]
    finally:
        w.close()


def test_an_index_dropped_by_another_process_falls_back_to_the_exact_search(sqlite_url: str) -> None:
    # Another process applies a revision without searchable fields; this one still serves the old revision
    # (until its poller reads the new one) and believes the FTS table is there: no 500, the plain search.
    w = Evolving(sqlite_url, FLOW)
    try:
        rec = w.create({"customer": "Gone Index Ltd"})
        assert _search(w, "gone index") == [rec.id]  # the FTS table is known to exist
        with w.db.begin() as conn:  # what that other process's DropSearchIndex does, behind this one's back
            for trigger in ("_ai", "_ad", "_au"):
                conn.execute(text(f'DROP TRIGGER "flow_shop__search{trigger}"'))
            conn.execute(text('DROP TABLE "flow_shop__search"'))
        assert _search(w, "index ltd") == [rec.id]
        assert _search(w, "index ltd") == [rec.id]
    finally:
        w.close()
