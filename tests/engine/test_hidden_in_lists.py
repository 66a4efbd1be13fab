"""A field hidden in a state cannot be guessed from a list: filters, sorts and searches treat it as empty there.

Without this, `?salary.gte=5000` or `?sort=salary` or `?q=` over records in a state that hides the
field would tell its value through the count or the order. Runs on SQLite and PostgreSQL.
"""
from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from engine.records.listing import Filter, ListQuery, count_by_state, list_records
from engine.records.tab_counts import capped_counts
from tests.evolve.helpers import Evolving

FLOW = """\
flow: hires
title: Hires
roles: {clerk: Clerk}
record_title: "{{ name }} / {{ codename }}"
fields:
  name: {type: text, index: true}
  codename: {type: text, index: true}
  salary: {type: integer, index: true}
states:
  open: {owner: clerk, edit: [name, codename, salary]}
  sealed: {owner: clerk, hide: [salary, codename]}
  done: {final: true}
transitions:
  seal: {from: open, to: sealed, by: clerk}
  close: {from: sealed, to: done, by: clerk}
"""


@pytest.fixture
def hires(database_url: str) -> Iterator[Evolving]:
    w = Evolving(database_url, FLOW)
    yield w
    w.close()


def _ids(w: Evolving, **kw) -> list[int]:  # type: ignore[no-untyped-def]
    live = w.registry.get(w.name)
    page = list_records(w.db, w.records, live, w.actor, ListQuery(**kw))
    return [r.id for r in page.records]


@pytest.fixture
def people(hires: Evolving) -> dict[str, int]:
    out = {
        "open_low": hires.create({"name": "Ann", "codename": "falcon", "salary": 1000}).id,
        "open_high": hires.create({"name": "Bob", "codename": "heron", "salary": 9000}).id,
        "sealed_low": hires.create({"name": "Cid", "codename": "kestrel", "salary": 2000}, "seal").id,
        "sealed_high": hires.create({"name": "Dee", "codename": "osprey", "salary": 8000}, "seal").id,
        "done_high": hires.create({"name": "Eve", "codename": "harrier", "salary": 7000}, "seal", "close").id,
    }
    return out


def test_a_filter_does_not_match_values_hidden_in_the_records_state(hires: Evolving, people: dict[str, int]) -> None:
    got = _ids(hires, filters=(Filter("salary", "gte", "5000"),), sort="id")
    assert got == [people["open_high"], people["done_high"]]
    assert _ids(hires, filters=(Filter("salary", "eq", "8000"),)) == []
    assert _ids(hires, filters=(Filter("codename", "eq", "osprey"),)) == []
    assert _ids(hires, filters=(Filter("codename", "eq", "heron"),)) == [people["open_high"]]


def test_tab_counts_do_not_count_hidden_values(hires: Evolving, people: dict[str, int]) -> None:
    live = hires.registry.get(hires.name)
    query = ListQuery(filters=(Filter("salary", "gte", "5000"),))
    assert count_by_state(hires.db, live, hires.actor, query) == {"open": 1, "sealed": 0, "done": 1}
    assert capped_counts(hires.db, live, hires.actor, query) == {"open": 1, "sealed": 0, "done": 1}


def test_a_sort_puts_hidden_values_with_the_empty_ones_by_id(hires: Evolving, people: dict[str, int]) -> None:
    hidden_tail = [people["sealed_low"], people["sealed_high"]]
    assert _ids(hires, sort="salary") == [people["open_low"], people["done_high"], people["open_high"], *hidden_tail]
    assert _ids(hires, sort="-salary") == [people["open_high"], people["done_high"], people["open_low"], *hidden_tail[::-1]]
    # The same order page by page, and no cursor carries a hidden value.
    live = hires.registry.get(hires.name)
    seen, after, cursors = [], None, []
    while True:
        page = list_records(hires.db, hires.records, live, hires.actor, ListQuery(sort="salary", limit=2, after=after))
        seen += [r.id for r in page.records]
        if page.next_cursor is None:
            break
        cursors.append(page.next_cursor)
        after = page.next_cursor
    assert seen == _ids(hires, sort="salary")
    decoded = [base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)).decode() for c in cursors]
    assert not any("2000" in d or "8000" in d for d in decoded)


def test_a_search_does_not_look_in_hidden_fields(hires: Evolving, people: dict[str, int]) -> None:
    assert _ids(hires, search="osprey") == []
    assert _ids(hires, search="kestrel") == []
    assert _ids(hires, search="heron") == [people["open_high"]]
    assert _ids(hires, search="Dee") == [people["sealed_high"]]  # a shown field is still searched
    # "er" is in heron (open), kestrel (sealed: hidden) and harrier (done: shown again).
    assert set(_ids(hires, search="er")) == {people["open_high"], people["done_high"]}


def test_the_title_leaves_out_hidden_fields(hires: Evolving, people: dict[str, int]) -> None:
    assert hires.get(people["open_high"]).title == "Bob / heron"
    assert hires.get(people["sealed_high"]).title == "Dee /"
