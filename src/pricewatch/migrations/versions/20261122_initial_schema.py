"""initial schema: products, price history, images, specs, scraping logs

Revision ID: 55f2df9d9e39
Revises:
Create Date: 2026-11-22 13:24:31.869533+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pricewatch.adapters.db import types as pwtypes

revision: str = "55f2df9d9e39"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ORs rather than IN (...): SQLite rebuilds an IN list for every inserted row.
STOCK = (
    "stock_status = 'in_stock' OR stock_status = 'out_of_stock'"
    " OR stock_status = 'preorder' OR stock_status = 'unknown'"
)
METHOD = "fetch_method = 'http' OR fetch_method = 'browser' OR fetch_method = 'file'"
STATUS = (
    "fetch_status = 'ok' OR fetch_status = 'blocked'"
    " OR fetch_status = 'not_found' OR fetch_status = 'error'"
)


def upgrade() -> None:
    """Apply this revision."""
    _products()
    _price_history()
    _images_and_specs()
    _scraping_logs()


def _products() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("brand", sa.Text(), nullable=True),
        sa.Column("gtin", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("first_seen_at", pwtypes.UtcDateTime(), nullable=False),
        sa.Column("last_updated_at", pwtypes.UtcDateTime(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("check_interval", sa.Integer(), server_default="86400", nullable=False),
        sa.Column("next_check_at", pwtypes.UtcDateTime(), nullable=True),
        sa.Column("images_digest", sa.String(length=32), nullable=True),
        sa.Column("specs_digest", sa.String(length=32), nullable=True),
        sa.CheckConstraint("check_interval > 0", name=op.f("ck_products_check_interval_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("source", "reference", name=op.f("uq_products_source_reference")),
    )
    for column in ("last_updated_at", "next_check_at", "reference", "source"):
        op.create_index(op.f(f"ix_products_{column}"), "products", [column])


def _price_history() -> None:
    op.create_table(
        "price_history",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("fetched_at", pwtypes.UtcDateTime(), nullable=False),
        sa.Column("price", pwtypes.Amount(), nullable=True),
        sa.Column("shipping_cost", pwtypes.Amount(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("stock_status", sa.String(length=16), nullable=False),
        sa.Column("fetch_method", sa.String(length=16), nullable=False),
        sa.Column("fetch_status", sa.String(length=16), nullable=False),
        sa.CheckConstraint(METHOD, name=op.f("ck_price_history_fetch_method")),
        sa.CheckConstraint(STATUS, name=op.f("ck_price_history_fetch_status")),
        sa.CheckConstraint(STOCK, name=op.f("ck_price_history_stock_status")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_price_history_product_id_products"),
            ondelete="CASCADE",
        ),
        # The chart index: index-only scans on PostgreSQL, a clustered table on SQLite.
        sa.PrimaryKeyConstraint(
            "product_id",
            "fetched_at",
            name=op.f("pk_price_history"),
            postgresql_include=["price", "currency", "stock_status"],
        ),
        sqlite_with_rowid=False,
    )


def _images_and_specs() -> None:
    op.create_table(
        "product_images",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_images_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "image_url", name=op.f("pk_product_images")),
    )
    op.create_table(
        "product_specs",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("spec_key", sa.Text(), nullable=False),
        sa.Column("spec_value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_specs_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "spec_key", name=op.f("pk_product_specs")),
    )


def _scraping_logs() -> None:
    op.create_table(
        "scraping_logs",
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
        sa.CheckConstraint(METHOD, name=op.f("ck_scraping_logs_fetch_method")),
        sa.CheckConstraint(STATUS, name=op.f("ck_scraping_logs_fetch_status")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_scraping_logs_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scraping_logs")),
        sa.UniqueConstraint(
            "source",
            "reference",
            "fetched_at",
            name=op.f("uq_scraping_logs_source_reference_fetched_at"),
        ),
    )
    op.create_index(op.f("ix_scraping_logs_fetched_at"), "scraping_logs", ["fetched_at"])
    op.create_index(op.f("ix_scraping_logs_product_id"), "scraping_logs", ["product_id"])


def downgrade() -> None:
    """Revert this revision: drop everything, children first."""
    for name in ("scraping_logs", "product_specs", "product_images", "price_history", "products"):
        op.drop_table(name)
