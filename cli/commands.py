"""The `relayflow` command line: validate, schema, database, users, flows, records, serve."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from engine.language.problems import FlowLoadError
from engine.settings import Settings, SettingsError


ID = click.IntRange(1, 2**63 - 1)  # a record or token id: what the database's integer column can hold


def _flow_files(paths: tuple[str, ...]) -> list[Path]:
    """The flow files named, and those of the folders named (not their calendars or `<flow>.tests.yaml` files)."""
    from engine.language.flow_set import flow_files

    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(flow_files(p))
        else:
            files.append(p)
    return files


@click.group()
@click.option("--db", "database_url", envvar="RELAYFLOW_DATABASE_URL", default=None,
              help="Database URL (default: sqlite:///relayflow.db, or $RELAYFLOW_DATABASE_URL)")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Relayflow: YAML-first forms and workflows."""
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    ctx.obj = {"database_url": database_url or settings.database_url, "flows_dir": settings.flows_dir,
               "settings": settings}


def _db(ctx: click.Context):  # type: ignore[no-untyped-def]
    from engine.storage.db import make_engine
    from engine.storage.migrate import upgrade_database

    db = make_engine(ctx.obj["database_url"])
    upgrade_database(db)
    return db


def _registry(ctx: click.Context, db, flows_dir: str | None = None):  # type: ignore[no-untyped-def]
    from engine.storage.registry import FlowRegistry, install_folder

    reg = FlowRegistry()
    bad = install_folder(db, reg, flows_dir or ctx.obj["flows_dir"])
    for err in bad:
        click.echo(str(err), err=True)
    return reg


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
def validate(paths: tuple[str, ...]) -> None:
    """Check flow files (or folders of them); exit 1 with located errors if any is bad.

    A folder is checked as one set: its shared calendars file, then every flow, and no two files
    may declare the same flow id. Files named one by one are checked as one set too."""
    from engine.language.flow_set import FlowSet, flow_files, load_flow_folder, load_flow_set

    sets: list[FlowSet] = []
    loose = [Path(p) for p in paths if not Path(p).is_dir()]
    for p in paths:
        if Path(p).is_dir():
            sets.append(load_flow_folder(p))
    if loose:
        sets.append(load_flow_set(loose))
    total = sum(len(flow_files(p)) for p in paths if Path(p).is_dir()) + len(loose)
    failed = 0
    for found in sets:
        for flow in found.good:
            click.echo(f"{flow.source}: ok — flow '{flow.name}', {len(flow.fields)} fields, "
                       f"{len(flow.spec.states)} states, {len(flow.spec.transitions)} transitions")
        for exc in found.bad:
            failed += 1
            for problem in exc.problems:
                click.echo(str(problem), err=True)
    if not total:
        click.echo("no flow files found", err=True)
        sys.exit(1)
    if failed:
        click.echo(f"{failed} of {total} file(s) have errors", err=True)
        sys.exit(1)


@main.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to a file instead of stdout")
@click.option("--tests", "tests_file", is_flag=True, help="The schema of a flow's tests file (<flow>.tests.yaml) instead")
def schema(output: str | None, tests_file: bool) -> None:
    """Print the JSON Schema of the flow language (for editor autocompletion)."""
    from engine.authoring_tests.spec import tests_language_schema
    from engine.language.language_schema import flow_language_schema

    text = json.dumps(tests_language_schema() if tests_file else flow_language_schema(), ensure_ascii=False, indent=2)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


@main.group()
def db() -> None:
    """Database set-up."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or upgrade the engine's tables (Alembic revisions)."""
    _db(ctx)
    click.echo("database is up to date")


@main.group()
def user() -> None:
    """Users and role grants."""


@user.command("add")
@click.argument("username")
@click.option("--name", "display_name", help="Display name")
@click.option("--email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", "roles", multiple=True, help="Grant a role (repeatable)")
@click.option("--admin", is_flag=True, help="Administrator")
@click.pass_context
def user_add(ctx: click.Context, username: str, display_name: str | None, email: str | None, password: str,
             roles: tuple[str, ...], admin: bool) -> None:
    from engine.people.users import create_user

    _run(lambda: create_user(_db(ctx), username, display_name=display_name, email=email, password=password,
                             roles=list(roles), is_admin=admin))
    click.echo(f"user '{username}' created")


@user.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    from engine.people.users import list_users

    for u in list_users(_db(ctx)):
        flags = " admin" if u["is_admin"] else ""
        flags += "" if u["active"] else " (inactive)"
        click.echo(f"{u['id']:>4}  {u['username']:<16} {u['display_name']:<24} {', '.join(u['roles'])}{flags}")


