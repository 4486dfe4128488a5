"""A job whose worker died is requeued by the tick and run by a real Huey worker, once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.tables import price_history
from pricewatch.config import Settings
from pricewatch.demo import DemoShop
from pricewatch.domain.job import JobStatus, is_terminal
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import jobs, scheduler
from pricewatch.worker.huey_engine import HueyEngine
from tests.jobs.conftest import ThreadWorker, status_of, wait_for

from .conftest import add_job, claim_as_dead_worker, count

Sessions = sessionmaker[Session]


@pytest.fixture
def backend() -> str:
    """The queue is SQLite; so is the database here (the tick runs on both elsewhere)."""
    return "sqlite"


def test_a_requeued_job_runs_once_without_duplicate_price_rows(
    real_sessions: Sessions,
    huey_engine: HueyEngine,
    start_worker: Callable[[], ThreadWorker],
    settings: Settings,
    demo_shop: DemoShop,
) -> None:
    (url,) = demo_shop.product_urls(1)
    job_id = add_job(real_sessions, url=url, created_at=utc_now() - timedelta(minutes=10))
    claim_as_dead_worker(real_sessions, job_id, last_beat=utc_now() - timedelta(minutes=5))
    start_worker()
    first = scheduler.tick(settings=settings, engine=huey_engine, sessions=real_sessions)
    assert first.requeued == (job_id,)
    wait_for(lambda: is_terminal(status_of(real_sessions, job_id)))
    second = scheduler.tick(settings=settings, engine=huey_engine, sessions=real_sessions)
    assert (second.requeued, second.dispatched) == ((), ())
    job = jobs.get(sessions=real_sessions, job_id=job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
    assert count(real_sessions, price_history) == 1
