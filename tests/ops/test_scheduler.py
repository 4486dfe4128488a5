"""The scheduler tick on SQLite and PostgreSQL: dispatch, requeue, due products, maintenance."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import job_repository as repo
from pricewatch.adapters.db import ops_repository as ops_repo
from pricewatch.adapters.db.engine import create_engine_for, session_factory
from pricewatch.adapters.db.job_tables import jobs as jobs_table
from pricewatch.adapters.db.tables import products
from pricewatch.config import SchedulerSettings, Settings
from pricewatch.domain.job import EventLevel, JobKind, JobStatus, TriggeredBy
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import jobs, maintenance, pipeline, scheduler
from tests.db.conftest import make_snapshot
from tests.jobs.conftest import FakeEngine

from .conftest import add_job, claim_as_dead_worker

Sessions = sessionmaker[Session]


def _seed(sessions: Sessions, n: int, *, prefix: str = "P") -> list[int]:
    """n products, last seen long ago, so all are due; their ids."""
    snapshots = [make_snapshot(f"{prefix}{i}", at=utc_now() - timedelta(days=3)) for i in range(n)]
    with sessions() as s:
        pipeline.process_batch(snapshots, session=s)
        s.commit()
        refs = [snap.reference for snap in snapshots]
        found = s.execute(select(products.c.id).where(products.c.reference.in_(refs)))
        return sorted(found.scalars())


def _tick(settings: Settings, engine: FakeEngine, sessions: Sessions) -> scheduler.TickReport:
    return scheduler.tick(settings=settings, engine=engine, sessions=sessions)


def test_a_pending_job_the_engine_never_got_is_dispatched(
    sessions: Sessions, fake_engine: FakeEngine, settings: Settings
) -> None:
    old = add_job(
        sessions, url="https://shop.example/p/1", created_at=utc_now() - timedelta(minutes=5)
    )
    young = add_job(sessions, url="https://shop.example/p/2", created_at=utc_now())
    report = _tick(settings, fake_engine, sessions)
    assert report.dispatched == (old,)
    assert fake_engine.submitted == [old]  # the young one is still with its creator
    assert jobs.get(sessions=sessions, job_id=old).dispatched_at is not None
    assert jobs.get(sessions=sessions, job_id=young).dispatched_at is None
    assert _tick(settings, fake_engine, sessions).dispatched == ()


def test_broker_down_keeps_jobs_pending_with_one_warning_per_tick(
    sessions: Sessions, settings: Settings
) -> None:
    long_ago = utc_now() - timedelta(minutes=5)
    ids = [
        add_job(sessions, url=f"https://shop.example/p/{n}", created_at=long_ago) for n in range(3)
    ]
    down = FakeEngine(down=True)
    report = _tick(settings, down, sessions)
    assert (report.dispatched, report.undispatched) == ((), tuple(ids))
    warnings = [
        e
        for j in ids
        for e in jobs.events(sessions=sessions, job_id=j)
        if e.level is EventLevel.WARNING
    ]
    assert len(warnings) == 1
    up = FakeEngine()
    assert _tick(settings, up, sessions).dispatched == tuple(ids)


def test_a_running_job_whose_worker_went_silent_is_requeued_and_dispatched(
    sessions: Sessions, fake_engine: FakeEngine, settings: Settings
) -> None:
    job_id = add_job(
        sessions, url="https://shop.example/p/1", created_at=utc_now() - timedelta(hours=1)
    )
    claim_as_dead_worker(sessions, job_id, last_beat=utc_now() - timedelta(minutes=10))
    alive = add_job(
        sessions, url="https://shop.example/p/2", created_at=utc_now() - timedelta(hours=1)
    )
    claim_as_dead_worker(sessions, alive, last_beat=utc_now())
    report = _tick(settings, fake_engine, sessions)
    assert report.requeued == (job_id,)
    assert fake_engine.submitted == [job_id]
    job = jobs.get(sessions=sessions, job_id=job_id)
    assert (job.status, job.lease_owner) == (JobStatus.PENDING, None)
    assert job.dispatched_at is not None
    assert jobs.get(sessions=sessions, job_id=alive).status is JobStatus.RUNNING
    log = [e.message for e in jobs.events(sessions=sessions, job_id=job_id)]
    assert any("dead:1:w silent since" in line for line in log)


def test_a_silent_job_out_of_attempts_fails(
    sessions: Sessions, fake_engine: FakeEngine, settings: Settings
) -> None:
    job_id = add_job(
        sessions, url="https://shop.example/p/1", created_at=utc_now() - timedelta(hours=1)
    )
    claim_as_dead_worker(sessions, job_id, last_beat=utc_now() - timedelta(minutes=10))
    with sessions() as s:
        s.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(attempts=3))
        s.commit()
    report = _tick(settings, fake_engine, sessions)
    assert report.failed == (job_id,)
    job = jobs.get(sessions=sessions, job_id=job_id)
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert "worker lost" in job.error
    assert fake_engine.submitted == []


def test_due_products_get_one_job_each_and_not_due_ones_none(
    sessions: Sessions, fake_engine: FakeEngine, settings: Settings
) -> None:
    due = _seed(sessions, 5)
    later = utc_now() + timedelta(hours=2)
    with sessions() as s:
        repo.set_check_schedule(
            session=s, product_id=due[0], check_interval=3600, next_check_at=later
        )
        s.execute(update(products).where(products.c.id == due[1]).values(enabled=False))
        s.commit()
    now = utc_now()
    report = _tick(settings, fake_engine, sessions)
    assert len(report.scheduled) == 3
    assert sorted(fake_engine.submitted) == sorted(report.scheduled)
    with sessions() as s:
        rows = s.execute(select(products.c.id, products.c.next_check_at, products.c.check_interval))
        nexts = {r.id: (r.next_check_at, r.check_interval) for r in rows if r.id in due}
    assert nexts[due[0]][0] == later
    for product_id in due[2:]:
        at, interval = nexts[product_id]
        ahead = (at - now).total_seconds()
        assert (
            interval * (1 - scheduler.JITTER) - 5 <= ahead <= interval * (1 + scheduler.JITTER) + 5
        )
    scheduled = [jobs.get(sessions=sessions, job_id=j) for j in report.scheduled]
    assert {j.triggered_by for j in scheduled} == {TriggeredBy.SCHEDULE}
    assert {j.kind for j in scheduled} == {JobKind.SCRAPE_PRODUCT}
    assert _tick(settings, fake_engine, sessions).scheduled == ()


def test_a_due_product_already_being_checked_gets_no_second_job(
    sessions: Sessions, fake_engine: FakeEngine, settings: Settings
) -> None:
    (product_id,) = _seed(sessions, 1)
    with sessions() as s:
        url = s.execute(select(products.c.url).where(products.c.id == product_id)).scalar_one()
    add_job(sessions, url=url, created_at=utc_now())
    assert _tick(settings, fake_engine, sessions).scheduled == ()
    with sessions() as s:
        assert ops_repo.due_checks(session=s, now=utc_now(), limit=10) == []


def test_two_ticks_racing_create_exactly_one_job_per_due_product(
    fresh_url: str, settings: Settings
) -> None:
    engines = [create_engine_for(fresh_url) for _ in range(2)]
    try:
        factories = [session_factory(e) for e in engines]
        due = _seed(factories[0], 40)
        start = threading.Barrier(2)
        reports: list[scheduler.TickReport] = []

        def run(sessions: Sessions) -> None:
            start.wait()
            reports.append(
                scheduler.tick(
                    settings=settings,
                    engine=FakeEngine(),
                    sessions=sessions,
                    rng=random.Random(1),
                )
            )

        threads = [threading.Thread(target=run, args=(f,)) for f in factories]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(reports) == 2
        created = [j for r in reports for j in r.scheduled]
        assert len(created) == len(set(created)) == len(due)
        with factories[0]() as s:
            urls = [jobs.get(sessions=factories[0], job_id=j).params["url"] for j in created]
            assert len(set(urls)) == len(due)
            assert ops_repo.due_checks(session=s, now=utc_now(), limit=100) == []
    finally:
        for e in engines:
            e.dispose()


def test_next_check_is_one_interval_ahead_with_bounded_jitter() -> None:
    now = utc_now()
    rng = random.Random(7)
    draws = [(scheduler.next_check(now, 86400, rng) - now).total_seconds() for _ in range(200)]
    assert all(86400 * 0.95 <= d <= 86400 * 1.05 for d in draws)
    assert max(draws) - min(draws) > 3600  # really spread
    assert timedelta(hours=24) == scheduler.DEFAULT_CHECK_INTERVAL


def test_maintenance_prunes_what_is_older_than_thirty_days_and_keeps_the_rest(
    sessions: Sessions,
) -> None:
    now = utc_now()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    with sessions() as s:
        pipeline.process_batch(
            [make_snapshot("OLD", at=old), make_snapshot("OLD", at=recent)], session=s
        )
        s.commit()
    old_job = add_job(sessions, url="https://shop.example/p/old", created_at=old)
    new_job = add_job(sessions, url="https://shop.example/p/new", created_at=old)
    with sessions() as s:
        for job_id in (old_job, new_job):
            repo.add_event(session=s, job_id=job_id, level=EventLevel.INFO, message="x", now=old)
        repo.add_event(session=s, job_id=new_job, level=EventLevel.INFO, message="y", now=recent)
        s.execute(
            update(jobs_table)
            .where(jobs_table.c.id == old_job)
            .values(status="succeeded", finished_at=old)
        )
        s.commit()
    config = SchedulerSettings()  # the defaults: 30 days kept, pruned once an hour
    report = maintenance.run_maintenance(sessions=sessions, broker=None, now=now, config=config)
    assert report.pruned is not None
    assert (report.pruned.scraping_logs, report.pruned.jobs) == (1, 1)
    assert report.pruned.job_events == 2  # the old job's line and the active job's old line
    with sessions() as s:
        assert repo.get_job(session=s, job_id=old_job) is None
        assert [e.message for e in repo.list_events(session=s, job_id=new_job)] == ["y"]
    # Its own cadence: not again within the hour, even from another scheduler.
    again = maintenance.run_maintenance(sessions=sessions, broker=None, now=now, config=config)
    assert again.pruned is None


def test_health_of_database_and_broker_is_recorded(
    sessions: Sessions, fake_engine: FakeEngine, settings: Settings
) -> None:
    def broken() -> None:
        raise ConnectionError("broker unreachable")

    report = scheduler.tick(settings=settings, engine=fake_engine, sessions=sessions, broker=broken)
    assert report.maintenance.database is not None
    assert report.maintenance.database.ok
    with sessions() as s:
        states = {r.name: r for r in ops_repo.list_states(session=s)}
    assert states[maintenance.STATE_DATABASE].ok is True
    broker = states[maintenance.STATE_BROKER]
    assert broker.ok is False
    assert broker.detail["error"] == "ConnectionError: broker unreachable"
    assert states[maintenance.STATE_TICK].detail["scheduled"] == 0
