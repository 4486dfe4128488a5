"""Fault tests on every engine setup: a killed worker, a broker that is down, a crashing job, and
Celery's terminate on a real prefork worker.

Killed workers are real `pricewatch worker` processes (SIGKILL to their process group, pool
children included). Those on Celery use a throw-away `redis-server` of the test's own, so the
default queue they consume is private; the shared Redis is never stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.job_items import job_items
from pricewatch.adapters.db.job_tables import product_locks
from pricewatch.adapters.db.tables import price_history, products
from pricewatch.config import Settings
from pricewatch.demo import DemoShop
from pricewatch.domain.job import EventLevel, ItemFilter, JobStatus
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import jobs, pipeline, scheduler
from pricewatch.services.scheduler import TickReport
from pricewatch.worker.celery_engine import CeleryEngine
from tests.jobs.conftest import catalog_snapshot, ended, seed_catalog, seed_slow, status_of

from .conftest import (
    CELERY_POSTGRESQL,
    ENGINE_SETUPS,
    FAST,
    AnyEngine,
    ProcessWorker,
    ThreadWorker,
    ThrowAwayRedis,
    count,
    fetching,
    make_engine,
    wait_for,
    worker_environment,
)

StartWorker = Callable[[], ThreadWorker]


def tick_later(settings: Settings, engine: AnyEngine, *, seconds: float = 15.0) -> TickReport:
    """A scheduler tick as if `seconds` had passed (past its dispatch grace and stale limit)."""
    return scheduler.tick(
        settings=settings, engine=engine, now=utc_now() + timedelta(seconds=seconds)
    )


def _messages(sessions: sessionmaker[Session], job_id: int) -> list[str]:
    return [e.message for e in jobs.events(sessions=sessions, job_id=job_id)]


# --- broker stopped ----------------------------------------------------------------------------


# A broker of the test's own to stop and restart: Redis for Celery (not the shared RabbitMQ).
@pytest.mark.parametrize("engine_setup", ENGINE_SETUPS)
def test_broker_down_jobs_stay_pending_then_all_run_when_it_returns(
    engine_name: str,
    settings: Settings,
    real_sessions: sessionmaker[Session],
    demo_shop: DemoShop,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    outage = _Outage.for_engine(engine_name, settings, tmp_path, request)
    engine = make_engine(outage.settings, queue="pricewatch")
    try:
        outage.begin()
        created = jobs.enqueue_urls(
            sessions=real_sessions, engine=engine, urls=demo_shop.product_urls(3)
        )
        assert not any(c.dispatched for c in created)
        for c in created:
            assert status_of(real_sessions, c.job_id) is JobStatus.PENDING
            last = jobs.events(sessions=real_sessions, job_id=c.job_id)[-1]
            assert last.level is EventLevel.WARNING
            assert "stays pending" in last.message
        if isinstance(engine, CeleryEngine):
            assert "unreachable" in (created[0].reason or "")
            assert str(outage.redis_port) in (created[0].reason or "")
        outage.end()
        worker = ThreadWorker(engine).start()
        try:
            report = tick_later(outage.settings, engine)
            assert set(report.dispatched) == {c.job_id for c in created}
            wait_for(ended(real_sessions, *(c.job_id for c in created)))
        finally:
            worker.stop()
        assert {status_of(real_sessions, c.job_id) for c in created} == {JobStatus.SUCCEEDED}
        assert count(real_sessions, price_history) == 3
    finally:
        engine.close()
        outage.close()


class _Outage:
    """How a broker goes down and comes back: a throw-away Redis, or a queue file unusable."""

    def __init__(self, settings: Settings, *, redis: ThrowAwayRedis | None, blocker: Path) -> None:
        self.redis = redis
        self.blocker = blocker
        self.settings = settings

    @classmethod
    def for_engine(
        cls, engine_name: str, settings: Settings, tmp_path: Path, request: pytest.FixtureRequest
    ) -> _Outage:
        if engine_name == "celery":
            server: ThrowAwayRedis = request.getfixturevalue("throwaway_redis")
            moved = settings.model_copy(update={"broker_url": server.url})
            return cls(moved, redis=server, blocker=tmp_path)
        # A regular file where the queue's directory should be: the queue cannot be opened.
        blocker = tmp_path / "blocked"
        moved = settings.model_copy(update={"broker_url": f"sqlite:///{blocker / 'queue.db'}"})
        return cls(moved, redis=None, blocker=blocker)

    @property
    def redis_port(self) -> int:
        assert self.redis is not None
        return self.redis.port

    def begin(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        else:
            self.blocker.write_text("not a directory")

    def end(self) -> None:
        if self.redis is not None:
            self.redis.start()
        else:
            self.blocker.unlink()

    def close(self) -> None:
        if self.redis is not None:
            self.redis.stop()


# --- a crashing job ----------------------------------------------------------------------------


def test_a_crashing_job_is_retried_with_backoff_then_failed_with_its_error(
    real_sessions: sessionmaker[Session],
    engine: AnyEngine,
    start_worker: StartWorker,
    demo_shop: DemoShop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise sa_exc.OperationalError("INSERT ...", {}, Exception("database went away"))

    monkeypatch.setattr(pipeline, "process_snapshot", crash)
    start_worker()
    (created,) = jobs.enqueue_urls(
        sessions=real_sessions, engine=engine, urls=demo_shop.product_urls(1)
    )
    wait_for(ended(real_sessions, created.job_id))
    job = jobs.get(sessions=real_sessions, job_id=created.job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, engine.config.max_attempts)
    assert job.error == "Exception: database went away"
    log = _messages(real_sessions, created.job_id)
    waits = [
        float(m.split("next attempt in ")[1].split(" s")[0]) for m in log if "next attempt" in m
    ]
    assert len(waits) == engine.config.max_attempts - 1
    for attempt, wait in enumerate(waits, start=1):  # exponential, jittered in [1/2, 1] of it
        ceiling = min(engine.config.retry_cap_seconds, FAST.retry_base_seconds * 2 ** (attempt - 1))
        assert ceiling / 2 - 0.05 <= wait <= ceiling + 0.05, (attempt, waits)
    assert "database went away" in log[-1]
    assert log[-1].startswith("failed")
    assert count(real_sessions, product_locks) == 0


# --- SIGKILL mid-job ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("engine_setup", ENGINE_SETUPS)  # Celery: its own Redis, as above
def test_sigkill_mid_scrape_all_then_restart_checks_every_item_exactly_once(
    engine_name: str,
    settings: Settings,
    real_sessions: sessionmaker[Session],
    demo_shop: DemoShop,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if engine_name == "celery":
        server: ThrowAwayRedis = request.getfixturevalue("throwaway_redis")
        settings = settings.model_copy(update={"broker_url": server.url})
    # The slow pages show `?sku=`'s product (the demo shop's `_product_for`): products 24 to 27,
    # none of them one of the fast pages' products 20 to 23, so the 8 items are 8 products.
    fast = demo_shop.catalog.products[20:24]
    slow_skus = {p.sku for p in demo_shop.catalog.products[24:28]}
    assert slow_skus.isdisjoint(p.sku for p in fast)
    seed_catalog(
        real_sessions,
        [catalog_snapshot(demo_shop, p.url_path, reference=p.sku, category="kill") for p in fast],
    )
    seed_slow(demo_shop, real_sessions, 4, delay=6, category="kill", first=24)
    seeded_at = utc_now()
    # The seeded snapshots are old, so their products are due: the tick below would also queue
    # a `scrape_product` check of each (a second price row that is no fault of the resume).
    with real_sessions() as s:
        s.execute(update(products).values(next_check_at=seeded_at + timedelta(days=1)))
        s.commit()
    env = worker_environment(settings, demo_shop)
    engine = make_engine(settings, queue="pricewatch")
    first = ProcessWorker(env, tmp_path / "worker1.log").start()
    try:
        created = jobs.enqueue_scrape_all(
            sessions=real_sessions,
            engine=engine,
            item_filter=ItemFilter(include_categories=["kill"]),
        )
        # The fast pages are done and the slow ones are in flight: kill the worker there.
        wait_for(lambda: _progress(real_sessions, created.job_id) >= 4, timeout=30)
        assert count(real_sessions, product_locks) > 0
        first.kill()
        assert status_of(real_sessions, created.job_id) is JobStatus.RUNNING
        # The tick finds the silent job and queues it again; a new worker runs it to the end.
        report = tick_later(settings, engine)
        assert (report.requeued, report.scheduled) == ((created.job_id,), ())
        second = ProcessWorker(env, tmp_path / "worker2.log").start()
        try:
            wait_for(ended(real_sessions, created.job_id), timeout=40)
        finally:
            second.stop()
    finally:
        first.stop()
        engine.close()
    job = jobs.get(sessions=real_sessions, job_id=created.job_id)
    assert job.status is JobStatus.SUCCEEDED, first.output()[-3000:]
    assert (job.progress.completed, job.progress.total, job.attempts) == (8, 8, 2)
    # Counts carry on across attempts. The scraper files the pages under the shop's host, not
    # the seeded source, so a first check creates a product: created or updated, never twice.
    c = job.counts
    assert (c.created + c.updated, c.skipped, c.errors) == (8, 0, 0), c
    messages = _messages(real_sessions, created.job_id)
    assert any(m.startswith("resumed: 4 of 8 item(s)") for m in messages), messages
    # Exactly one new price row per page: nothing checked twice, nothing lost.
    with real_sessions() as s:
        rows = s.execute(
            select(products.c.url, price_history.c.fetched_at)
            .join(price_history, price_history.c.product_id == products.c.id)
            .where(price_history.c.fetched_at >= seeded_at)
        ).all()
    per_page = {url: sum(1 for u, _ in rows if u == url) for url, _ in rows}
    assert sorted(per_page.values()) == [1] * 8, per_page
    assert count(real_sessions, product_locks) == 0
    assert count(real_sessions, job_items) == 8


def _progress(sessions: sessionmaker[Session], job_id: int) -> int:
    return jobs.get(sessions=sessions, job_id=job_id).progress.completed


# --- Celery's terminate on a prefork worker ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("engine_setup", [CELERY_POSTGRESQL])  # Huey's threads cannot terminate
def test_celery_revoke_terminate_on_prefork_stops_a_running_job_cleanly(
    settings: Settings,
    real_sessions: sessionmaker[Session],
    demo_shop: DemoShop,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    server: ThrowAwayRedis = request.getfixturevalue("throwaway_redis")
    settings = settings.model_copy(update={"broker_url": server.url})
    seed_slow(demo_shop, real_sessions, 3, delay=25)
    engine = CeleryEngine(settings)
    worker = ProcessWorker(worker_environment(settings, demo_shop), tmp_path / "w.log").start()
    try:
        created = jobs.enqueue_scrape_all(
            sessions=real_sessions,
            engine=engine,
            item_filter=ItemFilter(include_categories=["slow"]),
        )
        wait_for(fetching(real_sessions))
        asked = time.monotonic()
        cancelled = jobs.cancel(sessions=real_sessions, engine=engine, job_id=created.job_id)
        assert (cancelled.status, cancelled.revoked) == (JobStatus.RUNNING, True)
        wait_for(ended(real_sessions, created.job_id), timeout=5.0)
        assert time.monotonic() - asked < 5.0
        assert status_of(real_sessions, created.job_id) is JobStatus.CANCELLED
        assert count(real_sessions, product_locks) == 0
        # The pool replaced its terminated child: the worker still runs jobs.
        (after,) = jobs.enqueue_urls(
            sessions=real_sessions, engine=engine, urls=demo_shop.product_urls(1)
        )
        wait_for(ended(real_sessions, after.job_id), timeout=20)
        assert status_of(real_sessions, after.job_id) is JobStatus.SUCCEEDED, worker.output()
    finally:
        worker.stop()
        engine.close()
