"""`relayflow dept ...` (the org chart) and `relayflow user delegate ...` (out-of-office delegation)."""
from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from cli.commands import _db, _run, main, user
from engine.people.delegation import clear_delegation, day_span, get_delegation, set_delegation
from engine.people.departments import (
    CSV_COLUMNS, add_department, add_member, department_title, export_rows, import_org_chart, list_departments,
    move_department, remove_member, set_manager,
)
from engine.records.errors import ValidationFailed


def _title(title: str, title_en: str | None, title_zh: str | None) -> str | dict[str, str]:
    by_lang = {k: v for k, v in (("zh-CN", title_zh), ("en", title_en)) if v}
    if by_lang:
        return {**({"zh-CN": title} if "zh-CN" not in by_lang and title else {}), **by_lang}
    return title


def _fail_validation(exc: ValidationFailed) -> None:
    for where, problem in exc.field_errors.items():
        click.echo(f"error: {problem}" if str(problem).startswith("line ") else f"error: {where}: {problem}", err=True)
    sys.exit(1)


def _checked(fn):  # type: ignore[no-untyped-def]
    """Run `fn`; a refusal is printed (one line per bad value or row) and the command exits 1."""
    def run():  # type: ignore[no-untyped-def]
        try:
            return fn()
        except ValidationFailed as exc:
            _fail_validation(exc)

    return _run(run)


@main.group()
def dept() -> None:
    """Departments: the org chart (a tree, managers, members)."""


@dept.command("add")
@click.argument("dept_id")
@click.argument("title")
@click.option("--title-en", help="The title in English (a bilingual title)")
@click.option("--title-zh", help="The title in Chinese (a bilingual title)")
@click.option("--parent", help="The department above it")
@click.option("--manager", help="User name of its manager")
@click.pass_context
def dept_add(ctx: click.Context, dept_id: str, title: str, title_en: str | None, title_zh: str | None,
             parent: str | None, manager: str | None) -> None:
    database = _db(ctx)
    _checked(lambda: add_department(database, dept_id, _title(title, title_en, title_zh), parent=parent, manager=manager))
    click.echo(f"added department {dept_id}")


@dept.command("list")
@click.option("--lang", default=None, help="Language of the titles (zh-CN, en)")
@click.pass_context
def dept_list(ctx: click.Context, lang: str | None) -> None:
    for d in list_departments(_db(ctx)):
        manager = f"  manager: {d.manager_name} ({d.manager})" if d.manager else ""
        members = f"  members: {', '.join(d.members)}" if d.members else ""
        click.echo(f"{'  ' * d.depth}{d.id}  {department_title(d.title, lang)}{manager}{members}")


@dept.command("move")
@click.argument("dept_id")
@click.argument("parent", required=False)
@click.option("--root", is_flag=True, help="Make it a top-level department")
@click.pass_context
def dept_move(ctx: click.Context, dept_id: str, parent: str | None, root: bool) -> None:
    """Put DEPT_ID (with everything below it) under PARENT, or at the top with --root."""
    if (parent is None) == (not root):
        raise click.UsageError("give a PARENT or --root")
    database = _db(ctx)
    _checked(lambda: move_department(database, dept_id, None if root else parent))
    click.echo(f"moved {dept_id} under {parent or '(top)'}")


@dept.command("set-manager")
@click.argument("dept_id")
@click.argument("username", required=False)
@click.option("--none", "clear", is_flag=True, help="The department has no manager")
@click.pass_context
def dept_set_manager(ctx: click.Context, dept_id: str, username: str | None, clear: bool) -> None:
    if (username is None) == (not clear):
        raise click.UsageError("give a USERNAME or --none")
    database = _db(ctx)
    _checked(lambda: set_manager(database, dept_id, None if clear else username))
    click.echo(f"{dept_id}: manager {username or '(none)'}")


def _each_member(ctx: click.Context, dept_id: str, usernames: tuple[str, ...],
                 change: Callable[[Any, str, str], object], done: str) -> None:
    """`change(database, dept_id, username)` for each user name (stops at the first refusal), then one line."""
    database = _db(ctx)
    for name in usernames:
        _checked(lambda name=name: change(database, dept_id, name))
    click.echo(f"{dept_id}: {done} {', '.join(usernames)}")


@dept.command("add-member")
@click.argument("dept_id")
@click.argument("usernames", nargs=-1, required=True)
@click.pass_context
def dept_add_member(ctx: click.Context, dept_id: str, usernames: tuple[str, ...]) -> None:
    _each_member(ctx, dept_id, usernames, add_member, "added")


@dept.command("remove-member")
@click.argument("dept_id")
@click.argument("usernames", nargs=-1, required=True)
@click.pass_context
def dept_remove_member(ctx: click.Context, dept_id: str, usernames: tuple[str, ...]) -> None:
    _each_member(ctx, dept_id, usernames, remove_member, "removed")


@dept.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def dept_import(ctx: click.Context, path: str) -> None:
    """Import an org chart from a CSV file (UTF-8) with the columns id, title, parent, manager, members
    (title.zh-CN / title.en for bilingual titles). All or nothing: a bad row imports nothing."""
    database = _db(ctx)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        click.echo("error: the file is not UTF-8 text; save the spreadsheet as 'CSV UTF-8'", err=True)
        sys.exit(1)
    result = _checked(lambda: import_org_chart(database, text))
    click.echo(f"imported: {result.created} departments added, {result.updated} updated, {result.memberships} members")


@dept.command("export")
@click.pass_context
def dept_export(ctx: click.Context) -> None:
    """Write the org chart as CSV (the columns of `dept import`) to stdout."""
    writer = csv.DictWriter(sys.stdout, fieldnames=list(CSV_COLUMNS))
    writer.writeheader()
    for row in export_rows(_db(ctx)):
        writer.writerow(row)


@user.group("delegate")
def delegate() -> None:
    """Out-of-office delegation: someone else handles a user's tasks for some days."""


def _zone() -> ZoneInfo | timezone:
    from engine.settings import Settings

    name = Settings().timezone.strip()
    return ZoneInfo(name) if name else timezone.utc


@delegate.command("set")
@click.argument("username")
@click.argument("to")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day away (YYYY-MM-DD)")
@click.option("--until", "last", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day away (YYYY-MM-DD)")
@click.pass_context
def delegate_set(ctx: click.Context, username: str, to: str, first: datetime, last: datetime) -> None:
    """USERNAME's tasks go to TO from the start of --from to the end of --until (the server's zone)."""
    database = _db(ctx)
    start, end = day_span(date(first.year, first.month, first.day), date(last.year, last.month, last.day), _zone())
    _checked(lambda: set_delegation(database, username, to, start, end))
    click.echo(f"{username}: tasks handled by {to} from {first:%Y-%m-%d} until {last:%Y-%m-%d}")


@delegate.command("show")
@click.argument("username")
@click.pass_context
def delegate_show(ctx: click.Context, username: str) -> None:
    d = get_delegation(_db(ctx), username)
    if d is None:
        click.echo(f"{username}: no delegation")
        return
    state = "running" if d.active(datetime.now(timezone.utc)) else "not running now"
    click.echo(f"{username}: tasks handled by {d.delegate_name} ({d.delegate}) from {d.starts_at:%Y-%m-%d %H:%M} "
               f"until {d.ends_at:%Y-%m-%d %H:%M} UTC ({state})")


@delegate.command("clear")
@click.argument("username")
@click.pass_context
def delegate_clear(ctx: click.Context, username: str) -> None:
    database = _db(ctx)
    _checked(lambda: clear_delegation(database, username))
    click.echo(f"{username}: no delegation")
