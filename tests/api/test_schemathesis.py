"""schemathesis against /openapi.json of an app serving the example flows, with a signed-in token.

Every operation of the document (the per-flow typed ones included) is called
with generated requests; no answer may be a 5xx, and every answer must have a
documented status, content type, headers and a body matching its schema.
The number of examples per operation is bounded so that the run stays around
a minute (RELAYFLOW_SCHEMATHESIS_EXAMPLES raises it for a longer hunt).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update  # noqa: E402

EXAMPLES = int(os.environ.get("RELAYFLOW_SCHEMATHESIS_EXAMPLES", "12"))
EXAMPLE_FLOWS = Path(__file__).resolve().parents[2] / "examples"
TOKEN_ID = 1_234_567  # far from the small ids generated requests try, so they do not revoke it
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


class Target:
    def __init__(self, app, token: str) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.token = token


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    from api.app import create_app
    from engine.people.tokens import create_token
    from engine.people.users import create_user
    from engine.settings import Settings
    from engine.storage.schema import api_tokens

    root = tmp_path_factory.mktemp("schemathesis")
    flows = root / "flows"
    flows.mkdir()
    for path in EXAMPLE_FLOWS.glob("*.yaml"):
        shutil.copy(path, flows / path.name)
    app = create_app(Settings(database_url=f"sqlite:///{root / 'st.db'}", flows_dir=flows))
    db = app.state.db
    roles = sorted({r for live in app.state.registry.all() for r in live.flow.roles_of_flow})
    assert len(app.state.registry.all()) == 3
    uid = create_user(db, "fuzzer", display_name="Fuzzer", roles=roles, is_admin=True)
    made = create_token(db, uid, "schemathesis")
    with db.begin() as conn:
        conn.execute(update(api_tokens).where(api_tokens.c.id == made.info.id).values(id=TOKEN_ID))
    yield Target(app, made.secret)
    db.dispose()


@pytest.fixture(scope="module")
def api_schema(target: Target):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_asgi("/openapi.json", target.app, headers={"Authorization": f"Bearer {target.token}"})


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, target: Target) -> None:  # type: ignore[no-untyped-def]
    if case.path == "/api/session" and case.method == "DELETE":
        return  # would only sign the token's user out of nothing; covered in test_auth
    if (case.path_parameters or {}).get("username") == "fuzzer":
        return  # generated requests may reuse names from earlier answers: do not lock ourselves out
    case.call_and_validate(headers={"Authorization": f"Bearer {target.token}"}, checks=CHECKS)
