"""Repository functions for jobs, their events and product locks: add and query, never commit.

State changes that two processes may race for are single conditional statements, atomic on
SQLite and PostgreSQL alike: a claim is `UPDATE jobs ... WHERE status = 'pending' RETURNING`,
so of two workers handed the same id exactly one gets the row; a lock is `INSERT ... ON CONFLICT
DO UPDATE ... WHERE expired RETURNING`, so it is taken by one holder or by nobody.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Row, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

from pricewatch.adapters.db.dialects import upsert_insert
from pricewatch.adapters.db.job_tables import job_events, jobs, product_locks
from pricewatch.adapters.db.keys import normalise_url
from pricewatch.adapters.db.prepared import Prepared
from pricewatch.adapters.db.tables import products
from pricewatch.domain.job import (
    ACTIVE_STATUSES,
    EventLevel,
    JobCounts,
    JobKind,
    JobProgress,
    JobStatus,
    TriggeredBy,
)

__all__ = [
    "CatalogItem",
    "EventRecord",
    "JobRecord",
    "acquire_product_lock",
    "active_jobs",
    "add_event",
    "cancel_requested",
    "catalog_items",
    "claim_job",
    "create_job",
    "finish_job",
    "get_job",
    "heartbeat",
    "list_events",
    "list_jobs",
    "lock_key",
    "mark_dispatched",
    "purge_expired_locks",
    "record_progress",
    "release_job",
    "release_product_lock",
    "request_cancel",
    "set_check_schedule",
    "stale_jobs",
    "undispatched_jobs",
]


@dataclass(frozen=True)
class JobRecord:
    """A job as the application reads it."""

    id: int
    kind: JobKind
    status: JobStatus
    triggered_by: TriggeredBy
    params: dict[str, Any]
    progress: JobProgress
    counts: JobCounts
    attempts: int
    engine_task_id: str | None
    dispatched_at: datetime | None
    lease_owner: str | None
    heartbeat_at: datetime | None
    cancel_requested: bool
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    retry_of: int | None


@dataclass(frozen=True)
class EventRecord:
    """One log line of a job."""

    id: int
    job_id: int
    at: datetime
    level: EventLevel
    message: str


@dataclass(frozen=True)
class CatalogItem:
    """What a catalog-wide job needs of a product (also what its filters look at)."""

    id: int
    source: str
    category: str | None
    reference: str
    url: str


def _record(row: Row[Any]) -> JobRecord:
    m = row._mapping
    return JobRecord(
        id=m["id"],
        kind=JobKind(m["kind"]),
        status=JobStatus(m["status"]),
        triggered_by=TriggeredBy(m["triggered_by"]),
        params=dict(m["params"] or {}),
        progress=JobProgress(m["progress_total"], m["progress_completed"], m["progress_current"]),
        counts=JobCounts(
            m["created_count"],
            m["updated_count"],
            m["deleted_count"],
            m["skipped_count"],
            m["error_count"],
        ),
        attempts=m["attempts"],
        engine_task_id=m["engine_task_id"],
        dispatched_at=m["dispatched_at"],
        lease_owner=m["lease_owner"],
        heartbeat_at=m["heartbeat_at"],
        cancel_requested=bool(m["cancel_requested"]),
        error=m["error"],
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        retry_of=m["retry_of"],
    )


# --- jobs --------------------------------------------------------------------------------------


def create_job(
    *,
    session: Session,
    kind: JobKind,
    params: dict[str, Any],
    triggered_by: TriggeredBy,
    now: datetime,
    retry_of: int | None = None,
) -> int:
    """Add a pending job; its id."""
    stmt = (
        jobs.insert()
        .values(
            kind=kind.value,
            status=JobStatus.PENDING.value,
            triggered_by=triggered_by.value,
            params=params,
            created_at=now,
            retry_of=retry_of,
        )
        .returning(jobs.c.id)
    )
    job_id: int = session.execute(stmt).scalar_one()
    return job_id


def get_job(*, session: Session, job_id: int) -> JobRecord | None:
    """The job with this id, if any."""
    row = session.execute(select(jobs).where(jobs.c.id == job_id)).one_or_none()
    return None if row is None else _record(row)


def list_jobs(
    *,
    session: Session,
    statuses: Collection[JobStatus] = (),
    ids: Collection[int] = (),
    kind: JobKind | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[JobRecord]:
    """Jobs newest first, optionally of some statuses, ids or one kind; `before_id` pages on."""
    stmt = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if statuses:
        stmt = stmt.where(jobs.c.status.in_(sorted(s.value for s in statuses)))
    if ids:
        stmt = stmt.where(jobs.c.id.in_(sorted(set(ids))))
    if kind is not None:
        stmt = stmt.where(jobs.c.kind == kind.value)
    if before_id is not None:
        stmt = stmt.where(jobs.c.id < before_id)
    return [_record(r) for r in session.execute(stmt)]


def active_jobs(*, session: Session) -> list[JobRecord]:
    """Pending and running jobs, oldest first."""
    stmt = select(jobs).where(_active()).order_by(jobs.c.id)
    return [_record(r) for r in session.execute(stmt)]


def _active() -> Any:
    # Spelled as the partial index's condition (queries for one active status repeat it), so
    # both databases see that the small index covers the query.
    return or_(*(jobs.c.status == s.value for s in sorted(ACTIVE_STATUSES)))


def mark_dispatched(
    *, session: Session, job_id: int, engine_task_id: str | None, now: datetime
) -> None:
    """Record that the engine accepted the job (and under which task id)."""
    values = {"engine_task_id": engine_task_id, "dispatched_at": now}
    session.execute(update(jobs).where(jobs.c.id == job_id).values(**values))


def claim_job(*, session: Session, job_id: int, worker_id: str, now: datetime) -> JobRecord | None:
    """Move a pending job to running for `worker_id`; None when it is not pending (any more)."""
    stmt = (
        update(jobs)
        .where(
            jobs.c.id == job_id,
            jobs.c.status == JobStatus.PENDING.value,
            jobs.c.cancel_requested.is_(False),
        )
        .values(
            status=JobStatus.RUNNING.value,
            lease_owner=worker_id,
            heartbeat_at=now,
            started_at=func.coalesce(jobs.c.started_at, now),
            finished_at=None,
            attempts=jobs.c.attempts + 1,
        )
        .returning(*jobs.c)
    )
    row = session.execute(stmt).one_or_none()
    return None if row is None else _record(row)


def _leased(job_id: int, worker_id: str) -> Any:
    return and_(
        jobs.c.id == job_id,
        jobs.c.status == JobStatus.RUNNING.value,
        jobs.c.lease_owner == worker_id,
    )


def heartbeat(*, session: Session, job_id: int, worker_id: str, now: datetime) -> bool | None:
    """Renew the lease; whether a cancel was requested, or None when the lease was lost."""
    stmt = (
        update(jobs)
        .where(_leased(job_id, worker_id))
        .values(heartbeat_at=now)
        .returning(jobs.c.cancel_requested)
    )
    flag = session.execute(stmt).scalar_one_or_none()
    return None if flag is None else bool(flag)


def record_progress(
    *,
    session: Session,
    job_id: int,
    worker_id: str,
    progress: JobProgress,
    counts: JobCounts,
    now: datetime,
) -> bool | None:
    """Store progress and counts (and renew the lease); as `heartbeat`."""
    stmt = (
        update(jobs)
        .where(_leased(job_id, worker_id))
        .values(
            heartbeat_at=now,
            progress_total=progress.total,
            progress_completed=progress.completed,
            progress_current=progress.current,
            created_count=counts.created,
            updated_count=counts.updated,
            deleted_count=counts.deleted,
            skipped_count=counts.skipped,
            error_count=counts.errors,
        )
        .returning(jobs.c.cancel_requested)
    )
    flag = session.execute(stmt).scalar_one_or_none()
    return None if flag is None else bool(flag)


def finish_job(
    *,
    session: Session,
    job_id: int,
    worker_id: str,
    status: JobStatus,
    now: datetime,
    error: str | None = None,
) -> bool:
    """End a running job held by `worker_id`; False when the lease was lost."""
    stmt = (
        update(jobs)
        .where(_leased(job_id, worker_id))
        .values(
            status=status.value,
            finished_at=now,
            heartbeat_at=now,
            lease_owner=None,
            progress_current=None,
            error=error,
        )
        .returning(jobs.c.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def release_job(
    *,
    session: Session,
    job_id: int,
    worker_id: str,
    now: datetime,
    error: str | None = None,
    count_attempt: bool = True,
) -> bool:
    """Give a running job back (pending) for the engine to run again; False if not held.

    Without `count_attempt` (a worker shutting down hands its jobs back), this run does not
    count as one of the job's attempts: restarting workers never uses up `max_attempts`.
    """
    stmt = (
        update(jobs)
        .where(_leased(job_id, worker_id))
        .values(
            status=JobStatus.PENDING.value,
            lease_owner=None,
            heartbeat_at=now,
            progress_current=None,
            error=error,
            attempts=jobs.c.attempts if count_attempt else jobs.c.attempts - 1,
        )
        .returning(jobs.c.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def cancel_requested(*, session: Session, job_id: int) -> bool:
    """True when someone asked the job to stop."""
    stmt = select(jobs.c.cancel_requested).where(jobs.c.id == job_id)
    return bool(session.execute(stmt).scalar_one_or_none())


def request_cancel(*, session: Session, job_id: int, now: datetime) -> JobRecord | None:
    """Cancel a job: a pending one at once, a running one by flag; None when it is not active."""
    pending = (
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == JobStatus.PENDING.value)
        .values(
            status=JobStatus.CANCELLED.value,
            cancel_requested=True,
            finished_at=now,
            error="cancelled before it started",
        )
        .returning(*jobs.c)
    )
    row = session.execute(pending).one_or_none()
    if row is None:
        running = (
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == JobStatus.RUNNING.value)
            .values(cancel_requested=True)
            .returning(*jobs.c)
        )
        row = session.execute(running).one_or_none()
    return None if row is None else _record(row)


def stale_jobs(*, session: Session, heartbeat_before: datetime) -> list[JobRecord]:
    """Running jobs whose worker has not been heard of since `heartbeat_before` (it died)."""
    stmt = (
        select(jobs)
        .where(_active(), jobs.c.status == JobStatus.RUNNING.value)
        .where(jobs.c.heartbeat_at < heartbeat_before)
        .order_by(jobs.c.id)
    )
    return [_record(r) for r in session.execute(stmt)]


def undispatched_jobs(
    *, session: Session, created_before: datetime, limit: int = 100
) -> list[JobRecord]:
    """Pending jobs the engine never accepted (the broker was down), oldest first."""
    stmt = (
        select(jobs)
        .where(_active(), jobs.c.status == JobStatus.PENDING.value)
        .where(jobs.c.dispatched_at.is_(None), jobs.c.created_at < created_before)
        .order_by(jobs.c.id)
        .limit(limit)
    )
    return [_record(r) for r in session.execute(stmt)]


# --- events ------------------------------------------------------------------------------------


def add_event(
    *, session: Session, job_id: int, level: EventLevel, message: str, now: datetime
) -> int:
    """Add a log line to a job; its id."""
    stmt = (
        job_events.insert()
        .values(job_id=job_id, at=now, level=level.value, message=message)
        .returning(job_events.c.id)
    )
    event_id: int = session.execute(stmt).scalar_one()
    return event_id


def list_events(
    *, session: Session, job_id: int, after_id: int = 0, limit: int = 1000
) -> list[EventRecord]:
    """A job's log lines after `after_id`, oldest first (follow a log by passing the last id)."""
    e = job_events.c
    stmt = (
        select(e.id, e.job_id, e.at, e.level, e.message)
        .where(e.job_id == job_id, e.id > after_id)
        .order_by(e.id)
        .limit(limit)
    )
    return [
        EventRecord(r.id, r.job_id, r.at, EventLevel(r.level), r.message)
        for r in session.execute(stmt)
    ]