@user.command("grant")
@click.argument("username")
@click.argument("role")
@click.pass_context
def user_grant(ctx: click.Context, username: str, role: str) -> None:
    from engine.people.users import grant_role

    _run(lambda: grant_role(_db(ctx), username, role))
    click.echo(f"granted '{role}' to '{username}'")


@user.command("revoke")
@click.argument("username")
@click.argument("role")
@click.pass_context
def user_revoke(ctx: click.Context, username: str, role: str) -> None:
    from engine.people.users import revoke_role

    _run(lambda: revoke_role(_db(ctx), username, role))
    click.echo(f"revoked '{role}' from '{username}'")


@user.command("passwd")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.pass_context
def user_passwd(ctx: click.Context, username: str, password: str) -> None:
    from engine.people.users import set_password

    _run(lambda: set_password(_db(ctx), username, password))
    click.echo("password changed")


@user.command("deactivate")
@click.argument("username")
@click.pass_context
def user_deactivate(ctx: click.Context, username: str) -> None:
    from engine.people.users import set_active

    _run(lambda: set_active(_db(ctx), username, False))
    click.echo(f"user '{username}' deactivated")


@user.command("contact")
@click.argument("username")
@click.option("--phone", default=None, help="Mobile number for @-mentions in IM robot messages ('' clears it)")
@click.option("--im-id", "im_id", default=None, help="Id in the office IM: WeCom userid, DingTalk userId, Feishu open_id")
@click.pass_context
def user_contact(ctx: click.Context, username: str, phone: str | None, im_id: str | None) -> None:
    """Set how IM robot messages @-mention a user."""
    from engine.people.im_contacts import set_im_contact

    _run(lambda: set_im_contact(_db(ctx), username, phone=phone, im_id=im_id))
    click.echo(f"user '{username}': IM contact saved")


@main.command("load")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
@click.pass_context
def load(ctx: click.Context, folder: str | None) -> None:
    """Install the flow files of a folder (default: flows/) into the database."""
    database = _db(ctx)
    reg = _registry(ctx, database, folder)
    for live in reg.all():
        click.echo(f"{live.flow.name}: revision {live.revision} ({live.table.name})")


def _run(fn):  # type: ignore[no-untyped-def]
    from engine.records.errors import WorkflowError

    try:
        return fn()
    except WorkflowError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)


