"""The scheduler tick: the periodic duties that keep background jobs moving.

One tick (every `PW_SCHEDULER_TICK_SECONDS`, 30 s by default, from `pricewatch scheduler` or
Celery beat):
1. requeue running jobs whose worker went silent (heartbeat older than `stale_after_seconds`),
   or fail them once they used up `max_attempts`;
2. create a `scrape_product` job for every product whose `next_check_at` is due, moving the
   product's next check one interval (with jitter) ahead in the same transaction;
3. hand to the engine the pending jobs it never got (the broker was down, or 1. requeued them);
4. maintenance on its own cadences (`services.maintenance`, `PW_SCHEDULER_*`).

A tick is idempotent and safe to run from two schedulers at once: every change is a conditional
statement that only one of them can win (see `adapters.db.ops_repository`), and a job handed to
the engine twice still runs once (the worker's claim is atomic).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from pricewatch.adapters.db import job_repository as job_repo
from pricewatch.adapters.db import ops_repository as ops_repo
from pricewatch.config import Settings
from pricewatch.domain.job import EventLevel, JobKind, TriggeredBy
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import jobs, maintenance
from pricewatch.services.jobs import JobEngine, SessionFactory, open_sessions
from pricewatch.services.maintenance import BrokerCheck, MaintenanceReport

#: A product's check interval unless it has its own (the issue's default: daily).
DEFAULT_CHECK_INTERVAL = timedelta(hours=24)
#: Share of the interval a next check may move either way, so products added together spread.
JITTER = 0.05
#: Due products turned into jobs per tick (the rest wait for the next tick).
DUE_BATCH = 200
#: A pending job younger than this may still be on its way to the engine (its creator hands it).
DISPATCH_GRACE = timedelta(seconds=10)
#: Pending jobs handed to the engine per tick.
DISPATCH_BATCH = 500


@dataclass(frozen=True)
class TickReport:
    """What one tick did, job ids by duty."""

    at: datetime
    requeued: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()
    scheduled: tuple[int, ...] = ()
    dispatched: tuple[int, ...] = ()
    #: Pending jobs the engine still could not take (the broker is down).
    undispatched: tuple[int, ...] = ()
    maintenance: MaintenanceReport = field(default_factory=MaintenanceReport)

    def summary(self) -> str:
        """One line for the scheduler's log."""
        return (
            f"tick: {len(self.scheduled)} scheduled, {len(self.dispatched)} dispatched, "
            f"{len(self.undispatched)} undispatched, {len(self.requeued)} requeued, "
            f"{len(self.failed)} failed (worker lost)"
        )

    def to_json(self) -> dict[str, Any]:
        """The detail kept in `ops_state` for the tick."""
        return {
            "scheduled": len(self.scheduled),
            "dispatched": len(self.dispatched),
            "undispatched": len(self.undispatched),
            "requeued": len(self.requeued),
            "failed": len(self.failed),
        }


def tick(
    *,
    settings: Settings,
    engine: JobEngine,
    now: datetime | None = None,
    sessions: SessionFactory | None = None,
    broker: BrokerCheck | None = None,
    rng: random.Random | None = None,
) -> TickReport:
    """Run the four duties once (see the module docstring); sessions opened when not given."""
    if sessions is None:
        with open_sessions(settings) as opened:
            return tick(
                settings=settings, engine=engine, now=now, sessions=opened, broker=broker, rng=rng
            )
    now = now or utc_now()
    requeued, failed = requeue_stale(sessions=sessions, settings=settings, now=now)
    scheduled = schedule_due(sessions=sessions, now=now, rng=rng)
    dispatched, waiting = dispatch_pending(
        sessions=sessions, engine=engine, now=now, scheduled=scheduled
    )
    report = TickReport(
        at=now,
        requeued=requeued,
        failed=failed,
        scheduled=scheduled,
        dispatched=dispatched,
        undispatched=waiting,
    )
    done = maintenance.run_maintenance(
        sessions=sessions, broker=broker, now=now, config=settings.scheduler
    )
    _record_tick(sessions, report)
    return replace(report, maintenance=done)


def _record_tick(sessions: SessionFactory, report: TickReport) -> None:
    with sessions() as session:
        ops_repo.put_state(
            session=session,
            name=maintenance.STATE_TICK,
            at=report.at,
            ok=True,
            detail=report.to_json(),
        )
        session.commit()


# --- 1. stale running jobs ---------------------------------------------------------------------


