"""The job use cases: create (a transactional outbox), dispatch, cancel, cancel-all, retry, read.

A job is a row first: it is committed as pending before its id is handed to the engine, so a
broker that is down loses nothing; the job waits, with an event saying so, until it is
dispatched again (`dispatch_pending`, run by the scheduler tick). Engines only carry ids, and
are reached through the small `JobEngine` port, so Huey and Celery are interchangeable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import job_repository as repo
from pricewatch.adapters.db import job_stats
from pricewatch.adapters.db.engine import engine_from_settings, session_factory
from pricewatch.adapters.db.job_repository import EventRecord, JobRecord
from pricewatch.config import JobsSettings, Settings
from pricewatch.domain.job import (
    RETRYABLE_STATUSES,
    EventLevel,
    ItemFilter,
    JobKind,
    JobStatus,
    TriggeredBy,
)
from pricewatch.domain.snapshot import utc_now

SessionFactory = Callable[[], Session]


class JobEngine(Protocol):
    """What the job services need of a task engine (Huey, Celery): carry ids, revoke them."""

    def submit(self, job_id: int) -> str | None:
        """Queue `run_job(job_id)`; the engine's task id. Raises when the broker is down."""
        ...

    def revoke(self, engine_task_id: str, *, terminate: bool) -> None:
        """Drop a queued task; with `terminate`, also stop it if it runs and the engine can."""
        ...


class JobNotFoundError(LookupError):
    """No job has this id."""


class JobStateError(ValueError):
    """The job is not in a state that allows the request (e.g. retrying a running job)."""


#: How jobs run; configured by `PW_JOBS_*` (see `pricewatch.config.JobsSettings`).
JobConfig = JobsSettings


def job_config(settings: Settings) -> JobConfig:
    """The job configuration in `settings`."""
    return settings.jobs


@contextmanager
def open_sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the configured database; the engine is disposed at the end."""
    engine = engine_from_settings(settings)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


# --- create and dispatch -----------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    """A job that was recorded, and whether the engine has it (else it waits, pending)."""

    job_id: int
    dispatched: bool
    engine_task_id: str | None = None
    reason: str | None = None


def create_job(
    *,
    sessions: SessionFactory,
    engine: JobEngine,
    kind: JobKind,
    params: dict[str, Any],
    triggered_by: TriggeredBy = TriggeredBy.MANUAL,
    retry_of: int | None = None,
) -> Created:
    """Record a pending job (committed), then hand its id to the engine."""
    with sessions() as session:
        now = utc_now()
        job_id = repo.create_job(
            session=session,
            kind=kind,
            params=params,
            triggered_by=triggered_by,
            now=now,
            retry_of=retry_of,
        )
        origin = f" (retry of job {retry_of})" if retry_of else ""
        message = f"created by {triggered_by.value}{origin}"
        repo.add_event(
            session=session, job_id=job_id, level=EventLevel.INFO, message=message, now=now
        )
        session.commit()
    return dispatch(sessions=sessions, engine=engine, job_id=job_id)


def dispatch(*, sessions: SessionFactory, engine: JobEngine, job_id: int) -> Created:
    """Hand a pending job's id to the engine; when the broker is down, say so and keep it."""
    try:
        task_id = engine.submit(job_id)
    except Exception as exc:  # any broker failure: the row is the outbox, nothing is lost
        reason = _one_line(exc)
        _event(
            sessions,
            job_id,
            EventLevel.WARNING,
            f"not handed to the task engine ({reason}); it stays pending and is dispatched "
            "when the engine is reachable again",
        )
        return Created(job_id, dispatched=False, reason=reason)
    with sessions() as session:
        repo.mark_dispatched(session=session, job_id=job_id, engine_task_id=task_id, now=utc_now())
        session.commit()
    return Created(job_id, dispatched=True, engine_task_id=task_id)


def dispatch_pending(
    *, sessions: SessionFactory, engine: JobEngine, older_than: timedelta = timedelta(0)
) -> list[Created]:
    """Dispatch the pending jobs the engine never got (created at least `older_than` ago)."""
    with sessions() as session:
        waiting = repo.undispatched_jobs(session=session, created_before=utc_now() - older_than)
    return [dispatch(sessions=sessions, engine=engine, job_id=job.id) for job in waiting]


