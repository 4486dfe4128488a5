"""Getting the database ready: the embedded SQLite default sets itself up, others are migrated.

Checking is cheap (one query, no Alembic: see `migrate.quick_status_of`), so every process
checks when it starts; Alembic is loaded only when the embedded database must be migrated.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from pricewatch.adapters.db import migrate
from pricewatch.adapters.db.engine import create_engine_for, redact
from pricewatch.config import Settings


class DatabaseNotReadyError(RuntimeError):
    """The database cannot take snapshots yet; the message says what to do."""


def uses_embedded_default(settings: Settings) -> bool:
    """True when no database was configured and the SQLite file in the data directory is used."""
    return not (settings.db.url or settings.db.host)


def prepare(settings: Settings) -> None:
    """Make sure the schema is current: migrate the embedded SQLite file, check any other database.

    The embedded default needs no set-up, so it is created and migrated here (when it is not at
    the head already). A configured database (PostgreSQL in production) is migrated only on
    request, with `pricewatch db upgrade`.
    """
    url = settings.database_url
    status = _status(settings)
    if status.up_to_date:
        return
    if uses_embedded_default(settings):
        _migrate(url)
        return
    current = ", ".join(status.current) or "empty"
    raise DatabaseNotReadyError(
        f"the database at {redact(url)} is not at the current schema ({current}, want "
        f"{status.head}): run `pricewatch db upgrade`"
    )


def _migrate(url: str) -> None:
    """Migrate the embedded database to the head; DatabaseNotReadyError when Alembic cannot."""
    from alembic.util import CommandError  # Alembic is loaded to migrate anyway

    try:
        migrate.upgrade(migrate.alembic_config(url=url), "head")
    except CommandError as exc:  # e.g. a revision newer than this code's scripts
        raise DatabaseNotReadyError(f"cannot migrate the database at {redact(url)}: {exc}") from exc


def _status(settings: Settings) -> migrate.Status:
    """Where the database stands; DatabaseNotReadyError when it cannot be reached."""
    url = settings.database_url
    engine = create_engine_for(url, busy_timeout=settings.db.busy_timeout)
    try:
        return migrate.quick_status_of(engine)
    except sa_exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DatabaseNotReadyError(f"cannot use the database at {redact(url)}: {reason}") from exc
    finally:
        engine.dispose()
