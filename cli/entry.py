"""The `relayflow` console command: the engine's commands plus `serve` (which needs the web stack)."""
from __future__ import annotations

import os

from typing import Any

import click

from cli.commands import _db, main

__all__ = ["main"]


def _demo_records(ctx: click.Context, database: Any, settings: Any, flows_dir: str | None) -> None:
    """The order desk's demo customers, products and orders (examples/demo_data.py), once."""
    from cli.commands import _registry
    from engine.files.store import build_store
    from examples.demo_data import seed_order_desk

    registry = _registry(ctx, database, flows_dir)
    made = seed_order_desk(database, registry, build_store(settings, database))
    if made is not None:
        click.echo(f"Demo data: {made.customers} customers, {made.products} products, "
                   f"{made.orders} orders over every stage (some late)")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--flows", "flows_dir", type=click.Path(file_okay=False), help="Folder of flow files (default: flows/)")
@click.option("--demo", is_flag=True, help="Create the demo users and print their sign-ins")
@click.option("--reload-flows", is_flag=True, help="Development mode: apply flow files as they change on disk")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes on this machine (see docs/deployment.md)")
@click.option("--http", "http_impl", default="httptools", show_default=True, type=click.Choice(["httptools", "h11"]),
              help="HTTP parser")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, flows_dir: str | None, demo: bool, reload_flows: bool,
          workers: int, http_impl: str) -> None:
    """Run the web server (the flows of flows/ on the configured database)."""
    import uvicorn

    from cli.serving import MULTIPROC_ENV, prepare_metrics_dir, remove_metrics_dir, uvicorn_options

    if reload_flows and workers > 1:
        raise click.UsageError("--reload-flows watches files in one process: use it with --workers 1")

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
            click.echo(f"  {username:<16} {password:<8} {', '.join(roles)}")
    settings = ctx.obj["settings"]
    if demo:
        _demo_records(ctx, database, settings, flows_dir)
    made_here = MULTIPROC_ENV not in os.environ
    metrics_dir = prepare_metrics_dir(workers)
    click.echo(f"Relayflow on http://{host}:{port}/" + (f" ({workers} workers)" if workers > 1 else ""))
    try:
        uvicorn.run("ui.app:served_app", factory=True, host=host, port=port,
                    **uvicorn_options(settings, workers=workers, http=http_impl))
    finally:
        remove_metrics_dir(metrics_dir, made_here=made_here)