def requeue_stale(
    *, sessions: SessionFactory, settings: Settings, now: datetime
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Requeue (or fail, after `max_attempts`) running jobs whose worker went silent."""
    config = settings.jobs
    silent_since = now - timedelta(seconds=config.stale_after_seconds)
    requeued, failed = [], []
    with sessions() as session:
        for job in job_repo.stale_jobs(session=session, heartbeat_before=silent_since):
            seen = job.heartbeat_at.isoformat() if job.heartbeat_at else "never"
            if job.attempts >= config.max_attempts:
                error = f"worker lost (last heard of {seen}) on attempt {job.attempts}"
                if ops_repo.fail_stale_job(
                    session=session,
                    job_id=job.id,
                    heartbeat_before=silent_since,
                    now=now,
                    error=error,
                ):
                    _event(session, job.id, EventLevel.ERROR, f"failed: {error}", now)
                    failed.append(job.id)
            elif ops_repo.requeue_stale_job(
                session=session, job_id=job.id, heartbeat_before=silent_since, now=now
            ):
                message = f"worker {job.lease_owner} silent since {seen}: requeued"
                _event(session, job.id, EventLevel.WARNING, message, now)
                requeued.append(job.id)
        session.commit()
    return tuple(requeued), tuple(failed)


# --- 2. due products ---------------------------------------------------------------------------


def next_check(now: datetime, interval_seconds: int, rng: random.Random | None = None) -> datetime:
    """When to check a product next: one interval ahead, moved by up to +-JITTER of it."""
    interval = interval_seconds or DEFAULT_CHECK_INTERVAL.total_seconds()
    spread = (rng or random).uniform(-JITTER, JITTER)
    return now + timedelta(seconds=interval * (1 + spread))


def schedule_due(
    *,
    sessions: SessionFactory,
    now: datetime,
    limit: int = DUE_BATCH,
    rng: random.Random | None = None,
) -> tuple[int, ...]:
    """One `scrape_product` job per due product (claimed atomically); the new job ids.

    A product whose page a pending or running job is already about to check gets no second
    job; its next check moves ahead all the same.
    """
    created = []
    with sessions() as session:
        due = ops_repo.due_checks(session=session, now=now, limit=limit)
        busy = ops_repo.active_check_urls(session=session) if due else set()
        for product in due:
            later = next_check(now, product.check_interval, rng)
            claimed = ops_repo.claim_due_check(
                session=session, product_id=product.id, now=now, next_check_at=later
            )
            if not claimed or product.url in busy:
                continue
            created.append(_scheduled_job(session, product, now))
            busy.add(product.url)
        session.commit()
    return tuple(created)


def _scheduled_job(session: Session, product: ops_repo.DueCheck, now: datetime) -> int:
    job_id = job_repo.create_job(
        session=session,
        kind=JobKind.SCRAPE_PRODUCT,
        params={"url": product.url},
        triggered_by=TriggeredBy.SCHEDULE,
        now=now,
    )
    due = product.next_check_at.isoformat() if product.next_check_at else "first check"
    message = f"created by schedule (product {product.id}, due {due})"
    _event(session, job_id, EventLevel.INFO, message, now)
    return job_id


# --- 3. undispatched jobs ----------------------------------------------------------------------


def dispatch_pending(
    *,
    sessions: SessionFactory,
    engine: JobEngine,
    now: datetime,
    scheduled: tuple[int, ...] = (),
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Hand the engine the jobs it never got, and `scheduled`; (dispatched, waiting) ids.

    Jobs younger than DISPATCH_GRACE are left to whoever created them, which hands them over
    itself; at the first refusal the broker is taken to be down and the rest wait for the next
    tick (one warning per tick in a job's log, not one per job and tick).
    """
    with sessions() as session:
        waiting = job_repo.undispatched_jobs(
            session=session, created_before=now - DISPATCH_GRACE, limit=DISPATCH_BATCH
        )
    ids = sorted({job.id for job in waiting} | set(scheduled))
    for n, job_id in enumerate(ids):
        if not jobs.dispatch(sessions=sessions, engine=engine, job_id=job_id).dispatched:
            return tuple(ids[:n]), tuple(ids[n:])
    return tuple(ids), ()


def _event(session: Session, job_id: int, level: EventLevel, message: str, now: datetime) -> None:
    job_repo.add_event(session=session, job_id=job_id, level=level, message=message, now=now)