def enqueue_urls(
    *,
    sessions: SessionFactory,
    engine: JobEngine,
    urls: Sequence[str],
    triggered_by: TriggeredBy = TriggeredBy.MANUAL,
) -> list[Created]:
    """One `scrape_product` job per URL."""
    return [
        create_job(
            sessions=sessions,
            engine=engine,
            kind=JobKind.SCRAPE_PRODUCT,
            params={"url": url},
            triggered_by=triggered_by,
        )
        for url in urls
    ]


def enqueue_scrape_all(
    *,
    sessions: SessionFactory,
    engine: JobEngine,
    item_filter: ItemFilter | None = None,
    triggered_by: TriggeredBy = TriggeredBy.MANUAL,
) -> Created:
    """One `scrape_all` job over the products `item_filter` selects (default: all)."""
    params = {"filter": (item_filter or ItemFilter()).to_params()}
    return create_job(
        sessions=sessions,
        engine=engine,
        kind=JobKind.SCRAPE_ALL,
        params=params,
        triggered_by=triggered_by,
    )


def schedule_product(
    *, sessions: SessionFactory, engine: JobEngine, url: str, interval: timedelta
) -> Created:
    """Check `url` now and then every `interval` (the scheduler enqueues the later checks)."""
    seconds = round(interval.total_seconds())
    if seconds <= 0:
        raise ValueError("the interval must be positive")
    params = {"url": url, "check_interval": seconds}
    return create_job(sessions=sessions, engine=engine, kind=JobKind.SCRAPE_PRODUCT, params=params)


# --- cancel and retry --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cancelled:
    """What a cancel did: a pending job is cancelled at once, a running one is asked to stop."""

    job_id: int
    status: JobStatus
    revoked: bool = False


def cancel(*, sessions: SessionFactory, engine: JobEngine | None, job_id: int) -> Cancelled:
    """Cancel a job; JobNotFoundError, or JobStateError when it is already over."""
    with sessions() as session:
        record = repo.request_cancel(session=session, job_id=job_id, now=utc_now())
        if record is None:
            existing = repo.get_job(session=session, job_id=job_id)
            if existing is None:
                raise JobNotFoundError(f"no job {job_id}")
            raise JobStateError(f"job {job_id} is already {existing.status.value}")
        message = (
            "cancelled before it started"
            if record.status is JobStatus.CANCELLED
            else "cancel requested: the job stops at its next check"
        )
        repo.add_event(
            session=session, job_id=job_id, level=EventLevel.WARNING, message=message, now=utc_now()
        )
        session.commit()
    revoked = _revoke(sessions, engine, record)
    return Cancelled(job_id, record.status, revoked)


def _revoke(sessions: SessionFactory, engine: JobEngine | None, record: JobRecord) -> bool:
    """Tell the engine, when it has the task; the cancel stands even if the broker is down."""
    if engine is None or record.engine_task_id is None:
        return False
    try:
        engine.revoke(record.engine_task_id, terminate=record.status is JobStatus.RUNNING)
    except Exception as exc:  # the flag in the row is what counts; revoking only speeds it up
        _event(sessions, record.id, EventLevel.WARNING, f"engine revoke failed: {_one_line(exc)}")
        return False
    return True


def cancel_all(*, sessions: SessionFactory, engine: JobEngine | None) -> list[Cancelled]:
    """Cancel every pending and running job."""
    with sessions() as session:
        active = repo.active_jobs(session=session)
    done = []
    for job in active:
        try:
            done.append(cancel(sessions=sessions, engine=engine, job_id=job.id))
        except (JobNotFoundError, JobStateError):
            continue  # it ended between the listing and the cancel
    return done


def retry(*, sessions: SessionFactory, engine: JobEngine, job_id: int) -> Created:
    """A new attempt of a failed, partial or cancelled job, linked to it by `retry_of`."""
    with sessions() as session:
        old = repo.get_job(session=session, job_id=job_id)
    if old is None:
        raise JobNotFoundError(f"no job {job_id}")
    if old.status not in RETRYABLE_STATUSES:
        raise JobStateError(
            f"job {job_id} is {old.status.value}: "
            "only a failed, partial or cancelled job can be retried"
        )
    created = create_job(
        sessions=sessions,
        engine=engine,
        kind=old.kind,
        params=old.params,
        triggered_by=TriggeredBy.MANUAL,
        retry_of=old.id,
    )
    _event(sessions, job_id, EventLevel.INFO, f"retried as job {created.job_id}")
    return created


