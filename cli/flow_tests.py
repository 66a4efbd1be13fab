"""`relayflow test [FILES or folders]`: run the tests flow authors write next to their flows (`<flow>.tests.yaml`).

Each file runs against the flows of its folder (with its calendars.yaml) on throw-away SQLite databases
with injected time (engine/authoring_tests/). Prints `PASS name (ms)` or `FAIL file:line:col: ...` per
test and a summary line. Exit 0 when every test passes, 1 when one fails, 2 when a tests file (or a flow
beside it) is refused, or no tests file was found.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from cli.commands import main


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print failures and the summary only")
def test_flows(paths: tuple[Path, ...], quiet: bool) -> None:
    """Run the flows' own tests (*.tests.yaml) found in PATHS (default: the flows folder)."""
    from engine.authoring_tests.suite import run_paths

    ctx = click.get_current_context()
    started = time.perf_counter()
    names = list(paths) or [Path(ctx.obj["flows_dir"])]
    passed = failed = refused = files = 0
    for result in run_paths(names):
        files += 1
        if result.refused is not None:
            refused += 1
            click.echo(f"REFUSED {result.source}", err=True)
            for problem in result.refused.problems:
                click.echo(f"  {problem}", err=True)
            continue
        for r in result.results:
            ms = f"{r.seconds * 1000:.0f} ms"
            if r.failure is None:
                passed += 1
                if not quiet:
                    click.echo(f"PASS {r.name} ({ms})")
            else:
                failed += 1
                click.echo(f"FAIL {r.failure} [{r.name}, {ms}]")
    seconds = time.perf_counter() - started
    if not files:
        click.echo("no tests files (*.tests.yaml) found", err=True)
        sys.exit(2)
    words = [f"{passed} passed", f"{failed} failed"] + ([f"{refused} file(s) refused"] if refused else [])
    click.echo(f"{', '.join(words)} in {seconds:.2f}s ({files} file(s))")
    if refused:
        sys.exit(2)
    if failed:
        sys.exit(1)
