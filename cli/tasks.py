"""`relayflow task ...`: the actions on a task from the command line — decide (approve / reject), hand over
(转交), add an approver (加签), return (回退), urge (催办) — through the same engine calls and the same checks as
the API (api/routers/approvals.py): the acting user must see the record (else "no such record"), the flow's
`allow:` must permit the action, and a reason goes on the record's history."""
from __future__ import annotations

import json
from typing import Any

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


@task.command("decide")
@click.argument("flow")
@click.argument("record_id", type=ID)
@click.argument("decision", type=click.Choice(["approve", "reject"]))
@_AS
@click.option("--comment", help="A comment (required to reject)")
@click.pass_context
def task_decide(ctx: click.Context, flow: str, record_id: int, decision: str, username: str, comment: str | None) -> None:
    """Approve or reject my approval task on a record."""
    records, actor = _acting(ctx, flow, record_id, username)
    d = _checked(lambda: decide(records, flow, record_id, actor, decision, comment))
    moved = f", the record moved to {d.moved_to}" if d.moved_to else ""
    tally = ", ".join(f"{k} {v}" for k, v in d.tally.items() if isinstance(v, int))
    click.echo(f"{d.decision}: record #{d.record_id} ({tally}){moved}")


@task.command("hand-over")
@click.argument("flow")
@click.argument("record_id", type=ID)
@click.option("--to", "to", required=True, help="User name of the person who takes the task")
@_AS
@_REASON
@click.pass_context
def task_hand_over(ctx: click.Context, flow: str, record_id: int, to: str, username: str, reason: str) -> None:
    """Hand my task over to someone else (转交)."""
    records, actor = _acting(ctx, flow, record_id, username)
    _print_done(_checked(lambda: hand_over(records, flow, record_id, actor, to, reason)))


@task.command("add-approver")
@click.argument("flow")
@click.argument("record_id", type=ID)
@click.option("--to", "to", required=True, help="User name of the added approver")
@click.option("--position", type=click.Choice(["before", "after"]), default="before", show_default=True,
              help="before: they decide first; after: they decide once I have")
@_AS
@_REASON
@click.pass_context
def task_add_approver(ctx: click.Context, flow: str, record_id: int, to: str, position: str, username: str,
                      reason: str) -> None:
    """Ask one more person to decide, before or after me (加签)."""
    records, actor = _acting(ctx, flow, record_id, username)
    _print_done(_checked(lambda: add_approver(records, flow, record_id, actor, to, position, reason)))


@task.command("return")
@click.argument("flow")
@click.argument("record_id", type=ID)
@click.option("--to", "to", required=True, help="A state the record has passed through")
@_AS
@_REASON
@click.pass_context
def task_return(ctx: click.Context, flow: str, record_id: int, to: str, username: str, reason: str) -> None:
    """Send the record back to a state it has passed through (回退)."""
    records, actor = _acting(ctx, flow, record_id, username)
    _print_done(_checked(lambda: return_record(records, flow, record_id, actor, to, reason)))


@task.command("urge")
@click.argument("flow")
@click.argument("record_id", type=ID)
@_AS
@click.option("--reason", help="A note for the people urged")
@click.pass_context
def task_urge(ctx: click.Context, flow: str, record_id: int, username: str, reason: str | None) -> None:
    """Remind the responsible people now (催办), at most once per the state's interval."""
    records, actor = _acting(ctx, flow, record_id, username)
    _print_done(_checked(lambda: urge(records, flow, record_id, actor, reason)))


@task.command("responsibility")
@click.argument("flow")
@click.argument("record_id", type=ID)
@_AS
@click.pass_context
def task_responsibility(ctx: click.Context, flow: str, record_id: int, username: str) -> None:
    """Each step of the record: who acted, who was responsible."""
    records, _ = _acting(ctx, flow, record_id, username)
    for step in _checked(lambda: responsibility(records, flow, record_id)):
        behalf = f" on behalf of #{step['on_behalf_of']}" if step.get("on_behalf_of") else ""
        click.echo(f"[{step['at']:%Y-%m-%d %H:%M}] {step['action']}: acted #{step['acted']} {step['acted_name'] or ''}"
                   f"{behalf}, responsible #{step['responsible']}")
