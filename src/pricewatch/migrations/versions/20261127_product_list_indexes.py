"""product list indexes: products by lower(title) (PostgreSQL) and by URL

Revision ID: d2a7f41c8e60
Revises: c5d83e7a2b19
Create Date: 2026-11-27 09:00:00.000000+00:00

- ix_products_lower_title, PostgreSQL only: the product list sorted by title reads it instead of
  sorting the whole table. SQLite would not use it (its ascending order puts NULLs first, the list
  puts them last) and SQLAlchemy cannot reflect expression indexes there.
- ix_products_url: job items and snapshots without a reference find their product by URL; a hash
  index on PostgreSQL (equality only, no btree entry size limit on long URLs).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d2a7f41c8e60"
down_revision: str | Sequence[str] | None = "c5d83e7a2b19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_products_lower_title", "products", [sa.text("lower(title)")])
    op.create_index("ix_products_url", "products", ["url"], postgresql_using="hash")


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_products_url", table_name="products")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_products_lower_title", table_name="products")
