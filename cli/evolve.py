"""`relayflow plan`, `relayflow apply` and `relayflow revisions`: reloading flows from the command line.

Exit status: 0 when every file was planned (or applied) fine, 1 when a file
does not load, a plan is refused, or an apply was refused (the live revision or
the plan changed since it was shown, or the admin said no).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.sla.calendar import CalendarSpec
from cli.commands import _db, _flow_files, main
from engine.language.problems import FlowLoadError


def _calendars_beside(path: Path) -> dict[str, CalendarSpec]:
    from engine.language.loader import load_calendars_file
    from engine.language.flow_set import CALENDARS_FILE

    shared = path.parent / CALENDARS_FILE
    return load_calendars_file(shared) if shared.exists() else {}


def _load(path: Path):  # type: ignore[no-untyped-def]
    """(compiled flow, its shared calendars), or None after printing the file's problems."""
    from engine.language.loader import load_flow_file

    try:
        calendars = _calendars_beside(path)
        return load_flow_file(path, calendars), calendars
    except FlowLoadError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        return None


def _flow_paths(paths: tuple[str, ...]) -> list[Path]:
    from engine.language.flow_set import CALENDARS_FILE

    files = [p for p in _flow_files(paths) if p.name != CALENDARS_FILE]
    if not files:
        click.echo("no flow files found", err=True)
        sys.exit(1)
    return files


@main.command("plan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the plans as JSON")
@click.pass_context
def plan_cmd(ctx: click.Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Show what applying flow files would do to the database and the records in flight (changes nothing)."""
    from engine.evolve import plan_flow
    from engine.evolve.render import render_plan

    database = _db(ctx)
    failed = 0
    plans = []
    for path in _flow_paths(paths):
        loaded = _load(path)
        if loaded is None:
            failed += 1
            continue
        plan = plan_flow(database, loaded[0], calendars=loaded[1])
        plans.append(plan.to_dict())
        failed += plan.refused
        if not as_json:
            click.echo(render_plan(plan) + "\n")
    if as_json:
        click.echo(json.dumps(plans, ensure_ascii=False, indent=2))
    sys.exit(1 if failed else 0)


@main.command("apply")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation")
@click.option("--expect", "expected_hash", help="Apply only if the plan still has this hash (from `relayflow plan`)")
@click.option("--confirm", "confirmed", multiple=True, help="Confirm a change the plan asks about (its `confirm` token)")
@click.option("--as", "username", help="The admin applying the change (recorded with the revision)")
@click.pass_context
def apply_cmd(ctx: click.Context, paths: tuple[str, ...], yes: bool, expected_hash: str | None,
              confirmed: tuple[str, ...],
              username: str | None) -> None:
    """Apply flow files: each one in one transaction, refused if the live revision changed since its plan."""
    from engine.records.errors import WorkflowError
    from engine.evolve import apply_flow, plan_flow
    from engine.evolve.render import render_plan
    from engine.people.users import user_id

    database = _db(ctx)
    applied_by = user_id(database, username) if username else None
    failed = 0
    for path in _flow_paths(paths):
        loaded = _load(path)
        if loaded is None:
            failed += 1
            continue
        flow, calendars = loaded
        plan = plan_flow(database, flow, calendars=calendars)
        click.echo(render_plan(plan))
        if plan.refused:
            failed += 1
            continue
        if plan.unchanged:
            continue
        if expected_hash and not plan.hash.startswith(expected_hash.lower()):
            click.echo(f"error: this is not the plan you checked ({expected_hash}): the live revision or the "
                       "database changed since; check the plan above and apply again", err=True)
            failed += 1
            continue
        tokens = list(confirmed)
        for change in plan.changes:
            if change.confirm and change.confirm not in tokens and not yes and \
                    click.confirm(f"{change.text}\nDo you mean this change?", default=False):
                tokens.append(change.confirm)
        if not yes and not click.confirm(f"Apply revision {plan.new_revision} of '{flow.name}'?", default=False):
            click.echo("not applied")
            failed += 1
            continue
        try:
            done = apply_flow(database, flow, expected=plan, applied_by=applied_by, calendars=calendars,
                              confirmed=tokens)
        except WorkflowError as exc:
            click.echo(f"error: {exc.message}", err=True)
            failed += 1
            continue
        click.echo(f"flow '{flow.name}': revision {done.revision} is live (applied in {done.seconds:.2f} s)\n")
    sys.exit(1 if failed else 0)


@main.command("revisions")
@click.argument("flow")
@click.option("--show", "show", type=int, help="Print the YAML of this revision (to apply it again: a rollback)")
@click.pass_context
def revisions_cmd(ctx: click.Context, flow: str, show: int | None) -> None:
    """List a flow's revisions, or print one of them."""
    from engine.storage.revisions import list_revisions, live_revision_of

    database = _db(ctx)
    with database.connect() as conn:
        revisions = list_revisions(conn, flow)
        live = live_revision_of(conn, flow)
    if not revisions:
        click.echo(f"no flow '{flow}'", err=True)
        sys.exit(1)
    if show is not None:
        match = [r for r in revisions if r.revision == show]
        if not match:
            click.echo(f"flow '{flow}' has no revision {show}", err=True)
            sys.exit(1)
        click.echo(match[0].yaml_text, nl=False)
        return
    for r in revisions:
        mark = "live" if r.revision == live else ""
        click.echo(f"{r.revision:>4}  {r.applied_at:%Y-%m-%d %H:%M:%S}Z  by {r.applied_by or '-':<6} "
                   f"{r.sha256[:12]}  {mark}")
