"""Demo users for the example flows (examples/demo/users.yaml).

    python -m examples.seed sqlite:///relayflow.db

creates the engine's tables if needed, then every demo user that does not
exist yet, and prints the log-ins. Running it again changes nothing.
"""
from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import Engine

from engine.records.errors import NotFound
from engine.people.users import create_user, user_id
from engine.language.yaml_safe import load_yaml

DEMO_USERS = Path(__file__).parent / "demo" / "users.yaml"


def demo_users() -> list[dict]:
    """The entries of demo_users.yaml (read with the flow files' YAML 1.2 rules)."""
    data, _ = load_yaml(DEMO_USERS.read_bytes())
    return list(data["users"])


def seed_demo(db: Engine) -> list[tuple[str, str, list[str]]]:
    """Create the missing demo users; return (username, password, roles) of every demo user."""
    out = []
    for u in demo_users():
        roles = list(u.get("roles") or [])
        try:
            user_id(db, u["username"])
        except NotFound:
            create_user(db, u["username"], display_name=u.get("display_name"), password=u["password"],
                        is_admin=bool(u.get("is_admin", False)), roles=roles)
        out.append((u["username"], u["password"], roles))
    return out


def main(argv: list[str] | None = None) -> int:
    from engine.storage.db import make_engine
    from engine.storage.migrate import upgrade_database

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m examples.seed DATABASE_URL   (e.g. sqlite:///relayflow.db)", file=sys.stderr)
        return 2
    db = make_engine(args[0])
    upgrade_database(db)
    for username, password, roles in seed_demo(db):
        print(f"{username:<16} {password:<6} {', '.join(roles) or '(administrator)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
