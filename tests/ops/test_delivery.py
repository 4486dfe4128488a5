"""One delivery of a job (`worker.runs.run_delivery`, both engines' task): when it is re-queued.

A real engine on databases that cannot serve the claim: PostgreSQL down (nothing listens on
the port) is tried again later, with backoff, up to `claim_attempts` deliveries; a database
without the tables is a programming error, raised at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc

from pricewatch.config import DbSettings, Settings
from pricewatch.worker.huey_engine import HueyEngine, WorkerConfig
from pricewatch.worker.runs import run_delivery

DOWN_URL = "postgresql+psycopg://pw:secret@127.0.0.1:1/nothing"


class Requeued(Exception):
    """What the test's `requeue` hands back to be raised."""


class Requeue:
    """Records each re-queue: (delay, claims the next delivery carries, the database error)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, int, sa_exc.SQLAlchemyError]] = []

    def __call__(self, delay: float, claims: int, error: sa_exc.SQLAlchemyError) -> Requeued:
        self.calls.append((delay, claims, error))
        return Requeued()


@contextmanager
def _engine(url: str, data: Path) -> Iterator[HueyEngine]:
    engine = HueyEngine(
        Settings(data_dir=data, db=DbSettings(url=url)), worker=WorkerConfig(claim_attempts=3)
    )
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def down(tmp_path: Path) -> Iterator[HueyEngine]:
    """An engine whose database cannot be reached."""
    with _engine(DOWN_URL, tmp_path / "data") as engine:
        yield engine


def test_a_database_that_is_down_requeues_the_job_with_backoff(down: HueyEngine) -> None:
    requeue = Requeue()
    for claims in (0, 1):
        with pytest.raises(Requeued) as caught:
            run_delivery(down, 7, claims=claims, requeue=requeue)
        delay, next_claims, error = requeue.calls[-1]
        assert next_claims == claims + 1
        assert isinstance(error, sa_exc.OperationalError)
        assert caught.value.__cause__ is error
        ceiling = 2.0 * 2**claims  # exponential, jittered in [1/2, 1] of it
        assert ceiling / 2 <= delay <= ceiling
    assert not down.activity.busy()


def test_the_last_claim_attempt_raises_the_database_error(down: HueyEngine) -> None:
    requeue = Requeue()
    with pytest.raises(sa_exc.OperationalError):
        run_delivery(down, 7, claims=2, requeue=requeue)  # the third of three deliveries
    assert requeue.calls == []


@pytest.mark.parametrize("backend", ["postgresql"])
def test_an_error_that_is_not_unavailability_is_raised_at_once(
    empty_url: str, tmp_path: Path
) -> None:
    requeue = Requeue()
    no_tables = _engine(empty_url, tmp_path / "data")  # not a passing outage
    with no_tables as engine, pytest.raises(sa_exc.ProgrammingError):
        run_delivery(engine, 7, claims=0, requeue=requeue)
    assert requeue.calls == []
