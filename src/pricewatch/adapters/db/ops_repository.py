"""Repository functions of the scheduler and maintenance: add and query, never commit.

Everything two schedulers may race for is one conditional statement, atomic on SQLite and
PostgreSQL alike (as in `job_repository`): a due product is claimed by moving its
`next_check_at` forward only where it is still due; a stale job is requeued only where it is
still running with an old heartbeat; a maintenance run is claimed by an upsert that only
overwrites a row older than the cadence. On PostgreSQL the loser of such a race waits for the
winner's row lock, then sees the new row and matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, and_, create_engine, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Delete

from pricewatch.adapters.db.dialects import upsert_insert
from pricewatch.adapters.db.engine import normalise_url
from pricewatch.adapters.db.job_tables import job_events, jobs
from pricewatch.adapters.db.ops_tables import ops_state
from pricewatch.adapters.db.tables import products, scraping_logs
from pricewatch.domain.job import ACTIVE_STATUSES, TERMINAL_STATUSES, JobKind, JobStatus

__all__ = [
    "DueCheck",
    "StateRecord",
    "active_check_urls",
    "claim_due_check",
    "claim_state",
    "delete_finished_jobs_before",
    "delete_job_events_before",
    "delete_scraping_logs_before",
    "delete_states_before",
    "due_checks",
    "fail_stale_job",
    "latest_job_heartbeat",
    "list_states",
    "probe_engine",
    "put_state",
    "requeue_stale_job",
]


@dataclass(frozen=True)
class StateRecord:
    """One row of `ops_state`."""

    name: str
    at: datetime
    ok: bool | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class DueCheck:
    """A product whose next check is due, with its own interval (seconds)."""

    id: int
    url: str
    check_interval: int
    next_check_at: datetime | None


# --- ops state ---------------------------------------------------------------------------------


def _upsert(session: Session) -> Callable[..., Any]:
    return upsert_insert(session.get_bind().dialect.name)


def put_state(
    *,
    session: Session,
    name: str,
    at: datetime,
    ok: bool | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record the latest state of `name` (insert or overwrite)."""
    stmt = _upsert(session)(ops_state).values(name=name, at=at, ok=ok, detail=detail or {})
    stmt = stmt.on_conflict_do_update(
        index_elements=[ops_state.c.name],
        set_={"at": stmt.excluded.at, "ok": stmt.excluded.ok, "detail": stmt.excluded.detail},
    )
    session.execute(stmt)


def claim_state(*, session: Session, name: str, now: datetime, last_before: datetime) -> bool:
    """Stamp `name` with `now` unless it was stamped at or after `last_before`; True if stamped."""
    stmt = _upsert(session)(ops_state).values(name=name, at=now, ok=None, detail={})
    stmt = stmt.on_conflict_do_update(
        index_elements=[ops_state.c.name],
        set_={"at": stmt.excluded.at},
        where=ops_state.c.at < last_before,
    )
    return session.execute(stmt.returning(ops_state.c.name)).scalar_one_or_none() is not None


def list_states(*, session: Session) -> list[StateRecord]:
    """Every ops state row, by name."""
    s = ops_state.c
    rows = session.execute(select(s.name, s.at, s.ok, s.detail).order_by(s.name))
    return [StateRecord(r.name, r.at, r.ok, dict(r.detail or {})) for r in rows]


# --- due product checks ------------------------------------------------------------------------


def _is_due(now: datetime) -> Any:
    p = products.c
    return and_(p.enabled.is_(True), or_(p.next_check_at.is_(None), p.next_check_at <= now))


def due_checks(*, session: Session, now: datetime, limit: int) -> list[DueCheck]:
    """Enabled products due for a check at `now`, longest overdue (and never scheduled) first."""
    p = products.c
    stmt = (
        select(p.id, p.url, p.check_interval, p.next_check_at)
        .where(_is_due(now))
        .order_by(p.next_check_at.asc().nulls_first(), p.id)
        .limit(limit)
    )
    return [DueCheck(*r) for r in session.execute(stmt)]