# --- reads -------------------------------------------------------------------------------------


def get(*, sessions: SessionFactory, job_id: int) -> JobRecord:
    """The job; JobNotFoundError when there is none."""
    with sessions() as session:
        record = repo.get_job(session=session, job_id=job_id)
    if record is None:
        raise JobNotFoundError(f"no job {job_id}")
    return record


def list_jobs(
    *,
    sessions: SessionFactory,
    statuses: Sequence[JobStatus] = (),
    limit: int = 50,
    before_id: int | None = None,
) -> list[JobRecord]:
    """Jobs newest first."""
    with sessions() as session:
        return repo.list_jobs(session=session, statuses=statuses, limit=limit, before_id=before_id)


def recent_events(*, sessions: SessionFactory, job_id: int, limit: int = 50) -> list[EventRecord]:
    """A job's last `limit` log lines, oldest first."""
    with sessions() as session:
        return job_stats.recent_events(session=session, job_id=job_id, limit=limit)


def events(*, sessions: SessionFactory, job_id: int, after_id: int = 0) -> list[EventRecord]:
    """A job's log lines after `after_id`."""
    with sessions() as session:
        return repo.list_events(session=session, job_id=job_id, after_id=after_id)


@dataclass(frozen=True)
class JobPage:
    """One page of jobs (newest first), the total over all pages, and the products each touched."""

    items: list[JobRecord]
    total: int
    limit: int
    offset: int
    product_ids: dict[int, list[int]]


def page(
    *,
    sessions: SessionFactory,
    statuses: Sequence[JobStatus] = (),
    ids: Sequence[int] = (),
    limit: int = 50,
    offset: int = 0,
) -> JobPage:
    """Jobs newest first, `offset` of them skipped, with the total matching `statuses` and
    `ids` (each a filter when not empty)."""
    with sessions() as session:
        items = job_stats.job_page(
            session=session, statuses=statuses, ids=ids, limit=limit, offset=offset
        )
        total = job_stats.count_jobs(session=session, statuses=statuses, ids=ids)
        touched = job_stats.touched_products(session=session, records=items)
    return JobPage(items, total, limit, offset, touched)


def product_ids(*, sessions: SessionFactory, records: Sequence[JobRecord]) -> dict[int, list[int]]:
    """Per job, the ids of the products it checked (as far as is known yet)."""
    with sessions() as session:
        return job_stats.touched_products(session=session, records=records)


@dataclass(frozen=True)
class JobStats:
    """The queue now, and how the jobs created in the last `window` went."""

    queued: int
    running: int
    window: timedelta
    total: int
    succeeded: int
    failed: int
    partial: int
    cancelled: int
    average_duration_seconds: float | None

    @property
    def success_rate(self) -> float | None:
        """Succeeded jobs among the finished ones that were not cancelled (None if none)."""
        finished = self.succeeded + self.failed + self.partial
        return round(self.succeeded / finished, 4) if finished else None


def stats(*, sessions: SessionFactory, window: timedelta = timedelta(hours=24)) -> JobStats:
    """Pending and running jobs now, and the statistics of the jobs created within `window`."""
    with sessions() as session:
        queued = job_stats.count_jobs(session=session, statuses=[JobStatus.PENDING])
        running = job_stats.count_jobs(session=session, statuses=[JobStatus.RUNNING])
        recent = job_stats.window_stats(session=session, since=utc_now() - window)
    n = recent.by_status
    return JobStats(
        queued=queued,
        running=running,
        window=window,
        total=sum(n.values()),
        succeeded=n.get(JobStatus.SUCCEEDED, 0),
        failed=n.get(JobStatus.FAILED, 0),
        partial=n.get(JobStatus.PARTIAL, 0),
        cancelled=n.get(JobStatus.CANCELLED, 0),
        average_duration_seconds=recent.average_duration_seconds,
    )


# --- helpers -----------------------------------------------------------------------------------


def _event(sessions: SessionFactory, job_id: int, level: EventLevel, message: str) -> None:
    """Log one line to a job in a unit of work of its own."""
    with sessions() as session:
        repo.add_event(session=session, job_id=job_id, level=level, message=message, now=utc_now())
        session.commit()


def _one_line(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
