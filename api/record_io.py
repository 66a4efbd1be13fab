"""Reading a record request and writing its answer: one version for the full routes
(api/routers/records.py) and the lean ones (api/hot_routes.py), so the two cannot drift apart.
"""
from __future__ import annotations

from typing import Any

from api.body import CreateBody, TransitionBody, expected_version, parse_body
from api.errors import ApiProblem
from api.idempotent import Outcome
from api.serialize import etag, record_json
from api.services import ApiServices
from engine.records.actor import Actor
from engine.records.records import Record
from engine.records.owned_fields import may_stand_in

IF_MATCH_LIMIT = 100


def checked_header(name: str, value: str | None, limit: int) -> str | None:
    """A header's value, refused (422) when longer than `limit`."""
    if value is not None and len(value) > limit:
        raise ApiProblem(422, "validation_failed", f"{name} is too long",
                         errors=[{"field": name, "pointer": name, "detail": f"at most {limit} characters"}])
    return value


def create_values(data: Any) -> dict[str, Any]:
    """The field values of a create's JSON body."""
    return parse_body(CreateBody, data).values


def transition_request(data: Any, if_match: str | None) -> tuple[int | None, dict[str, Any] | None, str | None]:
    """(expected version, values, comment) of a transition's JSON body and If-Match header."""
    body = parse_body(TransitionBody, data)
    version = expected_version(body.version, checked_header("If-Match", if_match, IF_MATCH_LIMIT))
    return version, body.values, body.comment


def record_answer(svc: ApiServices, flow_name: str, rec: Record, actor: Actor, status: int = 200) -> Outcome:
    """(status, JSON body, headers) of a record as `actor` may see it; 201 answers carry its Location."""
    flow = svc.registry.get(flow_name).flow
    # a delegate of the assignee gets the assignee's inputs; the look-up only when it can change the answer
    body = record_json(flow, rec, svc.access.acting_as(rec, actor) if may_stand_in(flow, rec.state, rec.assignee_id, actor) else actor)
    headers = {"ETag": etag(rec.version)}
    if status == 201:
        headers["Location"] = f"/api/flows/{flow_name}/records/{rec.id}"
    return status, body, headers
