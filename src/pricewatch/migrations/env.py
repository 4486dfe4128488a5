"""Alembic environment: runs pricewatch's migrations on the connection or URL it is handed."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from pricewatch.adapters.db.engine import create_engine_for
from pricewatch.adapters.db.tables import Base

config = context.config


def _run(connection: Connection) -> None:
    """Configure the context on `connection` and run the migrations in one transaction."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        user_module_prefix="pwtypes.",
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on_url() -> None:
    engine = create_engine_for(config.attributes["url"])
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # A batch rebuild drops the old table: with foreign keys on, that would cascade
                # into child rows. The pragma only works outside a transaction, hence the driver.
                connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
            _run(connection)
    finally:
        engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=config.attributes["url"],
        target_metadata=Base.metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
elif (given := config.attributes.get("connection")) is not None:
    _run(given)
else:
    _run_on_url()
