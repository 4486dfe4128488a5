"""Getting the database ready: the embedded SQLite default sets itself up, others are migrated."""

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

    The embedded default needs no set-up, so it is created and migrated here. A configured
    database (PostgreSQL in production) is migrated only on request, with `pricewatch db upgrade`.
    """
    url = settings.database_url
    if uses_embedded_default(settings):
        migrate.upgrade(migrate.alembic_config(url=url), "head")
        return
    engine = create_engine_for(url, busy_timeout=settings.db.busy_timeout)
    try:
        status = migrate.status_of(engine)
    except sa_exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DatabaseNotReadyError(f"cannot use the database at {redact(url)}: {reason}") from exc
    finally:
        engine.dispose()
    if not status.up_to_date:
        current = ", ".join(status.current) or "empty"
        raise DatabaseNotReadyError(
            f"the database at {redact(url)} is not at the current schema ({current}, want "
            f"{status.head}): run `pricewatch db upgrade`"
        )