def _parse_sets(sets: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in sets:
        if "=" not in item:
            raise click.BadParameter(f"'{item}' is not field=value", param_hint="--set")
        key, _, value = item.partition("=")
        values[key.strip()] = value
    return values


def _print_record(rec) -> None:  # type: ignore[no-untyped-def]
    click.echo(f"{rec.flow} #{rec.id}  {rec.title}  state={rec.state}  version={rec.version}  "
               f"assignee={rec.system.get('assignee_id')}  due={rec.system.get('sla_due_at')}")


def _access(ctx: click.Context, db):  # type: ignore[no-untyped-def]
    """The access layer every door acts through (engine/records/access.py): the same checks and answers as the API."""
    from engine.records.access import Access
    from engine.records.records import Records

    registry = _registry(ctx, db)
    return Access(db, registry, Records(db, registry))


@main.group()
def record() -> None:
    """Create, show and move records from the command line."""


@record.command("create")
@click.argument("flow")
@click.option("--as", "username", required=True, help="Acting user")
@click.option("--set", "sets", multiple=True, help="field=value (repeatable)")
@click.pass_context
def record_create(ctx: click.Context, flow: str, username: str, sets: tuple[str, ...]) -> None:
    from engine.people.users import load_actor

    database = _db(ctx)
    access = _access(ctx, database)
    rec = _run(lambda: access.create(flow, load_actor(database, username=username), _parse_sets(sets)))
    _print_record(rec)


@record.command("move")
@click.argument("flow")
@click.argument("record_id", type=ID)
@click.argument("transition")
@click.option("--as", "username", required=True, help="Acting user")
@click.option("--version", "version", type=int, help="The version you saw (refused if the record changed since)")
@click.option("--comment")
@click.option("--set", "sets", multiple=True, help="field=value edited in the same step")
@click.pass_context
def record_move(ctx: click.Context, flow: str, record_id: int, transition: str, username: str,
                version: int | None, comment: str | None, sets: tuple[str, ...]) -> None:
    from engine.people.users import load_actor

    database = _db(ctx)
    access = _access(ctx, database)
    rec = _run(lambda: access.transition(flow, record_id, transition, load_actor(database, username=username),
                                         expected_version=version, values=_parse_sets(sets) or None,
                                         comment=comment))
    _print_record(rec)


@record.command("show")
@click.argument("flow")
@click.argument("record_id", type=ID)
@click.pass_context
def record_show(ctx: click.Context, flow: str, record_id: int) -> None:
    from engine.records.records import Records

    database = _db(ctx)
    recs = Records(database, _registry(ctx, database))
    rec = _run(lambda: recs.get(flow, record_id))
    _print_record(rec)
    live = recs.registry.get(flow)
    for name, value in rec.values.items():
        click.echo(f"  {name}: {'' if value is None else live.flow.fields[name].to_json(value)}")
    for h in recs.history(flow, record_id):
        click.echo(f"  [{h['at']:%Y-%m-%d %H:%M}] {h['actor_name'] or '-'}: {h['action']} "
                   f"{h['from_state'] or ''}→{h['to_state'] or ''} {json.dumps(h['changes'] or {}, ensure_ascii=False)}"
                   f"{'  «' + h['comment'] + '»' if h['comment'] else ''}")


@main.command("inbox")
@click.option("--as", "username", required=True)
@click.pass_context
def inbox_cmd(ctx: click.Context, username: str) -> None:
    """Records waiting on a user or their roles, most urgent first."""
    from engine.records.inbox import inbox
    from engine.people.users import load_actor
    from forms.local_text import pick

    database = _db(ctx)
    reg = _registry(ctx, database)
    for item in inbox(database, reg, _run(lambda: load_actor(database, username=username))):
        due = f"{item.sla_due_at:%Y-%m-%d %H:%M}Z" if item.sla_due_at else "-"
        state = pick(item.state_title, None, reg.get(item.flow).flow.spec.language) or item.state
        click.echo(f"{item.flow}#{item.record_id:<6} {state:<12} due {due:<18} {item.title}")


# --- SLA: worker, simulation, outbox, report ---------------------------------------------------------

@main.command()
@click.option("--interval", type=float, default=None,
              help="Seconds between cycles (default: $RELAYFLOW_WORKER_INTERVAL or 15)")
@click.option("--once", is_flag=True, help="Run one cycle (scheduler pass + deliveries) and exit")
@click.option("--batch", type=int, default=50, show_default=True, help="Messages claimed at a time")
@click.pass_context
def worker(ctx: click.Context, interval: float | None, once: bool, batch: int) -> None:
    """Run the SLA scheduler and deliver reminders (several workers may run at once)."""
    import signal
    import threading

    from engine.delivery.worker import Worker, worker_interval

    database = _db(ctx)
    w = Worker(database, _registry(ctx, database), batch=batch)
    if once:
        result = w.run_once()
        click.echo(f"enqueued {result.enqueued}, sent {result.sent}, retry {result.retried}, dead {result.dead}")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    every = interval or worker_interval(ctx.obj["settings"])
    click.echo(f"worker {w.name}: every {every:.0f}s; Ctrl-C to stop")
    w.run(stop, interval=every)


@main.command()
@click.argument("flow")
@click.option("--start", required=True, help="Start instant with its offset, e.g. 2026-09-30T17:30+08:00")
@click.option("--path", "path", default="", help="Transitions in order, e.g. submit,approve,... "
              "(a step may carry its instant: approve@2026-10-09T11:00+08:00)")
@click.option("--value", "values", multiple=True, help="A date field of the record, for deadlines from a date "
              "field, e.g. delivery_date=2026-10-20 (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table")
@click.pass_context
def simulate(ctx: click.Context, flow: str, start: str, path: str, as_json: bool, values: tuple[str, ...]) -> None:
    """When each stage of a path would warn and fall due (FLOW: a flow file, or a flow name in flows/)."""
    from datetime import datetime

    from engine.storage.registry import load_flows_folder
    from engine.sla.simulate import SimulationError, format_timeline, parse_path, parse_values
    from engine.sla.simulate import simulate as run_simulation

    if Path(flow).is_file():
        from engine.language.loader import load_calendars_file, load_flow_file
        from engine.language.flow_set import CALENDARS_FILE

        shared = Path(flow).parent / CALENDARS_FILE
        try:
            compiled = load_flow_file(Path(flow), load_calendars_file(shared) if shared.exists() else {})
        except FlowLoadError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    else:
        good, _ = load_flows_folder(ctx.obj["flows_dir"])
        found = [f for f in good if f.name == flow]
        if not found:
            click.echo(f"error: no flow '{flow}' in {ctx.obj['flows_dir']} (give a file path or a flow name)", err=True)
            sys.exit(1)
        compiled = found[0]
    try:
        begin = datetime.fromisoformat(start)
        stages = run_simulation(compiled, begin, parse_path(path), parse_values(compiled, values))
    except (SimulationError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in stages], ensure_ascii=False, indent=2))
    else:
        click.echo(format_timeline(compiled, stages))


