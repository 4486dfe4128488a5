"""Alembic, driven from code: the configuration is built here, no alembic.ini is needed.

The migration scripts ship inside the package (`pricewatch/migrations`), so `pricewatch db ...`
works from an installed wheel. The database is the one in Settings, or a connection given by the
caller (tests run migrations inside their own connection).

Alembic is imported by the functions that migrate or compare, not by this module: checking that
a database is current (`quick_status_of`, what every worker does when it starts) reads the
`alembic_version` row and the revision ids written in the shipped scripts, without Alembic
(about 9 MB of a worker's memory, and its start-up time).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, inspect, text

from pricewatch.adapters.db.engine import normalise_url

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = str(Path(__file__).resolve().parents[2] / "migrations")
#: Revision files are named by date and slug, e.g. 20261122_initial_schema.py.
FILE_TEMPLATE = "%%(year)d%%(month).2d%%(day).2d_%%(slug)s"
#: Alembic's table of applied revisions (its default name: `env.py` keeps it).
VERSION_TABLE = "alembic_version"

# `revision: str = "55f2df9d9e39"` and `down_revision: ... = "f14a366ed498"` (or None, or a
# tuple of ids for a merge), as Alembic's script template writes them.
_REVISION = re.compile(r"^revision\b[^=\n]*=\s*['\"]([0-9A-Za-z_]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=\n]*=\s*(.+)$", re.MULTILINE)
_REVISION_ID = re.compile(r"['\"]([0-9A-Za-z_]+)['\"]")


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
    from alembic.config import Config

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
    from alembic import command

    command.upgrade(config, revision)


def downgrade(config: Config, revision: str) -> None:
    """Migrate down to `revision` (`base` empties the database)."""
    from alembic import command

    command.downgrade(config, revision)


def new_revision(config: Config, *, message: str, autogenerate: bool = True) -> list[Path]:
    """Write a new revision file (compared with the models when `autogenerate`); its paths."""
    from alembic import command

    with _single_database_indexes_skipped():
        scripts = command.revision(config, message=message, autogenerate=autogenerate)
    found = scripts if isinstance(scripts, list) else [scripts]
    return [Path(script.path) for script in found if script is not None]


def head() -> str:
    """The newest revision shipped with the code (Alembic's reading of the scripts)."""
    from alembic.script import ScriptDirectory

    found = ScriptDirectory(SCRIPT_LOCATION).get_current_head()
    assert found is not None, "pricewatch ships at least one migration"
    return found


def status(connection: Connection) -> Status:
    """The database's revision(s) and the head."""
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection)
    return Status(current=tuple(context.get_current_heads()), head=head())


def status_of(engine: Engine) -> Status:
    """`status` on a fresh connection of `engine`."""
    with engine.connect() as connection:
        return status(connection)


def drift(connection: Connection) -> list[Any]:
    """Differences between the models and the database schema (empty when they agree)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from pricewatch.adapters.db.tables import Base

    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "target_metadata": Base.metadata}
    )
    with _single_database_indexes_skipped():
        diffs: list[Any] = compare_metadata(context, Base.metadata)
    return diffs


@contextmanager
def _single_database_indexes_skipped() -> Iterator[None]:
    """Alembic's warning that it skips an expression index made on one database only
    (`Index.ddl_if(dialect=...)`, e.g. ix_products_lower_title on PostgreSQL) where it cannot
    reflect it (SQLite) is expected: the index is not made there, so there is nothing to compare.
    Only that warning, for those indexes, is silenced."""
    from pricewatch.adapters.db.tables import Base

    with warnings.catch_warnings():
        for table in Base.metadata.tables.values():
            for index in table.indexes:
                only = getattr(getattr(index, "_ddl_if", None), "dialect", None)
                if only is not None and index.name:
                    warnings.filterwarnings(
                        "ignore",
                        message=f"autogenerate skipping .* expression-based index '{index.name}'",
                    )
        yield


# --- without Alembic ---------------------------------------------------------------------------


@cache
def shipped_head() -> str:
    """The newest revision shipped with the code, read from the scripts' text (no Alembic).

    The one revision no other script names as its `down_revision`; `head()` is Alembic's own
    reading of the same scripts (the tests check that they agree).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in Path(SCRIPT_LOCATION, "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        if (found := _REVISION.search(source)) is None:
            continue
        revisions.add(found.group(1))
        if (down := _DOWN_REVISION.search(source)) is not None:
            parents.update(_REVISION_ID.findall(down.group(1)))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the shipped migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def recorded_revisions(connection: Connection) -> tuple[str, ...]:
    """The revision(s) the database says it is at (empty when never migrated)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return ()
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
    return tuple(sorted(rows))


def quick_status_of(engine: Engine) -> Status:
    """`status_of` without Alembic: the `alembic_version` row(s) against `shipped_head()`."""
    with engine.connect() as connection:
        return Status(current=recorded_revisions(connection), head=shipped_head())