# --- catalog selection -------------------------------------------------------------------------


def catalog_items(*, session: Session, enabled_only: bool = True) -> list[CatalogItem]:
    """Products a catalog-wide job may take, by id."""
    p = products.c
    stmt = select(p.id, p.source, p.category, p.reference, p.url).order_by(p.id)
    if enabled_only:
        stmt = stmt.where(p.enabled.is_(True))
    return [CatalogItem(*r) for r in session.execute(stmt)]


# --- product locks -----------------------------------------------------------------------------


def lock_key(url: str) -> str:
    """The lock key of a product page: a digest of its normalised URL."""
    return hashlib.sha256(normalise_url(url).encode("utf-8")).hexdigest()


def _lock_upsert(dialect: str) -> ClauseElement:
    """INSERT ... ON CONFLICT DO UPDATE ... WHERE expired or ours, RETURNING the key."""
    insert = upsert_insert(dialect)
    taken = product_locks.c
    stmt = insert(product_locks).values(
        lock_key=bindparam("k_key", type_=taken.lock_key.type),
        holder=bindparam("k_holder", type_=taken.holder.type),
        acquired_at=bindparam("k_now", type_=taken.acquired_at.type),
        expires_at=bindparam("k_expires", type_=taken.expires_at.type),
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[taken.lock_key],
        set_={
            "holder": stmt.excluded.holder,
            "acquired_at": stmt.excluded.acquired_at,
            "expires_at": stmt.excluded.expires_at,
        },
        # Only an expired lock (its holder died) or our own may be taken over.
        where=or_(
            taken.expires_at <= stmt.excluded.acquired_at, taken.holder == stmt.excluded.holder
        ),
    )
    return upsert.returning(taken.lock_key)


