"""Read-only sessions: on SQLite they read the last commit while a writer holds the lock.

The web process reads through them, so a page never waits behind a worker's write transaction
(every other SQLite transaction begins IMMEDIATE and queues for the write lock).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import migrate
from pricewatch.adapters.db.engine import (
    create_engine_for,
    read_session_factory,
    session_factory,
)
from pricewatch.adapters.db.tables import products


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.execute(select(func.count()).select_from(products)).scalar_one())


def test_a_read_session_does_not_wait_for_a_writer_and_a_write_session_does(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    migrate.upgrade(migrate.alembic_config(url=url), "head")
    writer_engine = create_engine_for(url)
    engine = create_engine_for(url, busy_timeout=0.5)
    try:
        with writer_engine.connect() as writer:
            writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is taken
            started = time.monotonic()
            assert _count(read_session_factory(engine)) == 0
            assert time.monotonic() - started < 0.4
            with pytest.raises(sa_exc.OperationalError, match="locked"):
                _count(session_factory(engine))  # BEGIN IMMEDIATE waits, then gives up
            writer.rollback()
    finally:
        writer_engine.dispose()
        engine.dispose()
