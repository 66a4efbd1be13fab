"""`relayflow task ...`: the actions on a task from the command line — decide (approve / reject), hand over
(转交), add an approver (加签), return (回退), urge (催办) — through the same engine calls and the same checks as
the API (api/routers/approvals.py): the acting user must see the record (else "no such record"), the flow's
`allow:` must permit the action, and a reason goes on the record's history."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cli.commands import ID, _access, _db, main
from cli.org import _checked
from engine.records.approvals import decide
from engine.records.errors import NotFound
from engine.records.task_actions import Done, add_approver, hand_over, responsibility, return_record, urge


@main.group()
def task() -> None:
    """Act on a task: decide, hand-over, add-approver, return, urge (as a named user)."""


def _acting(ctx: click.Context, flow: str, record_id: int, username: str) -> tuple[Any, Any]:
    """(records, actor), once the actor is known to see the record (the API's 404 rule)."""
    from engine.people.users import load_actor

    database = _db(ctx)
    access = _access(ctx, database)

    def check() -> Any:
        actor = load_actor(database, username=username)
        if not access.may_see(flow, record_id, actor):
            raise NotFound(f"no {flow} record {record_id}")
        return actor

    return access.records, _checked(check)


def _print_done(d: Done) -> None:
    detail = json.dumps(d.detail, ensure_ascii=False, default=str) if d.detail else ""
    click.echo(f"{d.action}: record #{d.record_id} in {d.state}, version {d.version} {detail}".rstrip())


_AS = click.option("--as", "username", required=True, help="The acting user")
_REASON = click.option("--reason", required=True, help="Why (kept on the record's history)")
_F = TypeVar("_F", bound=Callable[..., Any])


def _on_record(name: str, *params: Callable[[_F], _F]) -> Callable[[_F], click.Command]:
    """`relayflow task NAME FLOW RECORD_ID [params] --as USER`: the shape every task command shares; the
    function gets the click context, flow, record id, then `params` and the user name, as keywords."""
    def wrap(f: _F) -> click.Command:
        for param in reversed((click.argument("flow"), click.argument("record_id", type=ID), *params, _AS)):
            f = param(f)
        return task.command(name)(click.pass_context(f))
    return wrap


def _act(ctx: click.Context, flow: str, record_id: int, username: str, action: Callable[[Any, Any], Done]) -> None:
    """Run one task action as `username` and print what it did (or the refusal, exit 1)."""
    records, actor = _acting(ctx, flow, record_id, username)
    _print_done(_checked(lambda: action(records, actor)))


@_on_record("decide", click.argument("decision", type=click.Choice(["approve", "reject"])),
            click.option("--comment", help="A comment (required to reject)"))
def task_decide(ctx: click.Context, flow: str, record_id: int, decision: str, username: str, comment: str | None) -> None:
    """Approve or reject my approval task on a record."""
    records, actor = _acting(ctx, flow, record_id, username)
    d = _checked(lambda: decide(records, flow, record_id, actor, decision, comment))
    moved = f", the record moved to {d.moved_to}" if d.moved_to else ""
    tally = ", ".join(f"{k} {v}" for k, v in d.tally.items() if isinstance(v, int))
    click.echo(f"{d.decision}: record #{d.record_id} ({tally}){moved}")


@_on_record("hand-over", click.option("--to", "to", required=True, help="User name of the person who takes the task"),
            _REASON)
def task_hand_over(ctx: click.Context, flow: str, record_id: int, to: str, username: str, reason: str) -> None:
    """Hand my task over to someone else (转交)."""
    _act(ctx, flow, record_id, username, lambda records, actor: hand_over(records, flow, record_id, actor, to, reason))


@_on_record("add-approver", click.option("--to", "to", required=True, help="User name of the added approver"),
            click.option("--position", type=click.Choice(["before", "after"]), default="before", show_default=True,
                         help="before: they decide first; after: they decide once I have"),
            _REASON)
def task_add_approver(ctx: click.Context, flow: str, record_id: int, to: str, position: str, username: str,
                      reason: str) -> None:
    """Ask one more person to decide, before or after me (加签)."""
    _act(ctx, flow, record_id, username,
         lambda records, actor: add_approver(records, flow, record_id, actor, to, position, reason))


@_on_record("return", click.option("--to", "to", required=True, help="A state the record has passed through"), _REASON)
def task_return(ctx: click.Context, flow: str, record_id: int, to: str, username: str, reason: str) -> None:
    """Send the record back to a state it has passed through (回退)."""
    _act(ctx, flow, record_id, username, lambda records, actor: return_record(records, flow, record_id, actor, to, reason))


@_on_record("urge", click.option("--reason", help="A note for the people urged"))
def task_urge(ctx: click.Context, flow: str, record_id: int, username: str, reason: str | None) -> None:
    """Remind the responsible people now (催办), at most once per the state's interval."""
    _act(ctx, flow, record_id, username, lambda records, actor: urge(records, flow, record_id, actor, reason))


@_on_record("responsibility")
def task_responsibility(ctx: click.Context, flow: str, record_id: int, username: str) -> None:
    """Each step of the record: who acted, who was responsible."""
    records, _ = _acting(ctx, flow, record_id, username)
    for step in _checked(lambda: responsibility(records, flow, record_id)):
        behalf = f" on behalf of #{step['on_behalf_of']}" if step.get("on_behalf_of") else ""
        click.echo(f"[{step['at']:%Y-%m-%d %H:%M}] {step['action']}: acted #{step['acted']} {step['acted_name'] or ''}"
                   f"{behalf}, responsible #{step['responsible']}")
