"""One text, one spelling: "Café" typed precomposed (NFC) or decomposed (NFD) is the same value everywhere it is kept.

Runs on SQLite and PostgreSQL: unique fields, choices, searches, filters, user names, display
names, token names and comments.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from engine.people.sessions import check_password
from engine.people.tokens import create_token
from engine.people.users import create_user, load_actor, update_user, user_id
from engine.records.errors import ValidationFailed
from engine.records.listing import Filter, ListQuery, list_records
from engine.storage.schema import users
from tests.evolve.helpers import Evolving

NFC = unicodedata.normalize("NFC", "Café Zoë")
NFD = unicodedata.normalize("NFD", "Café Zoë")

FLOW = """\
flow: venues
title: Venues
roles: {clerk: Clerk}
fields:
  name: {type: text, unique: true, max_length: 8}
  kind: {type: choice, index: true, choices: {"Café": Coffee, bar: Bar}}
  note: {type: longtext}
states:
  open: {owner: clerk, edit: [name, kind, note]}
  done: {final: true}
transitions:
  close: {from: open, to: done, by: clerk}
"""


@pytest.fixture
def venues(database_url: str) -> Iterator[Evolving]:
    w = Evolving(database_url, FLOW)
    yield w
    w.close()


def test_the_two_forms_differ_as_code_points() -> None:
    assert NFC != NFD and len(NFD) == len(NFC) + 2


def test_a_unique_field_refuses_the_same_word_in_the_other_form(venues: Evolving) -> None:
    first = venues.create({"name": NFC})
    with pytest.raises(ValidationFailed) as info:
        venues.create({"name": NFD})
    assert info.value.field_errors == {"name": "this value is already used by another record"}
    assert venues.raw("name") == {first.id: NFC}


def test_the_decomposed_form_is_stored_composed_and_its_length_counts_what_people_see(venues: Evolving) -> None:
    rec = venues.create({"name": NFD})  # 10 code points in NFD, 8 characters: max_length 8 holds it
    assert venues.raw("name") == {rec.id: NFC}


def test_search_and_filter_find_either_form(venues: Evolving) -> None:
    rec = venues.create({"name": NFC, "kind": unicodedata.normalize("NFD", "Café")})
    live = venues.registry.get(venues.name)

    def ids(**kw):  # type: ignore[no-untyped-def]
        return [r.id for r in list_records(venues.db, venues.records, live, venues.actor, ListQuery(**kw)).records]

    assert venues.get(rec.id).values["kind"] == "Café"
    assert ids(search=unicodedata.normalize("NFD", "Zoë")) == [rec.id]
    assert ids(search="Zoë") == [rec.id]
    assert ids(filters=(Filter("kind", "eq", unicodedata.normalize("NFD", "Café")),)) == [rec.id]


def test_comments_are_kept_composed(venues: Evolving) -> None:
    rec = venues.create({"name": "x"})
    venues.records.transition(venues.name, rec.id, "close", venues.actor, expected_version=None, comment=NFD)
    assert [h["comment"] for h in venues.records.history(venues.name, rec.id) if h["comment"]] == [NFC]


def test_user_names_are_one_user_in_either_form(venues: Evolving) -> None:
    nfc_name, nfd_name = unicodedata.normalize("NFC", "josé"), unicodedata.normalize("NFD", "josé")
    uid = create_user(venues.db, nfd_name, display_name=NFD, password="correct horse battery")
    with pytest.raises(ValidationFailed) as info:
        create_user(venues.db, nfc_name)
    assert "already exists" in info.value.field_errors["username"]
    with venues.db.connect() as conn:
        assert conn.execute(select(users.c.username, users.c.display_name).where(users.c.id == uid)).one() == (nfc_name, NFC)
    assert user_id(venues.db, nfc_name) == uid == user_id(venues.db, nfd_name)
    assert load_actor(venues.db, username=nfd_name).id == uid
    assert check_password(venues.db, nfc_name, "correct horse battery") == uid
    update_user(venues.db, nfc_name, display_name=unicodedata.normalize("NFD", "Zoë"))
    assert load_actor(venues.db, uid=uid).display_name == unicodedata.normalize("NFC", "Zoë")
    token = create_token(venues.db, uid, NFD)
    with venues.db.connect() as conn:
        assert conn.execute(text("SELECT name FROM api_tokens WHERE id = :i"), {"i": token.info.id}).scalar() == NFC
