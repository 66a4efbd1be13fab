"""`relayflow files sweep`: delete uploads never attached to a record (engine/files/cleanup.py; the
worker does it by itself at most once an hour)."""
from __future__ import annotations

from datetime import timedelta

import click

from cli.commands import _db, main


@main.group()
def files() -> None:
    """Attached files."""


@files.command("sweep")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Delete uploads unattached for longer than this (default: RELAYFLOW_UNATTACHED_UPLOAD_HOURS, 24)")
@click.pass_context
def files_sweep(ctx: click.Context, hours: float | None) -> None:
    """Delete uploads never attached to a record, and their content once nothing uses it."""
    from engine.files.cleanup import sweep_unattached
    from engine.files.store import build_store

    settings = ctx.obj["settings"]
    db = _db(ctx)
    try:
        result = sweep_unattached(db, build_store(settings, db),
                                  keep_for=timedelta(hours=hours if hours is not None else settings.unattached_upload_hours))
    finally:
        db.dispose()
    click.echo(f"deleted {result.uploads} unattached uploads and {result.contents} stored contents")
