"""`pricewatch db ...`: create and migrate the database, and replay the spool."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from pricewatch.cli.jobs import load

# Alembic, SQLAlchemy and the services are imported by the commands (see `pricewatch.cli`).
if TYPE_CHECKING:
    from sqlalchemy import exc as sa_exc


db_app = typer.Typer(
    help="Create and migrate the database; write spooled snapshots back to it.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """One clear line instead of a traceback when the database cannot be used."""
    from alembic.util import CommandError
    from sqlalchemy import exc as sa_exc

    from pricewatch.adapters.db.engine import UnsupportedDatabaseError, redact
    from pricewatch.adapters.db.spool import SpoolBusyError

    where = redact(url)
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        err.print(f"[red]error:[/] cannot use the database at {where}: {_reason(exc)}")
        raise typer.Exit(1) from None
    except (sa_exc.ArgumentError, UnsupportedDatabaseError) as exc:
        err.print(f"[red]error:[/] bad database URL {where}: {exc}")
        raise typer.Exit(2) from None
    except sa_exc.SQLAlchemyError as exc:
        err.print(f"[red]error:[/] database error at {where}: {_reason(exc)}")
        raise typer.Exit(1) from None
    except (CommandError, SpoolBusyError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


def _reason(exc: sa_exc.SQLAlchemyError) -> str:
    from pricewatch.services import pipeline

    return pipeline.describe_error(exc).split(": ", 1)[-1]


@db_app.command()
def init() -> None:
    """Create the database schema (migrate an empty or older database to the newest revision)."""
    from pricewatch.adapters.db import migrate
    from pricewatch.adapters.db.engine import redact

    settings = load()
    url = settings.database_url
    with _database_errors(url):
        migrate.upgrade(migrate.alembic_config(url=url), "head")
    out.print(f"Database ready at {redact(url)} (revision {migrate.head()}).")


@db_app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Migrate the database up to REVISION (default: the newest)."""
    from pricewatch.adapters.db import migrate
    from pricewatch.adapters.db.engine import redact

    url = load().database_url
    with _database_errors(url):
        migrate.upgrade(migrate.alembic_config(url=url), revision)
    out.print(f"Upgraded {redact(url)} to {revision}.")


@db_app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; `base` drops everything.")],
) -> None:
    """Migrate the database down to REVISION."""
    from pricewatch.adapters.db import migrate
    from pricewatch.adapters.db.engine import redact

    url = load().database_url
    with _database_errors(url):
        migrate.downgrade(migrate.alembic_config(url=url), revision)
    out.print(f"Downgraded {redact(url)} to {revision}.")


@db_app.command()
def revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision does.")],
    autogenerate: Annotated[
        bool, typer.Option(help="Compare the models with the database to fill the revision.")
    ] = True,
) -> None:
    """Write a new migration (for developers: the database must be at the newest revision)."""
    from pricewatch.adapters.db import migrate

    url = load().database_url
    with _database_errors(url):
        paths = migrate.new_revision(
            migrate.alembic_config(url=url), message=message, autogenerate=autogenerate
        )
    for path in paths:
        out.print(f"Wrote {path}")


@db_app.command()
def current() -> None:
    """Show the database's revision and whether it is up to date."""
    from pricewatch.adapters.db import migrate
    from pricewatch.adapters.db.engine import create_engine_for, redact

    url = load().database_url
    with _database_errors(url):
        engine = create_engine_for(url)
        try:
            status = migrate.status_of(engine)
        finally:
            engine.dispose()
    revisions = ", ".join(status.current) or "none (empty database: run `pricewatch db init`)"
    state = "up to date" if status.up_to_date else f"newest is {status.head}"
    out.print(f"{redact(url)}: {revisions} ({state})")


@db_app.command("replay-spool")
def replay_spool(
    batch_size: Annotated[int, typer.Option(min=1, help="Snapshots per transaction.")] = 100,
) -> None:
    """Write the snapshots that waited in the spool to the database, and remove them from it."""
    from pricewatch.services import pipeline

    settings = load()
    with _database_errors(settings.database_url):
        report = pipeline.replay_spool(settings=settings, batch_size=batch_size)
    out.print(
        f"Replayed {report.replayed} snapshot(s) ({report.price_rows} new price row(s)); "
        f"{report.remaining} left in {settings.spool_path}."
    )
    for error in report.errors:
        err.print(f"[red]error:[/] {error}")
    if report.unreadable:
        err.print(f"[yellow]warning:[/] {report.unreadable} unreadable line(s) kept in the spool")
    if report.remaining:
        raise typer.Exit(1)
