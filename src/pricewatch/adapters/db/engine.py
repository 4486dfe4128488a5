"""Engines and sessions from Settings, with the per-database settings pricewatch relies on.

SQLite: WAL journal (readers never block the writer) checkpointed every ~40 MB, a busy timeout so
writers queue instead of failing, foreign keys on (for ON DELETE CASCADE / SET NULL), and every
transaction started with BEGIN IMMEDIATE, so a transaction that reads and then writes cannot fail
half-way with "database is locked" when another writer got in between. PostgreSQL: the session
time zone is UTC, connections are checked before use (a restarted server is noticed), connecting
gives up after 10 seconds.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.config import Settings

#: Seconds before giving up on connecting to PostgreSQL.
CONNECT_TIMEOUT = 10
#: SQLite: WAL pages (4 KiB) written before a commit checkpoints them into the database.
WAL_AUTOCHECKPOINT_PAGES = 10_000
#: SQLite: the WAL file is truncated back to this size after a checkpoint.
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


class UnsupportedDatabaseError(ValueError):
    """The URL names a database pricewatch does not support (SQLite and PostgreSQL only)."""


def normalise_url(url: str | URL) -> URL:
    """The URL with the psycopg (3) driver for PostgreSQL; refuses other databases."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        return parsed.set(drivername="postgresql+psycopg")
    if backend not in ("postgresql", "sqlite"):
        raise UnsupportedDatabaseError(
            f"unsupported database {backend!r}: use sqlite or postgresql"
        )
    return parsed


def redact(url: str | URL) -> str:
    """The URL for messages: password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine_for(
    url: str | URL, *, echo: bool = False, pool_size: int = 5, busy_timeout: float = 30.0
) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, configured as the module docstring says."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo=echo, busy_timeout=busy_timeout)
    # Keep the URL's own server options (e.g. ?options=-csearch_path%3Dpricewatch) beside ours.
    given = parsed.query.get("options", ())
    given = (given,) if isinstance(given, str) else given
    options = " ".join([*given, "-c timezone=UTC"])
    return create_engine(
        parsed.difference_update_query(["options"]),
        echo=echo,
        pool_size=pool_size,
        pool_pre_ping=True,
        connect_args={
            "options": options,
            "connect_timeout": CONNECT_TIMEOUT,
            "application_name": "pricewatch",
        },
    )


def engine_from_settings(settings: Settings) -> Engine:
    """The application's engine (`settings.database_url`)."""
    return create_engine_for(
        settings.database_url,
        echo=settings.db.echo,
        pool_size=settings.db.pool_size,
        busy_timeout=settings.db.busy_timeout,
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


#: Execution option of read-only work: on SQLite its transactions begin DEFERRED.
READ_ONLY = "pricewatch_read_only"


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read (the web process's pages and GET endpoints).

    Every other SQLite transaction begins IMMEDIATE (it takes the write lock at once, so two
    writers queue instead of failing); a read does not need the lock, and with it would wait
    behind every worker's write. These sessions begin DEFERRED and read the last commit at once.
    They must not write: a deferred transaction that tries to fails "database is locked" at
    once when a writer is busy. On PostgreSQL they are ordinary sessions.
    """
    return sessionmaker(bind=engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def _sqlite_engine(url: URL, *, echo: bool, busy_timeout: float) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )
    busy_ms = int(busy_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable across application crashes in WAL mode; only a power cut may lose
            # the last commits, never corrupt the file.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Checkpoint every ~40 MB of WAL rather than every 4 MB: a batch of 500 snapshots
            # writes ~1.5 MB (one leaf page per product in each index it touches), so the default
            # checkpointed every few commits and copied the same hot pages again each time.
            cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
            cursor.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # On the DBAPI connection (exec_driver_sql costs ~100 µs per transaction), with its errors
        # ("database is locked" after the busy timeout) raised as SQLAlchemy's, as it would.
        # Read-only sessions (`read_session_factory`) begin deferred: in WAL mode a reader sees
        # the last commit and never waits for the writer.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        try:
            connection.connection.dbapi_connection.execute(begin)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(
                begin, (), exc, sqlite3.Error, dialect=engine.dialect
            ) from exc

    return engine
