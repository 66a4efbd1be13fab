"""The `relayflow` console command: the engine's commands plus `serve` (which needs the web stack)."""
from __future__ import annotations

import os

import click

from cli.commands import _db, main

__all__ = ["main"]


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--flows", "flows_dir", type=click.Path(file_okay=False), help="Folder of flow files (default: flows/)")
@click.option("--demo", is_flag=True, help="Create the demo users and print their sign-ins")
@click.option("--reload-flows", is_flag=True, help="Development mode: apply flow files as they change on disk")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, flows_dir: str | None, demo: bool, reload_flows: bool) -> None:
    """Run the web server (the flows of flows/ on the configured database)."""
    import uvicorn

    if reload_flows:
        os.environ["RELAYFLOW_RELOAD_FLOWS"] = "1"

    database = _db(ctx)
    if flows_dir:
        os.environ["RELAYFLOW_FLOWS_DIR"] = flows_dir
    os.environ["RELAYFLOW_DATABASE_URL"] = ctx.obj["database_url"]
    if demo:
        from examples.seed import seed_demo

        click.echo("Demo users (username / password / roles):")
        for username, password, roles in seed_demo(database):
            click.echo(f"  {username:<14} {password:<8} {', '.join(roles)}")
    click.echo(f"Relayflow on http://{host}:{port}/")
    uvicorn.run("ui.app:create_app", factory=True, host=host, port=port)
