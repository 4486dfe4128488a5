"""ops state: scheduler ticks, maintenance cadence, health checks, worker beats

Revision ID: 3c9e51a0b7d2
Revises: f14a366ed498
Create Date: 2026-11-23 09:00:00.000000+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pricewatch.adapters.db import ops_tables as ops_tables  # the mapping, for drift checks
from pricewatch.adapters.db import types as pwtypes

revision: str = "3c9e51a0b7d2"
down_revision: str | Sequence[str] | None = "f14a366ed498"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "ops_state",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("at", pwtypes.UtcDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("detail", pwtypes.JsonDocument, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_ops_state")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("ops_state")
