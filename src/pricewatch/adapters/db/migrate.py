"""Alembic, driven from code: the configuration is built here, no alembic.ini is needed.

The migration scripts ship inside the package (`pricewatch/migrations`), so `pricewatch db ...`
works from an installed wheel. The database is the one in Settings, or a connection given by the
caller (tests run migrations inside their own connection).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from pricewatch.adapters.db.engine import normalise_url
from pricewatch.adapters.db.tables import Base

SCRIPT_LOCATION = str(Path(__file__).resolve().parents[2] / "migrations")
#: Revision files are named by date and slug, e.g. 20261122_initial_schema.py.
FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(slug)s"


@dataclass(frozen=True)
class Status:
    """Where a database stands: its revision(s) and the code's head."""

    current: tuple[str, ...]
    head: str

    @property
    def up_to_date(self) -> bool:
        """True when the database is at the head revision."""
        return self.current == (self.head,)


def alembic_config(*, url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic Config for pricewatch's migrations on `url` or on an open `connection`."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("timezone", "UTC")
    # Passed as attributes, not as ini options, so a password with % needs no escaping.
    if url is not None:
        config.attributes["url"] = normalise_url(url)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(config: Config, revision: str = "head") -> None:
    """Migrate up to `revision`."""
    command.upgrade(config, revision)


def downgrade(config: Config, revision: str) -> None:
    """Migrate down to `revision` (`base` empties the database)."""
    command.downgrade(config, revision)


def new_revision(config: Config, *, message: str, autogenerate: bool = True) -> list[Path]:
    """Write a new revision file (compared with the models when `autogenerate`); its paths."""
    scripts = command.revision(config, message=message, autogenerate=autogenerate)
    found = scripts if isinstance(scripts, list) else [scripts]
    return [Path(script.path) for script in found if script is not None]


def head() -> str:
    """The newest revision shipped with the code."""
    found = ScriptDirectory(SCRIPT_LOCATION).get_current_head()
    assert found is not None, "pricewatch ships at least one migration"
    return found


def status(connection: Connection) -> Status:
    """The database's revision(s) and the head."""
    context = MigrationContext.configure(connection)
    return Status(current=tuple(context.get_current_heads()), head=head())


def status_of(engine: Engine) -> Status:
    """`status` on a fresh connection of `engine`."""
    with engine.connect() as connection:
        return status(connection)


def drift(connection: Connection) -> list[Any]:
    """Differences between the models and the database schema (empty when they agree)."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "target_metadata": Base.metadata}
    )
    diffs: list[Any] = compare_metadata(context, Base.metadata)
    return diffs
