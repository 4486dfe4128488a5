"""A real Huey consumer (threads, SQLite queue) running jobs against the demo shop."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import job_items
from pricewatch.adapters.db import job_repository as repo
from pricewatch.adapters.db import ops_repository as ops_repo
from pricewatch.adapters.db.job_items import Outcome
from pricewatch.adapters.db.job_tables import product_locks
from pricewatch.adapters.db.tables import price_history
from pricewatch.config import Settings
from pricewatch.demo import DemoShop
from pricewatch.domain.job import ItemFilter, JobKind, JobStatus, TriggeredBy
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import jobs
from pricewatch.services.job_run import run_job
from pricewatch.worker.heartbeat import heartbeat_name
from pricewatch.worker.huey_engine import HueyEngine

from .conftest import (
    RunningWorker,
    catalog_snapshot,
    ended,
    seed_catalog,
    seed_slow,
    status_of,
    wait_for,
)

StartWorker = Callable[[], RunningWorker]


@pytest.fixture
def backend() -> str:
    """The queue is SQLite; so is the database here (the services run on both elsewhere)."""
    return "sqlite"


def _count(sessions: sessionmaker[Session], table: object) -> int:
    with sessions() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_enqueue_then_worker_saves_price_rows(
    real_sessions: sessionmaker[Session],
    huey_engine: HueyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    start_worker()
    urls = demo_shop.product_urls(3)
    created = jobs.enqueue_urls(sessions=real_sessions, engine=huey_engine, urls=urls)
    assert all(c.dispatched for c in created)
    ids = [c.job_id for c in created]
    wait_for(ended(real_sessions, *ids))
    assert {status_of(real_sessions, j) for j in ids} == {JobStatus.SUCCEEDED}
    assert _count(real_sessions, price_history) == 3
    assert _count(real_sessions, product_locks) == 0


def test_scrape_all_filters_counts_every_item_and_a_failure_is_partial(
    real_sessions: sessionmaker[Session],
    huey_engine: HueyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    good = demo_shop.catalog.products[:3]
    other = demo_shop.catalog.products[3]
    seed_catalog(
        real_sessions,
        [
            *(
                catalog_snapshot(demo_shop, p.url_path, reference=p.sku, category="Phones")
                for p in good
            ),
            catalog_snapshot(demo_shop, "/robot-check", reference="BLOCKED", category="phones"),
            catalog_snapshot(demo_shop, "/gone/nowhere", reference="GONE", category="books"),
            catalog_snapshot(
                demo_shop, other.url_path, reference="X", source="other", category="phones"
            ),
        ],
    )
    chosen = ItemFilter(
        include_categories=["phones"], include_products=["GONE"], exclude_sources=["other"]
    )
    start_worker()
    created = jobs.enqueue_scrape_all(
        sessions=real_sessions, engine=huey_engine, item_filter=chosen
    )
    wait_for(ended(real_sessions, created.job_id))
    job = jobs.get(sessions=real_sessions, job_id=created.job_id)
    assert job.status is JobStatus.PARTIAL
    assert (job.progress.completed, job.progress.total) == (5, 5)
    assert job.counts.errors == 2
    assert job.counts.created + job.counts.updated == 3
    log = [e.message for e in jobs.events(sessions=real_sessions, job_id=created.job_id)]
    assert any("5 product(s) selected" in line for line in log)
    assert any("/robot-check" in line and "blocked" in line for line in log)
    assert any("/gone/nowhere" in line and "not_found" in line for line in log)


def test_cancel_of_a_pending_job_it_never_starts(
    real_sessions: sessionmaker[Session],
    huey_engine: HueyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    urls = demo_shop.product_urls(2)
    first, second = jobs.enqueue_urls(sessions=real_sessions, engine=huey_engine, urls=urls)
    assert jobs.cancel(sessions=real_sessions, engine=huey_engine, job_id=first.job_id).status is (
        JobStatus.CANCELLED
    )
    start_worker()
    wait_for(ended(real_sessions, second.job_id))
    job = jobs.get(sessions=real_sessions, job_id=first.job_id)
    assert job.status is JobStatus.CANCELLED
    assert (job.started_at, job.attempts) == (None, 0)
    assert _count(real_sessions, price_history) == 1


def test_cancel_of_a_running_scrape_all_stops_within_five_seconds(
    real_sessions: sessionmaker[Session],
    huey_engine: HueyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    seed_slow(demo_shop, real_sessions, 6, delay=25)
    start_worker()
    created = jobs.enqueue_scrape_all(
        sessions=real_sessions,
        engine=huey_engine,
        item_filter=ItemFilter(include_categories=["slow"]),
    )
    wait_for(lambda: _count(real_sessions, product_locks) > 0)  # fetches in flight
    asked = time.monotonic()
    cancelled = jobs.cancel(sessions=real_sessions, engine=huey_engine, job_id=created.job_id)
    assert cancelled.status is JobStatus.RUNNING
    wait_for(ended(real_sessions, created.job_id), timeout=5.0)
    assert time.monotonic() - asked < 5.0
    job = jobs.get(sessions=real_sessions, job_id=created.job_id)
    assert job.status is JobStatus.CANCELLED
    assert job.error == "cancelled after 0 of 6 item(s)"
    assert _count(real_sessions, product_locks) == 0


def test_cancel_all_leaves_no_job_running(
    real_sessions: sessionmaker[Session],
    huey_engine: HueyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    for n in range(4):  # products of their own: no job waits for another's product lock
        seed_slow(demo_shop, real_sessions, 2, delay=25, category=f"slow{n}", first=2 * n)
    start_worker()
    ids = [
        jobs.enqueue_scrape_all(
            sessions=real_sessions,
            engine=huey_engine,
            item_filter=ItemFilter(include_categories=[f"slow{n}"]),
        ).job_id
        for n in range(4)  # three workers: three run, one waits
    ]
    wait_for(lambda: sum(status_of(real_sessions, j) is JobStatus.RUNNING for j in ids) >= 1)
    done = jobs.cancel_all(sessions=real_sessions, engine=huey_engine)
    assert {c.job_id for c in done} == set(ids)
    wait_for(ended(real_sessions, *ids), timeout=5.0)
    assert {status_of(real_sessions, j) for j in ids} == {JobStatus.CANCELLED}
    with real_sessions() as s:
        assert repo.active_jobs(session=s) == []


def test_retry_of_a_failed_job_runs_as_a_linked_job(
    real_sessions: sessionmaker[Session],
    huey_engine: HueyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    start_worker()
    (failed,) = jobs.enqueue_urls(
        sessions=real_sessions, engine=huey_engine, urls=[demo_shop.url("/robot-check")]
    )
    wait_for(ended(real_sessions, failed.job_id))
    assert status_of(real_sessions, failed.job_id) is JobStatus.FAILED
    again = jobs.retry(sessions=real_sessions, engine=huey_engine, job_id=failed.job_id)
    wait_for(ended(real_sessions, again.job_id))
    job = jobs.get(sessions=real_sessions, job_id=again.job_id)
    assert (job.retry_of, job.status) == (failed.job_id, JobStatus.FAILED)


def test_worker_shutdown_hands_a_running_job_back(
    real_sessions: sessionmaker[Session],
    huey_engine: HueyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    seed_slow(demo_shop, real_sessions, 2, delay=25)
    worker = start_worker()
    created = jobs.enqueue_scrape_all(
        sessions=real_sessions,
        engine=huey_engine,
        item_filter=ItemFilter(include_categories=["slow"]),
    )
    wait_for(lambda: status_of(real_sessions, created.job_id) is JobStatus.RUNNING)
    stopping = time.monotonic()
    worker.stop()
    assert time.monotonic() - stopping < 5.0
    job = jobs.get(sessions=real_sessions, job_id=created.job_id)
    assert (job.status, job.lease_owner) == (JobStatus.PENDING, None)
    log = [e.message for e in jobs.events(sessions=real_sessions, job_id=created.job_id)]
    assert "shutting down" in log[-1]
    # Huey kept the task: the next worker runs the job again (attempt 2); cancel ends it.
    start_worker()
    wait_for(lambda: jobs.get(sessions=real_sessions, job_id=created.job_id).attempts == 2)
    jobs.cancel(sessions=real_sessions, engine=huey_engine, job_id=created.job_id)
    wait_for(ended(real_sessions, created.job_id), timeout=5.0)


def test_a_later_attempt_resumes_a_scrape_all_where_the_earlier_one_stopped(
    real_sessions: sessionmaker[Session], settings: Settings, demo_shop: DemoShop
) -> None:
    """Items marked done are not checked again, their counts carry on, and the dead attempt's
    locks are taken over rather than skipped (what a SIGKILL leaves behind: tests/jobs_engines).
    """
    seed_catalog(
        real_sessions,
        [
            catalog_snapshot(demo_shop, url_path, reference=f"R-{n}")
            for n, url_path in enumerate(p.url_path for p in demo_shop.catalog.products[:4])
        ],
    )
    with real_sessions() as s:
        items = repo.catalog_items(session=s)
        job_id = repo.create_job(
            session=s,
            kind=JobKind.SCRAPE_ALL,
            params={},
            triggered_by=TriggeredBy.MANUAL,
            now=utc_now(),
        )
        # Attempt 1 (on a worker that died) finished the first two items and held the third.
        assert repo.claim_job(session=s, job_id=job_id, worker_id="dead", now=utc_now())
        for item in items[:2]:
            job_items.mark_done(
                session=s, job_id=job_id, item_id=item.id, outcome=Outcome.UPDATED, now=utc_now()
            )
        assert repo.acquire_product_lock(
            session=s,
            key=repo.lock_key(items[2].url),
            holder=f"job {job_id} on dead",
            now=utc_now(),
            ttl=timedelta(minutes=5),
        )
        assert repo.release_job(session=s, job_id=job_id, worker_id="dead", now=utc_now())
        s.commit()
    before = _count(real_sessions, price_history)
    outcome = run_job(job_id, settings=settings, sessions=real_sessions, worker_id="alive")
    assert outcome.status is JobStatus.SUCCEEDED
    job = jobs.get(sessions=real_sessions, job_id=job_id)
    assert (job.progress.completed, job.progress.total, job.attempts) == (4, 4, 2)
    assert (job.counts.updated + job.counts.created, job.counts.skipped) == (4, 0)
    assert _count(real_sessions, price_history) == before + 2  # only the two unfinished ones
    assert _count(real_sessions, job_items.job_items) == 4
    assert _count(real_sessions, product_locks) == 0
    messages = [e.message for e in jobs.events(sessions=real_sessions, job_id=job_id)]
    assert "resumed: 2 of 4 item(s) were done by earlier attempts" in messages


def test_an_idle_worker_records_its_heartbeat(
    huey_engine: HueyEngine, start_worker: StartWorker
) -> None:
    """/health can tell an idle worker from a dead one: the worker beats with no job to run."""

    def beats() -> list[datetime]:
        with huey_engine.sessions()() as session:
            states = ops_repo.list_states(session=session)
        return [s.at for s in states if s.name == heartbeat_name()]

    start_worker()
    wait_for(lambda: bool(beats()), timeout=10)
    first = beats()[0]
    wait_for(lambda: beats()[0] > first, timeout=10)  # again, every heartbeat_seconds


def test_acquire_product_lock_is_one_prepared_statement(
    real_sessions: sessionmaker[Session],
) -> None:
    """Taken once, refused to another holder, taken over once expired (built once, reused)."""
    now = utc_now()
    ttl = timedelta(seconds=60)
    with real_sessions() as session:
        take = repo.acquire_product_lock
        assert take(session=session, key="k", holder="a", now=now, ttl=ttl)
        assert not take(session=session, key="k", holder="b", now=now, ttl=ttl)
        assert take(session=session, key="k", holder="a", now=now, ttl=ttl)
        later = now + ttl + timedelta(seconds=1)
        assert take(session=session, key="k", holder="b", now=later, ttl=ttl)
        session.commit()
        holder = session.execute(select(product_locks.c.holder)).scalar_one()
    assert holder == "b"
