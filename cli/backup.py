"""`relayflow backup FILE` and `relayflow restore FILE`: the whole database to a file and back
(engine/storage/backup.py; registered by cli/commands.py)."""
from __future__ import annotations

import sys

import click

from cli.commands import main


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def backup_cmd(ctx: click.Context, file: str) -> None:
    """Write a backup of the database to FILE (SQLite: online backup; PostgreSQL: pg_dump)."""
    from engine.storage.backup import BackupError, backup_database

    try:
        info = backup_database(ctx.obj["database_url"], file)
    except BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"backup written: {info.path} ({info.size:,} bytes, {info.kind})")


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask: replace the database's contents")
@click.pass_context
def restore_cmd(ctx: click.Context, file: str, yes: bool) -> None:
    """Replace the database's contents with the backup FILE (stop servers and workers first)."""
    from engine.storage.backup import BackupError, restore_database

    if not yes and not click.confirm("This replaces every record, flow and user in the database. Go on?"):
        sys.exit(1)
    try:
        restore_database(ctx.obj["database_url"], file)
    except BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"restored from {file}")
