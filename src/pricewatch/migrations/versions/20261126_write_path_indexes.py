"""write path indexes: scraping logs keyed by time first, no redundant single-column indexes

Revision ID: c5d83e7a2b19
Revises: b7e2c4a91f35
Create Date: 2026-11-26 09:00:00.000000+00:00

- scraping_logs: the unique key (source, reference, fetched_at) becomes (fetched_at, source,
  reference): new logs append at the end of the index instead of landing at random places, and
  pruning by age (fetched_at < cutoff) reads that index, so ix_scraping_logs_fetched_at goes.
- products: ix_products_source goes; the unique (source, reference) index starts with source.

SQLite cannot drop a table constraint: scraping_logs is rebuilt there (batch mode, its CHECK
constraints and foreign key restated, as reflection does not carry them over).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pricewatch.adapters.db import types as pwtypes

revision: str = "c5d83e7a2b19"
down_revision: str | Sequence[str] | None = "b7e2c4a91f35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KEY = ("source", "reference", "fetched_at")
NEW_KEY = ("fetched_at", "source", "reference")
METHOD = "fetch_method = 'http' OR fetch_method = 'browser' OR fetch_method = 'file'"
STATUS = (
    "fetch_status = 'ok' OR fetch_status = 'blocked'"
    " OR fetch_status = 'not_found' OR fetch_status = 'error'"
)


def upgrade() -> None:
    """Apply this revision."""
    op.drop_index(op.f("ix_products_source"), table_name="products")
    _swap_log_key(OLD_KEY, NEW_KEY, drop_time_index=True)


def downgrade() -> None:
    """Revert this revision."""
    _swap_log_key(NEW_KEY, OLD_KEY, drop_time_index=False)
    op.create_index(op.f("ix_products_source"), "products", ["source"])


def _key_name(columns: Sequence[str]) -> str:
    return "uq_scraping_logs_" + "_".join(columns)


def _swap_log_key(old: Sequence[str], new: Sequence[str], *, drop_time_index: bool) -> None:
    if drop_time_index:
        op.drop_index(op.f("ix_scraping_logs_fetched_at"), table_name="scraping_logs")
    with op.batch_alter_table(
        "scraping_logs", copy_from=_logs_table(old), recreate="auto"
    ) as batch:
        batch.drop_constraint(op.f(_key_name(old)), type_="unique")
        batch.create_unique_constraint(op.f(_key_name(new)), list(new))
    if not drop_time_index:
        op.create_index(op.f("ix_scraping_logs_fetched_at"), "scraping_logs", ["fetched_at"])


def _logs_table(key: Sequence[str]) -> sa.Table:
    """scraping_logs as it stands before the swap (SQLite rebuilds it from this)."""
    return sa.Table(
        "scraping_logs",
        sa.MetaData(),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("fetched_at", pwtypes.UtcDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("html_size_bytes", sa.Integer(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("fetch_method", sa.String(length=16), nullable=False),
        sa.Column("fetch_status", sa.String(length=16), nullable=False),
        sa.Column("errors", pwtypes.JsonDocument, nullable=False),
        sa.Column("notes", pwtypes.JsonDocument, nullable=False),
        sa.CheckConstraint(METHOD, name="ck_scraping_logs_fetch_method"),
        sa.CheckConstraint(STATUS, name="ck_scraping_logs_fetch_status"),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name="fk_scraping_logs_product_id_products",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_scraping_logs"),
        sa.UniqueConstraint(*key, name=_key_name(key)),
        sa.Index("ix_scraping_logs_product_id", "product_id"),
    )
