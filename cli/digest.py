"""`relayflow digest`: queue the daily digest e-mails and send them (registered by cli/commands.py)."""
from __future__ import annotations

import click

from cli.commands import _db, _registry, main


@main.command("digest")
@click.option("--now", "at_once", is_flag=True,
              help="Today's digest at once, whatever RELAYFLOW_DIGEST_AT says (still once per person and day)")
@click.option("--flow", "flows", multiple=True, help="Only this flow (repeatable; default: every flow)")
@click.option("--no-send", is_flag=True, help="Queue the digests in the outbox and leave the sending to a worker")
@click.pass_context
def digest(ctx: click.Context, at_once: bool, flows: tuple[str, ...], no_send: bool) -> None:
    """E-mail each person a flow's dashboards name what is late and what falls due today."""
    from datetime import datetime, time, timezone

    from engine.delivery.digest import enqueue_digests
    from engine.delivery.worker import CycleResult, Worker
    from engine.records.records import Records

    database = _db(ctx)
    reg = _registry(ctx, database)
    unknown = [f for f in flows if f not in reg.names()] if flows else []
    if unknown:
        raise click.UsageError(f"no flow named {', '.join(unknown)}")
    setting = ctx.obj["settings"].digest_at
    if not at_once and not setting:
        raise click.UsageError("RELAYFLOW_DIGEST_AT is not set: give --now to send today's digest at once")
    at = None if at_once else time.fromisoformat(setting)
    now = datetime.now(timezone.utc)
    queued = enqueue_digests(database, reg, Records(database, reg), now, at=at, flows=list(flows) or None)
    click.echo(f"queued {queued} digest(s)")
    if no_send:
        return
    w = Worker(database, reg, digest_at="")
    result = CycleResult()
    while w.deliver_batch(now=now, into=result) == w.batch:
        pass
    click.echo(f"sent {result.sent}, retry {result.retried}, dead {result.dead}")