@main.command("outbox")
@click.option("--status", type=click.Choice(["pending", "sent", "dead", "held"]), help="Only messages in this state")
@click.option("--log", "show_log", is_flag=True, help="Show the delivery attempts instead of the messages")
@click.option("--retry", "retry_ids", type=int, multiple=True, help="Give a dead message (by id) new attempts")
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_context
def outbox_cmd(ctx: click.Context, status: str | None, show_log: bool, retry_ids: tuple[int, ...], limit: int) -> None:
    """Reminders waiting, sent or dead-lettered, and their delivery log."""
    from engine.delivery.outbox import counts, delivery_log, list_rows, requeue

    database = _db(ctx)
    if retry_ids:
        click.echo(f"requeued {requeue(database, list(retry_ids))} message(s)")
        return
    if show_log:
        for d in delivery_log(database, limit=limit):
            click.echo(f"{d['at']:%Y-%m-%d %H:%M:%S}Z #{d['outbox_id']} try {d['attempt']} {d['outcome']:<6} "
                       f"{d['channel']:<8} {d['recipient']:<12} {d['duration_ms']}ms {d['detail'] or ''}  [{d['dedupe_key']}]")
        return
    click.echo("  ".join(f"{k}: {v}" for k, v in sorted(counts(database).items())) or "the outbox is empty")
    for r in list_rows(database, status=status, limit=limit):
        click.echo(f"#{r['id']:<6} {r['status']:<7} tries {r['attempts']}  {r['channel']:<8} {r['recipient']:<12} "
                   f"{r['event']:<6} {r['flow']}#{r['record_id']}  {r['last_error'] or ''}")


@main.command("sla-report")
@click.option("--flow", help="Only this flow")
@click.option("--urged", is_flag=True, help="Instead: per stage, the people urged (催办) and how often")
@click.pass_context
def sla_report_cmd(ctx: click.Context, flow: str | None, urged: bool) -> None:
    """Per stage: how many finished on time or late, what is open now, and how often it was urged."""
    from engine.sla.report import stage_report
    from engine.sla.urge_report import urged_people

    database = _db(ctx)
    reg = _registry(ctx, database)
    if urged:
        click.echo(f"{'flow':<16} {'stage':<14} {'person':<20} {'urges':>5}")
        names = [_run(lambda: reg.get(flow)).flow.name] if flow else reg.names()
        with database.connect() as conn:
            for name in names:
                for u in urged_people(conn, name):
                    click.echo(f"{name:<16} {u.state:<14} {u.name:<20} {u.count:>5}")
        return
    click.echo(f"{'flow':<16} {'stage':<14} {'done':>5} {'met':>5} {'missed':>6} {'met %':>6} "
               f"{'open':>5} {'warn':>5} {'late':>5} {'escal.':>6} {'urges':>5}")
    for s in _run(lambda: stage_report(database, reg, flow=flow)):
        rate = f"{100 * s.met_rate:.0f}" if s.met_rate is not None else "-"
        click.echo(f"{s.flow:<16} {s.state:<14} {s.finished:>5} {s.met:>5} {s.missed:>6} {rate:>6} "
                   f"{s.open_on_track:>5} {s.open_warning:>5} {s.open_breached:>5} {s.open_escalated:>6} {s.urges:>5}")


# Reloading flows (plan, apply, revisions) lives beside this file; importing it registers the commands.
from cli import evolve as _evolve_cli  # noqa: E402,F401
from cli import tokens as _tokens_cli  # noqa: E402,F401  (token create/list/revoke)
from cli import backup as _backup_cli  # noqa: E402,F401  (backup, restore)
from cli import org as _org_cli  # noqa: E402,F401  (dept ..., user delegate ...)
from cli import files as _files_cli  # noqa: E402,F401  (files sweep)
from cli import digest as _digest_cli  # noqa: E402,F401  (digest --now)
from cli import tasks as _tasks_cli  # noqa: E402,F401  (task decide/hand-over/add-approver/return/urge)
from cli import flow_tests as _flow_tests_cli  # noqa: E402,F401  (test: the flows' own tests)
