"""Job services on SQLite and PostgreSQL: the outbox, cancel, cancel-all, retry, running a job."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import job_repository as repo
from pricewatch.adapters.db.tables import price_history
from pricewatch.config import Settings
from pricewatch.demo import DemoShop
from pricewatch.domain.job import EventLevel, JobKind, JobStatus
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import job_run, jobs

from .conftest import FAST, FakeEngine, job_settings


def test_create_commits_then_dispatches(
    sessions: sessionmaker[Session], fake_engine: FakeEngine
) -> None:
    created = jobs.enqueue_urls(
        sessions=sessions, engine=fake_engine, urls=["https://x.example/p"]
    )[0]
    assert created.dispatched
    assert fake_engine.submitted == [created.job_id]
    job = jobs.get(sessions=sessions, job_id=created.job_id)
    assert job.status is JobStatus.PENDING
    assert job.engine_task_id == f"task-{created.job_id}"
    assert job.dispatched_at is not None


def test_broker_down_keeps_the_job_pending_with_an_event(
    sessions: sessionmaker[Session], fake_engine: FakeEngine
) -> None:
    fake_engine.down = True
    created = jobs.enqueue_scrape_all(sessions=sessions, engine=fake_engine)
    assert not created.dispatched
    assert created.reason == "ConnectionError: broker unreachable"
    job = jobs.get(sessions=sessions, job_id=created.job_id)
    assert (job.status, job.dispatched_at, job.kind) == (
        JobStatus.PENDING,
        None,
        JobKind.SCRAPE_ALL,
    )
    lines = jobs.events(sessions=sessions, job_id=created.job_id)
    assert lines[-1].level is EventLevel.WARNING
    assert "stays pending" in lines[-1].message
    # The broker is back: the waiting job is handed over, once.
    fake_engine.down = False
    sent = jobs.dispatch_pending(sessions=sessions, engine=fake_engine)
    assert created.job_id in [c.job_id for c in sent]
    assert jobs.dispatch_pending(sessions=sessions, engine=fake_engine) == []


def test_cancel_pending_never_starts(
    sessions: sessionmaker[Session], fake_engine: FakeEngine, tmp_path: Path
) -> None:
    created = jobs.enqueue_urls(
        sessions=sessions, engine=fake_engine, urls=["https://x.example/p"]
    )[0]
    cancelled = jobs.cancel(sessions=sessions, engine=fake_engine, job_id=created.job_id)
    assert cancelled.status is JobStatus.CANCELLED
    assert fake_engine.revoked == [(f"task-{created.job_id}", False)]
    settings = job_settings("sqlite://", tmp_path)
    outcome = job_run.run_job(
        created.job_id, settings=settings, sessions=sessions, worker_id="w", config=FAST
    )
    assert not outcome.claimed
    job = jobs.get(sessions=sessions, job_id=created.job_id)
    assert job.status is JobStatus.CANCELLED
    assert job.started_at is None
    with pytest.raises(jobs.JobStateError, match="already cancelled"):
        jobs.cancel(sessions=sessions, engine=fake_engine, job_id=created.job_id)
    with pytest.raises(jobs.JobNotFoundError):
        jobs.cancel(sessions=sessions, engine=fake_engine, job_id=10**9)


def test_cancel_all_and_retry(sessions: sessionmaker[Session], fake_engine: FakeEngine) -> None:
    urls = [f"https://x.example/p{i}" for i in range(3)]
    created = jobs.enqueue_urls(sessions=sessions, engine=fake_engine, urls=urls)
    with sessions() as s:
        repo.claim_job(session=s, job_id=created[0].job_id, worker_id="w", now=utc_now())
        s.commit()
    with pytest.raises(jobs.JobStateError, match="running"):
        jobs.retry(sessions=sessions, engine=fake_engine, job_id=created[0].job_id)
    done = {c.job_id: c.status for c in jobs.cancel_all(sessions=sessions, engine=fake_engine)}
    assert done[created[0].job_id] is JobStatus.RUNNING  # asked to stop
    assert done[created[1].job_id] is JobStatus.CANCELLED
    assert (f"task-{created[0].job_id}", True) in fake_engine.revoked
    with sessions() as s:
        assert [j.id for j in repo.active_jobs(session=s)] == [created[0].job_id]
    again = jobs.retry(sessions=sessions, engine=fake_engine, job_id=created[1].job_id)
    new = jobs.get(sessions=sessions, job_id=again.job_id)
    assert (new.retry_of, new.kind, new.params) == (
        created[1].job_id,
        JobKind.SCRAPE_PRODUCT,
        {"url": urls[1]},
    )
    assert new.status is JobStatus.PENDING
    old_log = jobs.events(sessions=sessions, job_id=created[1].job_id)
    assert old_log[-1].message == f"retried as job {again.job_id}"


def test_run_scrape_product_saves_a_price_and_schedules(
    real_sessions: sessionmaker[Session],
    fake_engine: FakeEngine,
    demo_shop: DemoShop,
    settings: Settings,
) -> None:
    url = demo_shop.product_urls(1)[0]
    created = jobs.schedule_product(
        sessions=real_sessions, engine=fake_engine, url=url, interval=timedelta(hours=2)
    )
    outcome = job_run.run_job(
        created.job_id, settings=settings, sessions=real_sessions, worker_id="w", config=FAST
    )
    assert outcome.status is JobStatus.SUCCEEDED
    job = jobs.get(sessions=real_sessions, job_id=created.job_id)
    assert job.counts.created == 1
    assert (job.progress.completed, job.progress.total) == (1, 1)
    with real_sessions() as s:
        assert s.execute(select(func.count()).select_from(price_history)).scalar_one() == 1
        items = repo.catalog_items(session=s)
    assert len(items) == 1
    messages = [e.message for e in jobs.events(sessions=real_sessions, job_id=created.job_id)]
    assert any("checked every 7200 s" in m for m in messages)
    # A redelivered task finds the job done: nothing runs twice, no second price row.
    again = job_run.run_job(
        created.job_id, settings=settings, sessions=real_sessions, worker_id="w2", config=FAST
    )
    assert not again.claimed
    with real_sessions() as s:
        assert s.execute(select(func.count()).select_from(price_history)).scalar_one() == 1


def test_a_product_job_keeps_naming_its_product_when_the_product_url_changes(
    real_sessions: sessionmaker[Session],
    fake_engine: FakeEngine,
    demo_shop: DemoShop,
    settings: Settings,
) -> None:
    # The same product reached through a redirect, then directly: the second check stores the
    # direct URL on the product, and the first job must still say which product it checked.
    redirected = f"{demo_shop.base_url}/redirect/2"  # ends on the catalog's first product
    direct = demo_shop.product_url(demo_shop.catalog.products[0])
    created = jobs.enqueue_urls(
        sessions=real_sessions, engine=fake_engine, urls=[redirected, direct]
    )
    for job in created:
        job_run.run_job(
            job.job_id, settings=settings, sessions=real_sessions, worker_id="w", config=FAST
        )
    with real_sessions() as s:
        (product_id,) = [item.id for item in repo.catalog_items(session=s)]
    records = [jobs.get(sessions=real_sessions, job_id=c.job_id) for c in created]
    touched = jobs.product_ids(sessions=real_sessions, records=records)
    assert touched == {created[0].job_id: [product_id], created[1].job_id: [product_id]}