# Built and compiled once per database kind: building it per item cost ~2.5 ms.
_LOCK_UPSERT = Prepared(_lock_upsert)


def acquire_product_lock(
    *, session: Session, key: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Take the lock `key` for `holder` until now + ttl; False when someone else holds it."""
    params = {"k_key": key, "k_holder": holder, "k_now": now, "k_expires": now + ttl}
    return bool(_LOCK_UPSERT.rows(session.connection(), params))


def purge_expired_locks(*, session: Session, now: datetime) -> int:
    """Delete the locks whose holders died; how many."""
    stmt = product_locks.delete().where(product_locks.c.expires_at <= now)
    return int(cast(CursorResult[Any], session.execute(stmt)).rowcount)


def set_check_schedule(
    *, session: Session, product_id: int, check_interval: int, next_check_at: datetime
) -> None:
    """Check a product every `check_interval` seconds, next at `next_check_at`."""
    if check_interval <= 0:
        raise ValueError("check_interval must be a positive number of seconds")
    stmt = (
        update(products)
        .where(products.c.id == product_id)
        .values(check_interval=check_interval, next_check_at=next_check_at, enabled=True)
    )
    session.execute(stmt)


def release_product_lock(*, session: Session, key: str, holder: str) -> None:
    """Give the lock `key` back, if `holder` still holds it."""
    taken = product_locks.c
    session.execute(product_locks.delete().where(taken.lock_key == key, taken.holder == holder))
