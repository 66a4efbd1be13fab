"""`relayflow token create/list/revoke`: API tokens from the command line (registered by cli/commands.py)."""
from __future__ import annotations

import click

from cli.commands import ID, _db, _run, main


@main.group()
def token() -> None:
    """API tokens (for `Authorization: Bearer ...`)."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for")
@click.option("--expires", help="30d, 12h, 90m, an ISO date or date-time (default: never)")
@click.pass_context
def token_create(ctx: click.Context, username: str, name: str, expires: str | None) -> None:
    """Make a token for USERNAME and print it (it is shown only once)."""
    from engine.people.tokens import create_token, parse_expiry
    from engine.people.users import user_id

    db = _db(ctx)

    def make():  # type: ignore[no-untyped-def]
        expires_at = parse_expiry(expires) if expires else None
        return create_token(db, user_id(db, username), name, expires_at=expires_at)

    new = _run(make)
    until = f", expires {new.info.expires_at:%Y-%m-%d %H:%M} UTC" if new.info.expires_at else ""
    click.echo(f"token {new.info.id} for {username}{until} (store it now, it is not shown again):", err=True)
    click.echo(new.secret)


@token.command("list")
@click.argument("username", required=False)
@click.pass_context
def token_list(ctx: click.Context, username: str | None) -> None:
    """Tokens of USERNAME (or of everyone), without their secrets."""
    from engine.people.tokens import list_tokens
    from engine.people.users import user_id

    db = _db(ctx)
    uid = _run(lambda: user_id(db, username)) if username else None
    for t in list_tokens(db, uid):
        state = "revoked" if t.revoked_at else ("active" if t.active() else "expired")
        expires = f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never"
        click.echo(f"{t.id:>5}  {t.username:<16} {t.prefix}…  {t.name:<20} expires {expires:<16} {state}")


@token.command("revoke")
@click.argument("token_id", type=ID)
@click.pass_context
def token_revoke(ctx: click.Context, token_id: int) -> None:
    """Revoke a token by its id: it stops working at once (servers forget it within seconds)."""
    from engine.people.tokens import revoke_token

    _run(lambda: revoke_token(_db(ctx), token_id))
    click.echo(f"token {token_id} revoked")
