"""Tokens from the command line; sessions and idempotency keys in the engine (expiry, idle, purge)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from cli.commands import main
from engine.people.sessions import create_session, end_user_sessions, get_session, login, purge_expired
from engine.people.tokens import authenticate
from engine.people.users import create_user
from engine.records.errors import Unauthenticated
from engine.records.idempotency import IdempotencyKeyInUse, IdempotencyKeyReused, IdempotencyStore
from engine.storage.db import make_engine
from engine.storage.migrate import upgrade_database

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def test_token_commands(sqlite_url: str) -> None:
    db = make_engine(sqlite_url)
    upgrade_database(db)
    create_user(db, "bob", roles=["sales"])
    runner = CliRunner()
    made = runner.invoke(main, ["--db", sqlite_url, "token", "create", "bob", "--expires", "30d", "--name", "erp"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert authenticate(db, secret).actor.username == "bob"
    listed = runner.invoke(main, ["--db", sqlite_url, "token", "list", "bob"])
    assert "erp" in listed.output and "active" in listed.output and secret not in listed.output
    assert runner.invoke(main, ["--db", sqlite_url, "token", "revoke", "1"]).exit_code == 0
    with pytest.raises(Unauthenticated):
        authenticate(db, secret)
    assert runner.invoke(main, ["--db", sqlite_url, "token", "create", "ghost"]).exit_code == 1
    assert runner.invoke(main, ["--db", sqlite_url, "token", "create", "bob", "--expires", "soon"]).exit_code == 1
    db.dispose()


def test_sessions_expire_idle_and_end(sqlite_url: str) -> None:
    db = make_engine(sqlite_url)
    upgrade_database(db)
    uid = create_user(db, "ann", password="secret password")
    new = login(db, "ann", "secret password", now=T0)
    assert new.actor.username == "ann" and len(new.session.csrf_token) >= 32
    with pytest.raises(Unauthenticated):
        login(db, "ann", "wrong")
    with pytest.raises(Unauthenticated):
        login(db, "nobody", "secret password")
    assert get_session(db, new.secret, now=T0 + timedelta(hours=1)).user_id == uid
    with pytest.raises(Unauthenticated):  # idle for more than two hours after the last use
        get_session(db, new.secret, now=T0 + timedelta(hours=3, minutes=1))
    secret, _ = create_session(db, uid, now=T0)
    for hour in range(1, 12):  # in steady use, but not past the absolute lifetime
        get_session(db, secret, now=T0 + timedelta(hours=hour))
    with pytest.raises(Unauthenticated):
        get_session(db, secret, now=T0 + timedelta(hours=12, minutes=30))
    a, _ = create_session(db, uid)
    b, _ = create_session(db, uid)
    assert end_user_sessions(db, uid) == 2
    with pytest.raises(Unauthenticated):
        get_session(db, a)
    create_session(db, uid, now=T0)
    assert purge_expired(db, now=T0 + timedelta(days=1)) == 1
    db.dispose()


def test_idempotency_store(sqlite_url: str) -> None:
    db = make_engine(sqlite_url)
    upgrade_database(db)
    uid = create_user(db, "ann")
    store = IdempotencyStore(db)
    assert store.begin(uid, "k1", "hash-a", now=T0) is None
    with pytest.raises(IdempotencyKeyInUse):
        store.begin(uid, "k1", "hash-a", now=T0 + timedelta(seconds=5))
    with pytest.raises(IdempotencyKeyReused):
        store.begin(uid, "k1", "hash-b", now=T0 + timedelta(seconds=5))
    store.complete(uid, "k1", 201, {"id": 7}, {"ETag": '"1"'})
    replay = store.begin(uid, "k1", "hash-a", now=T0 + timedelta(minutes=1))
    assert replay is not None and replay.status_code == 201 and replay.body == {"id": 7}
    # a reservation abandoned by a crashed server is taken over after the lock timeout
    assert store.begin(uid, "k2", "hash-a", now=T0) is None
    assert store.begin(uid, "k2", "hash-a", now=T0 + timedelta(minutes=2)) is None
    # and keys expire
    assert store.begin(uid, "k1", "hash-b", now=T0 + timedelta(days=2)) is None
    assert store.purge_expired(now=T0 + timedelta(days=5)) == 2
    db.dispose()
