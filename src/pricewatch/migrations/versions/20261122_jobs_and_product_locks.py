"""jobs, job events and product locks

Revision ID: f14a366ed498
Revises: 55f2df9d9e39
Create Date: 2026-11-22 14:15:51.569981+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pricewatch.adapters.db import types as pwtypes

revision: str = "f14a366ed498"
down_revision: str | Sequence[str] | None = "55f2df9d9e39"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KIND = (
    "kind = 'scrape_product' OR kind = 'scrape_all' OR kind = 'maintenance'"
    " OR kind = 'discover' OR kind = 'sync_catalog' OR kind = 'backup'"
)
STATUS = (
    "status = 'pending' OR status = 'running' OR status = 'succeeded'"
    " OR status = 'failed' OR status = 'partial' OR status = 'cancelled'"
)
TRIGGERED_BY = "triggered_by = 'schedule' OR triggered_by = 'manual' OR triggered_by = 'api'"
LEVEL = "level = 'debug' OR level = 'info' OR level = 'warning' OR level = 'error'"
ACTIVE = "status = 'pending' OR status = 'running'"


def upgrade() -> None:
    """Apply this revision."""
    _jobs()
    _job_events()
    _product_locks()


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def _jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("triggered_by", sa.String(length=16), nullable=False),
        sa.Column("params", pwtypes.JsonDocument, nullable=False),
        _count("progress_total"),
        _count("progress_completed"),
        sa.Column("progress_current", sa.Text(), nullable=True),
        *(_count(f"{name}_count") for name in ("created", "updated", "deleted", "skipped")),
        _count("error_count"),
        _count("attempts"),
        sa.Column("engine_task_id", sa.String(length=255), nullable=True),
        sa.Column("dispatched_at", pwtypes.UtcDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(length=255), nullable=True),
        sa.Column("heartbeat_at", pwtypes.UtcDateTime(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", pwtypes.UtcDateTime(), nullable=False),
        sa.Column("started_at", pwtypes.UtcDateTime(), nullable=True),
        sa.Column("finished_at", pwtypes.UtcDateTime(), nullable=True),
        sa.Column("retry_of", BIG_ID, nullable=True),
        sa.CheckConstraint(KIND, name=op.f("ck_jobs_kind")),
        sa.CheckConstraint(STATUS, name=op.f("ck_jobs_status")),
        sa.CheckConstraint(TRIGGERED_BY, name=op.f("ck_jobs_triggered_by")),
        sa.ForeignKeyConstraint(
            ["retry_of"], ["jobs.id"], name=op.f("fk_jobs_retry_of_jobs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_retry_of"), "jobs", ["retry_of"])
    op.create_index("ix_jobs_status_created_at", "jobs", ["status", "created_at"])
    # Only the active jobs: the index stays small however long the history grows.
    op.create_index(
        "ix_jobs_active",
        "jobs",
        ["status", "heartbeat_at"],
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def _job_events() -> None:
    op.create_table(
        "job_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("job_id", BIG_ID, nullable=False),
        sa.Column("at", pwtypes.UtcDateTime(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.CheckConstraint(LEVEL, name=op.f("ck_job_events_level")),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_events_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_events")),
    )
    op.create_index("ix_job_events_job_id_id", "job_events", ["job_id", "id"])


def _product_locks() -> None:
    op.create_table(
        "product_locks",
        sa.Column("lock_key", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("acquired_at", pwtypes.UtcDateTime(), nullable=False),
        sa.Column("expires_at", pwtypes.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("lock_key", name=op.f("pk_product_locks")),
    )
    op.create_index(op.f("ix_product_locks_expires_at"), "product_locks", ["expires_at"])


def downgrade() -> None:
    """Revert this revision: drop the job tables, children first."""
    for name in ("product_locks", "job_events", "jobs"):
        op.drop_table(name)
