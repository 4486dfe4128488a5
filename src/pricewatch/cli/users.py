"""`pricewatch users ...` and `pricewatch tokens ...`: accounts of the web app and API tokens."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pricewatch.cli.jobs import failures, load

# The database and the services are imported by the commands (see `pricewatch.cli`).
if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session, sessionmaker

users_app = typer.Typer(
    help="Accounts of the web app: create the admin, list users, reset a password.",
    no_args_is_help=True,
)
tokens_app = typer.Typer(
    help="API tokens (Authorization: Bearer ...): create, list, revoke.", no_args_is_help=True
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]


@contextmanager
def _accounts() -> Iterator[sessionmaker[Session]]:
    """Sessions on the prepared database; one clear line instead of a traceback on errors."""
    from pricewatch.services import accounts, database, jobs

    settings = load()
    with failures(settings):
        database.prepare(settings)
        with jobs.open_sessions(settings) as sessions:
            try:
                yield sessions
            except accounts.AccountError as exc:
                err.print(f"[red]error:[/] {escape(str(exc))}")
                raise typer.Exit(1) from None


def _password(from_stdin: bool) -> str:
    """The password: from standard input's first line, or asked twice (hidden)."""
    if not from_stdin:
        asked: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
        return asked
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        err.print("[red]error:[/] no password on standard input")
        raise typer.Exit(2)
    return password


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


@users_app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(help="The admin's username.")] = "admin",
    password_stdin: PasswordStdin = False,
    force: Annotated[
        bool, typer.Option("--force", help="Add another admin although accounts exist.")
    ] = False,
) -> None:
    """Create the administrator account (what the web app's first page does)."""
    from pricewatch.services import accounts

    password = _password(password_stdin)
    with _accounts() as sessions:
        if not force and accounts.has_users(sessions=sessions):
            err.print(
                "[red]error:[/] an account exists already; use --force to add another admin, "
                "or `pricewatch users set-password` to reset a password"
            )
            raise typer.Exit(1)
        user = accounts.create_admin(
            sessions=sessions, username=username, password=password, first=not force
        )
    out.print(f"Admin {escape(user.username)} created (user id {user.id}).")


@users_app.command("list")
def list_users() -> None:
    """List the accounts."""
    from pricewatch.services import accounts

    with _accounts() as sessions:
        users = accounts.list_users(sessions=sessions)
    table = Table("id", "username", "admin", "created", "last login", title_justify="left")
    for user in users:
        table.add_row(
            str(user.id),
            escape(user.username),
            "yes" if user.is_admin else "",
            _when(user.created_at),
            _when(user.last_login_at),
        )
    out.print(table if users else "No accounts yet: run `pricewatch users create-admin`.")


@users_app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(help="Whose password.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Give a user a new password (their sessions end)."""
    from pricewatch.services import accounts

    password = _password(password_stdin)
    with _accounts() as sessions:
        user = accounts.set_password(sessions=sessions, username=username, password=password)
    out.print(f"Password of {escape(user.username)} changed; their sessions were logged out.")


@tokens_app.command("create")
def create_token(
    user: Annotated[str, typer.Option("--user", help="The username the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for.")],
) -> None:
    """Create an API token and print it (only this once: it is not stored)."""
    from pricewatch.services import accounts

    with _accounts() as sessions:
        token = accounts.create_token_for(sessions=sessions, username=user, name=name)
    err.print(f"Token {token.id} ({escape(token.name)}) created; keep it, it is shown only once:")
    sys.stdout.write(token.token + "\n")


@tokens_app.command("list")
def list_tokens(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
) -> None:
    """List the API tokens (their first characters, never the whole token)."""
    from pricewatch.services import accounts

    with _accounts() as sessions:
        tokens = accounts.list_tokens(sessions=sessions)
    if user is not None:
        tokens = [t for t in tokens if t.username.casefold() == user.strip().casefold()]
    table = Table("id", "user", "name", "token", "created", "last used", "status")
    for t in tokens:
        table.add_row(
            str(t.id),
            escape(t.username),
            escape(t.name),
            f"{t.prefix}…",
            _when(t.created_at),
            _when(t.last_used_at),
            "revoked" if t.revoked_at else "active",
        )
    out.print(table if tokens else "No API tokens.")


@tokens_app.command("revoke")
def revoke_token(token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token: it stops opening the API at once."""
    from pricewatch.services import accounts

    with _accounts() as sessions:
        accounts.revoke_token(sessions=sessions, token_id=token_id)
    out.print(f"Token {token_id} revoked.")
