"""The job suite on every engine setup: enqueue, catalog jobs, cancel, cancel-all, retry,
hand-back, the idle heartbeat."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import job_repository as repo
from pricewatch.adapters.db import ops_repository as ops_repo
from pricewatch.adapters.db.job_tables import product_locks
from pricewatch.adapters.db.tables import price_history
from pricewatch.demo import DemoShop
from pricewatch.domain.job import ItemFilter, JobStatus
from pricewatch.services import jobs
from pricewatch.worker.celery_engine import CeleryEngine
from pricewatch.worker.heartbeat import heartbeat_name
from tests.jobs.conftest import catalog_snapshot, ended, seed_catalog, seed_slow, status_of

from .conftest import (
    CELERY_POSTGRESQL,
    HUEY_SETUPS,
    AnyEngine,
    ThreadWorker,
    count,
    fetching,
    wait_for,
    wait_until_claimed,
)

StartWorker = Callable[[], ThreadWorker]


def test_enqueue_then_worker_saves_price_rows(
    real_sessions: sessionmaker[Session],
    engine: AnyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    start_worker()
    urls = demo_shop.product_urls(3)
    created = jobs.enqueue_urls(sessions=real_sessions, engine=engine, urls=urls)
    assert all(c.dispatched for c in created)
    ids = [c.job_id for c in created]
    wait_for(ended(real_sessions, *ids))
    assert {status_of(real_sessions, j) for j in ids} == {JobStatus.SUCCEEDED}
    assert count(real_sessions, price_history) == 3
    assert count(real_sessions, product_locks) == 0
    task_ids = {jobs.get(sessions=real_sessions, job_id=j).engine_task_id for j in ids}
    assert None not in task_ids
    assert len(task_ids) == 3


def test_scrape_all_filters_counts_every_item_and_a_failure_is_partial(
    real_sessions: sessionmaker[Session],
    engine: AnyEngine,
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
    created = jobs.enqueue_scrape_all(sessions=real_sessions, engine=engine, item_filter=chosen)
    wait_for(ended(real_sessions, created.job_id))
    job = jobs.get(sessions=real_sessions, job_id=created.job_id)
    assert job.status is JobStatus.PARTIAL
    assert (job.progress.completed, job.progress.total) == (5, 5)
    assert (job.counts.errors, job.counts.created + job.counts.updated) == (2, 3)
    # The job says why it is not a success: how many items failed, and the first one.
    assert job.error is not None
    assert job.error.startswith("2 of 5 item(s) failed; the first: http")
    assert "/robot-check: blocked" in job.error or "/gone/nowhere: not_found" in job.error
    log = [e.message for e in jobs.events(sessions=real_sessions, job_id=created.job_id)]
    assert any("5 product(s) selected" in line for line in log)
    assert any("/robot-check" in line and "blocked" in line for line in log)
    assert any("/gone/nowhere" in line and "not_found" in line for line in log)


def test_cancel_of_a_pending_job_it_never_starts(
    real_sessions: sessionmaker[Session],
    engine: AnyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    first, second = jobs.enqueue_urls(
        sessions=real_sessions, engine=engine, urls=demo_shop.product_urls(2)
    )
    cancelled = jobs.cancel(sessions=real_sessions, engine=engine, job_id=first.job_id)
    assert (cancelled.status, cancelled.revoked) == (JobStatus.CANCELLED, True)
    start_worker()
    wait_for(ended(real_sessions, second.job_id))
    job = jobs.get(sessions=real_sessions, job_id=first.job_id)
    assert job.status is JobStatus.CANCELLED
    assert (job.started_at, job.attempts) == (None, 0)
    assert count(real_sessions, price_history) == 1


def test_cancel_of_a_running_scrape_all_stops_within_five_seconds(
    real_sessions: sessionmaker[Session],
    engine: AnyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    seed_slow(demo_shop, real_sessions, 6, delay=25)
    start_worker()
    created = jobs.enqueue_scrape_all(
        sessions=real_sessions, engine=engine, item_filter=ItemFilter(include_categories=["slow"])
    )
    wait_for(fetching(real_sessions))
    asked = time.monotonic()
    cancelled = jobs.cancel(sessions=real_sessions, engine=engine, job_id=created.job_id)
    assert cancelled.status is JobStatus.RUNNING
    wait_for(ended(real_sessions, created.job_id), timeout=5.0)
    assert time.monotonic() - asked < 5.0
    job = jobs.get(sessions=real_sessions, job_id=created.job_id)
    assert job.status is JobStatus.CANCELLED
    assert job.error == "cancelled after 0 of 6 item(s)"
    assert count(real_sessions, product_locks) == 0


def test_cancel_all_leaves_no_job_running(
    real_sessions: sessionmaker[Session],
    engine: AnyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    for n in range(4):  # products of their own: no job waits for another's product lock
        seed_slow(demo_shop, real_sessions, 2, delay=25, category=f"slow{n}", first=2 * n)
    start_worker()
    ids = [
        jobs.enqueue_scrape_all(
            sessions=real_sessions,
            engine=engine,
            item_filter=ItemFilter(include_categories=[f"slow{n}"]),
        ).job_id
        for n in range(4)  # three worker slots: three run, one waits
    ]
    wait_until_claimed(real_sessions, *ids, at_least=3)
    done = jobs.cancel_all(sessions=real_sessions, engine=engine)
    assert {c.job_id for c in done} == set(ids)
    wait_for(ended(real_sessions, *ids), timeout=5.0)
    assert {status_of(real_sessions, j) for j in ids} == {JobStatus.CANCELLED}
    with real_sessions() as s:
        assert repo.active_jobs(session=s) == []
    assert count(real_sessions, product_locks) == 0


def test_retry_of_a_failed_job_runs_as_a_linked_job(
    real_sessions: sessionmaker[Session],
    engine: AnyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    start_worker()
    (failed,) = jobs.enqueue_urls(
        sessions=real_sessions, engine=engine, urls=[demo_shop.url("/robot-check")]
    )
    wait_for(ended(real_sessions, failed.job_id))
    first = jobs.get(sessions=real_sessions, job_id=failed.job_id)
    assert first.status is JobStatus.FAILED
    # The job's error is why its one page failed (the page is the job's target).
    assert first.error is not None
    assert first.error.startswith("blocked")
    again = jobs.retry(sessions=real_sessions, engine=engine, job_id=failed.job_id)
    wait_for(ended(real_sessions, again.job_id))
    job = jobs.get(sessions=real_sessions, job_id=again.job_id)
    assert (job.retry_of, job.status) == (failed.job_id, JobStatus.FAILED)


def test_worker_shutdown_hands_a_running_job_back(
    real_sessions: sessionmaker[Session],
    engine: AnyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
) -> None:
    seed_slow(demo_shop, real_sessions, 2, delay=25)
    worker = start_worker()
    created = jobs.enqueue_scrape_all(
        sessions=real_sessions, engine=engine, item_filter=ItemFilter(include_categories=["slow"])
    )
    wait_until_claimed(real_sessions, created.job_id)
    stopping = time.monotonic()
    worker.stop()
    assert time.monotonic() - stopping < 5.0
    job = jobs.get(sessions=real_sessions, job_id=created.job_id)
    # A hand-back at shutdown is not an attempt: restarts never use up the job's attempts.
    assert (job.status, job.lease_owner, job.attempts) == (JobStatus.PENDING, None, 0)
    log = [e.message for e in jobs.events(sessions=real_sessions, job_id=created.job_id)]
    assert "shutting down" in log[-1]
    # The engine kept the task: the next worker claims the job again; cancel ends it.
    start_worker()
    wait_until_claimed(real_sessions, created.job_id)
    assert jobs.get(sessions=real_sessions, job_id=created.job_id).attempts == 1

    def started_again() -> bool:  # log lines are written in batches: the claim comes first
        log = [e.message for e in jobs.events(sessions=real_sessions, job_id=created.job_id)]
        handed_back = max(i for i, line in enumerate(log) if "shutting down" in line)
        return any(line.startswith("started on ") for line in log[handed_back + 1 :])

    wait_for(started_again)
    jobs.cancel(sessions=real_sessions, engine=engine, job_id=created.job_id)
    wait_for(ended(real_sessions, created.job_id), timeout=5.0)


# Celery's heartbeat is its pool children's (started after fork): the thread pool here has none.
@pytest.mark.parametrize("engine_setup", HUEY_SETUPS)
def test_an_idle_worker_records_its_heartbeat(engine: AnyEngine, start_worker: StartWorker) -> None:
    """/health can tell an idle worker from a dead one: the worker beats with no job to run."""

    def beats() -> list[datetime]:
        with engine.sessions()() as session:
            states = ops_repo.list_states(session=session)
        return [s.at for s in states if s.name == heartbeat_name()]

    start_worker()
    wait_for(lambda: bool(beats()), timeout=10)
    first = beats()[0]
    wait_for(lambda: beats()[0] > first, timeout=10)  # again, every heartbeat_seconds


@pytest.mark.parametrize("engine_setup", [CELERY_POSTGRESQL])  # Huey's: tests/jobs
def test_celery_app_is_configured_for_redelivery(engine: AnyEngine) -> None:
    assert isinstance(engine, CeleryEngine)
    conf = engine.app.conf
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost) == (True, True)
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] > engine.config.time_limit
    assert conf.task_time_limit > engine.config.time_limit
    assert (conf.task_serializer, conf.accept_content) == ("json", ["json"])
    assert conf.beat_schedule["pricewatch-scheduler-tick"]["schedule"] <= 30
