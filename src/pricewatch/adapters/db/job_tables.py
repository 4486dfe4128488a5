"""The job tables: jobs (the outbox and source of truth), their log lines, and product locks.

They live on the same `Base` (one MetaData, one naming convention) as the catalog tables, so
Alembic sees them all. Statuses and kinds are strings kept in range by CHECK constraints.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from pricewatch.adapters.db.tables import Base, BigId, table
from pricewatch.adapters.db.types import JsonDocument, UtcDateTime
from pricewatch.domain.job import EventLevel, JobKind, JobStatus, TriggeredBy

#: The "active jobs" partial index condition, the same text on both databases.
ACTIVE_CONDITION = "status = 'pending' OR status = 'running'"


def _one_of(column: str, values: type[StrEnum]) -> str:
    """A CHECK expression keeping `column` within an enumeration (ORs: see `tables._one_of`)."""
    return " OR ".join(f"{column} = '{member.value}'" for member in values)


def _count() -> Mapped[int]:
    return mapped_column(Integer, default=0, server_default="0")


class Job(Base):
    """One background job: what to do, how far it got, who runs it, how it ended."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING.value)
    triggered_by: Mapped[str] = mapped_column(String(16), default=TriggeredBy.MANUAL.value)
    params: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    progress_total: Mapped[int] = _count()
    progress_completed: Mapped[int] = _count()
    progress_current: Mapped[str | None] = mapped_column(Text)
    created_count: Mapped[int] = _count()
    updated_count: Mapped[int] = _count()
    deleted_count: Mapped[int] = _count()
    skipped_count: Mapped[int] = _count()
    error_count: Mapped[int] = _count()
    #: Runs started so far (a claim adds one); retries by the engine stop at the limit.
    attempts: Mapped[int] = _count()
    engine_task_id: Mapped[str | None] = mapped_column(String(255))
    #: When the engine accepted the id; NULL on a pending job means the broker never got it.
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Why the job failed or was cancelled, in one line.
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    retry_of: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        CheckConstraint(_one_of("kind", JobKind), name="kind"),
        CheckConstraint(_one_of("status", JobStatus), name="status"),
        CheckConstraint(_one_of("triggered_by", TriggeredBy), name="triggered_by"),
        # Jobs of one status, newest first (the jobs console, `jobs list --status`).
        Index("ix_jobs_status_created_at", "status", "created_at"),
        # Active jobs only: small however long the history grows (cancel-all, scheduler tick).
        Index(
            "ix_jobs_active",
            "status",
            "heartbeat_at",
            sqlite_where=text(ACTIVE_CONDITION),
            postgresql_where=text(ACTIVE_CONDITION),
        ),
    )


class JobEvent(Base):
    """One log line of a job."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    level: Mapped[str] = mapped_column(String(8))
    message: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(_one_of("level", EventLevel), name="level"),
        # The events of one job in order (`jobs logs`, the SSE stream reading "after id N").
        Index("ix_job_events_job_id_id", "job_id", "id"),
    )


class ProductLock(Base):
    """A lease on one product page: two checks of the same product never overlap.

    Keyed by the page's normalised URL (a product has no id before its first scrape). A lock
    whose holder died expires at `expires_at` and may then be taken by anyone.
    """

    __tablename__ = "product_locks"

    lock_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


jobs = table(Job)
job_events = table(JobEvent)
product_locks = table(ProductLock)

__all__ = [
    "ACTIVE_CONDITION",
    "Job",
    "JobEvent",
    "ProductLock",
    "job_events",
    "jobs",
    "product_locks",
]
