"""Database fixtures: every test here runs on real SQLite and real PostgreSQL.

PostgreSQL comes from PW_TEST_POSTGRES_URL (an admin URL); each test session creates its own
throw-away database and drops it at the end, so parallel runs never collide. When PostgreSQL is
unreachable its tests skip with the reason, except under CI=true, where they fail.

Isolation: `session`/`sessions` run inside an outer transaction that is rolled back after the test
(the code under test commits to a SAVEPOINT). Tests that need real commits (threads, outages,
replays) use `fresh_url`: a new, migrated database of their own.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import migrate
from pricewatch.adapters.db.engine import create_engine_for, normalise_url
from pricewatch.config import DbSettings, Settings
from pricewatch.domain.snapshot import (
    Availability,
    FetchInfo,
    FetchMethod,
    FetchStatus,
    ProductSnapshot,
)

ADMIN_URL = os.environ.get(
    "PW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
RUN_ID = uuid.uuid4().hex[:10]
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
_names = itertools.count(1)


def _postgres_missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required when CI=true but is unreachable: {reason}")
    pytest.skip(f"PostgreSQL unreachable at {make_url(ADMIN_URL).render_as_string()}: {reason}")


class PostgresAdmin:
    """Creates and drops this session's throw-away databases."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.created: list[str] = []
        self._scratch: Engine | None = None

    def create(self) -> str:
        """A new empty database; its URL."""
        name = f"pw_test_{RUN_ID}_{next(_names)}"
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        url = normalise_url(ADMIN_URL).set(database=name)
        return url.render_as_string(hide_password=False)

    def create_schema(self) -> str:
        """A new empty schema in this session's scratch database; a URL that uses it."""
        if self._scratch is None:
            self._scratch = create_engine_for(self.create())
        name = f"t_{next(_names)}"
        with self._scratch.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {name}")
        url = self._scratch.url.update_query_dict({"options": f"-csearch_path={name}"})
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if self._scratch is not None:
            self._scratch.dispose()
        with self.engine.connect() as conn:
            for name in self.created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[PostgresAdmin]:
    """Admin access to PostgreSQL (skips, or fails under CI, when it is unreachable)."""
    engine = create_engine(
        normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa_exc.OperationalError as exc:
        engine.dispose()
        _postgres_missing(str(exc.orig).strip().splitlines()[0])
    admin = PostgresAdmin(engine)
    yield admin
    admin.drop_all()
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The database kind a test runs on."""
    return str(request.param)


@pytest.fixture
def empty_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new empty database (a schema on PostgreSQL) of the test's backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    admin: PostgresAdmin = request.getfixturevalue("postgres_admin")
    # A schema, not a database: dropping databases costs a checkpoint each.
    return admin.create_schema()


@pytest.fixture
def fresh_url(empty_url: str) -> str:
    """A new database migrated to the newest revision, for tests that commit for real."""
    migrate.upgrade(migrate.alembic_config(url=empty_url))
    return empty_url


@pytest.fixture(scope="session")
def shared_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Per backend, the migrated database shared by the rolled-back tests (filled lazily)."""
    return {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('shared') / 'shared.db'}"}


@pytest.fixture(scope="session")
def shared_engines() -> Iterator[dict[str, Engine]]:
    """Engines on the shared databases, disposed at the end of the session."""
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture
def engine(
    backend: str,
    shared_urls: dict[str, str],
    shared_engines: dict[str, Engine],
    request: pytest.FixtureRequest,
) -> Engine:
    """The backend's shared, migrated database."""
    if backend not in shared_engines:
        if backend == "postgresql":
            admin: PostgresAdmin = request.getfixturevalue("postgres_admin")
            shared_urls[backend] = admin.create()
        migrate.upgrade(migrate.alembic_config(url=shared_urls[backend]))
        shared_engines[backend] = create_engine_for(shared_urls[backend])
    return shared_engines[backend]


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits only release a savepoint of the test's transaction."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in the test's rolled-back transaction."""
    with sessions() as s:
        yield s


def settings_for(url: str, data_dir: Path) -> Settings:
    """Settings pointing at `url`, with data (the spool) under `data_dir`."""
    return Settings(data_dir=data_dir, db=DbSettings(url=url))


def make_snapshot(
    reference: str | None = "SKU-1",
    *,
    at: datetime = T0,
    price: str | None = "19.99",
    source: str = "teststore",
    url: str | None = None,
    status: FetchStatus = FetchStatus.OK,
    availability: Availability = Availability.IN_STOCK,
    **fields: Any,
) -> ProductSnapshot:
    """A snapshot with sensible defaults."""
    return ProductSnapshot(
        source=source,
        reference=reference,
        url=url or f"https://shop.example/p/{reference or 'none'}",
        title=fields.pop("title", f"Product {reference}"),
        price=Decimal(price) if price is not None else None,
        currency=fields.pop("currency", "EUR"),
        availability=availability,
        fetch=FetchInfo(
            method=FetchMethod.HTTP,
            status=status,
            duration_ms=120,
            html_size_bytes=50_000,
            http_status=200,
            errors=fields.pop("errors", ()),
            fetched_at=at,
        ),
        **fields,
    )


@pytest.fixture
def snapshot_factory() -> Callable[..., ProductSnapshot]:
    """`make_snapshot` as a fixture."""
    return make_snapshot


def minutes(n: int) -> timedelta:
    """n minutes."""
    return timedelta(minutes=n)