def claim_due_check(
    *, session: Session, product_id: int, now: datetime, next_check_at: datetime
) -> bool:
    """Move a due product's next check to `next_check_at`; False when it is no longer due."""
    stmt = (
        update(products)
        .where(products.c.id == product_id, _is_due(now))
        .values(next_check_at=next_check_at)
        .returning(products.c.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def active_check_urls(*, session: Session) -> set[str]:
    """The URLs that pending or running `scrape_product` jobs are about to check."""
    stmt = select(jobs.c.params).where(_active(), jobs.c.kind == JobKind.SCRAPE_PRODUCT.value)
    return {str(params["url"]) for (params,) in session.execute(stmt) if params.get("url")}


def _active() -> Any:
    # Spelled as the partial index `ix_jobs_active` is, so both databases use that small index.
    return or_(*(jobs.c.status == s.value for s in sorted(ACTIVE_STATUSES)))


# --- stale jobs --------------------------------------------------------------------------------


def _stale(job_id: int, heartbeat_before: datetime) -> Any:
    return and_(
        jobs.c.id == job_id,
        jobs.c.status == JobStatus.RUNNING.value,
        jobs.c.heartbeat_at < heartbeat_before,
    )


def requeue_stale_job(
    *, session: Session, job_id: int, heartbeat_before: datetime, now: datetime
) -> bool:
    """Put a running job whose worker went silent back to pending, not dispatched; True if so."""
    stmt = (
        update(jobs)
        .where(_stale(job_id, heartbeat_before))
        .values(
            status=JobStatus.PENDING.value,
            lease_owner=None,
            heartbeat_at=now,
            progress_current=None,
            # Not dispatched: if handing it to the engine fails now, the next tick retries.
            dispatched_at=None,
            engine_task_id=None,
        )
        .returning(jobs.c.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def fail_stale_job(
    *, session: Session, job_id: int, heartbeat_before: datetime, now: datetime, error: str
) -> bool:
    """End a running job whose worker went silent as failed; True if it was still stale."""
    stmt = (
        update(jobs)
        .where(_stale(job_id, heartbeat_before))
        .values(
            status=JobStatus.FAILED.value,
            lease_owner=None,
            finished_at=now,
            progress_current=None,
            error=error,
        )
        .returning(jobs.c.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def latest_job_heartbeat(*, session: Session) -> datetime | None:
    """The newest heartbeat of a running job (a worker's sign of life while it works)."""
    stmt = select(func.max(jobs.c.heartbeat_at)).where(
        _active(), jobs.c.status == JobStatus.RUNNING.value
    )
    found: datetime | None = session.execute(stmt).scalar_one_or_none()
    return found


# --- pruning -----------------------------------------------------------------------------------


def _deleted(session: Session, stmt: Delete) -> int:
    return int(cast(CursorResult[Any], session.execute(stmt)).rowcount)


def delete_scraping_logs_before(*, session: Session, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` scraping logs older than `cutoff`; how many."""
    old = select(scraping_logs.c.id).where(scraping_logs.c.fetched_at < cutoff).limit(limit)
    return _deleted(session, scraping_logs.delete().where(scraping_logs.c.id.in_(old)))


def delete_job_events_before(*, session: Session, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` job log lines older than `cutoff`; how many."""
    old = select(job_events.c.id).where(job_events.c.at < cutoff).limit(limit)
    return _deleted(session, job_events.delete().where(job_events.c.id.in_(old)))


def delete_finished_jobs_before(*, session: Session, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` jobs that ended before `cutoff` (their events go with them)."""
    ended = [jobs.c.status == s.value for s in sorted(TERMINAL_STATUSES)]
    old = (
        select(jobs.c.id)
        .where(or_(*ended), jobs.c.finished_at < cutoff)
        .order_by(jobs.c.id)
        .limit(limit)
    )
    return _deleted(session, jobs.delete().where(jobs.c.id.in_(old)))


def delete_states_before(*, session: Session, prefix: str, cutoff: datetime) -> int:
    """Delete the ops state rows named `prefix...` last stamped before `cutoff`; how many."""
    s = ops_state.c
    return _deleted(session, ops_state.delete().where(s.name.startswith(prefix), s.at < cutoff))


# --- health probe ------------------------------------------------------------------------------


def probe_engine(url: str, *, timeout: float) -> Engine:
    """An engine for cheap reads that give up after about `timeout` seconds.

    Unlike the application's engine it never starts a write transaction on SQLite (so a long
    writer does not make a read wait: WAL readers never block), and on PostgreSQL both the
    connection and each statement are bounded by `timeout`.
    """
    parsed = normalise_url(url)
    seconds = max(1, round(timeout))
    if parsed.get_backend_name() == "sqlite":
        return create_engine(parsed, connect_args={"timeout": timeout, "check_same_thread": False})
    given = parsed.query.get("options", ())
    given = (given,) if isinstance(given, str) else given
    options = " ".join([*given, "-c timezone=UTC", f"-c statement_timeout={seconds * 1000}"])
    return create_engine(
        parsed.difference_update_query(["options"]),
        pool_size=2,
        pool_pre_ping=True,
        pool_timeout=timeout,
        connect_args={
            "options": options,
            "connect_timeout": seconds,
            "application_name": "pricewatch-health",
        },
    )
