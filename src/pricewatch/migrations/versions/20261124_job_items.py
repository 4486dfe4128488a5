"""job items: the items a catalog-wide job finished, for resuming it

Revision ID: 8a41c27e5d06
Revises: 3c9e51a0b7d2
Create Date: 2026-11-24 09:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pricewatch.adapters.db import job_items as job_items  # the mapping, for drift checks
from pricewatch.adapters.db import types as pwtypes

revision: str = "8a41c27e5d06"
down_revision: str | Sequence[str] | None = "3c9e51a0b7d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OUTCOME = (
    "outcome = 'created' OR outcome = 'updated' OR outcome = 'deleted'"
    " OR outcome = 'skipped' OR outcome = 'error'"
)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "job_items",
        sa.Column("job_id", BIG_ID, nullable=False),
        sa.Column("item_id", BIG_ID, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("done_at", pwtypes.UtcDateTime(), nullable=False),
        sa.CheckConstraint(OUTCOME, name=op.f("ck_job_items_outcome")),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_items_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "item_id", name=op.f("pk_job_items")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("job_items")
