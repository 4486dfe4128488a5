"""The schema: typed SQLAlchemy mappings shared by the repository and the migrations.

Natural key of a product: `(source, reference)`. When a page gives no reference, the reference is
derived from the page's normalised URL (see `repository.natural_key`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from pricewatch.adapters.db.types import Amount, JsonDocument, UtcDateTime
from pricewatch.domain.snapshot import Availability, FetchMethod, FetchStatus

# Stable constraint names on both databases, so migrations can refer to them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Seconds between two checks of a product unless the user says otherwise (6 hours).
DEFAULT_CHECK_INTERVAL = 24 * 3600

# 64-bit ids on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _one_of(column: str, values: type[StrEnum]) -> str:
    """A CHECK expression that keeps `column` within an enumeration's values.

    Written as ORs rather than IN (...): SQLite rebuilds an IN list for every inserted row, which
    made each price row three times slower to insert.
    """
    return " OR ".join(f"{column} = '{member.value}'" for member in values)


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Product(Base):
    """A tracked product page and its scheduling state."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: No index of its own: the unique (source, reference) index serves lookups by source.
    source: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(255), index=True)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(Text)
    gtin: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(3))
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    #: Seconds: an integer behaves the same on both databases, unlike INTERVAL.
    check_interval: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_CHECK_INTERVAL, server_default=str(DEFAULT_CHECK_INTERVAL)
    )
    next_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    #: Digests of the image list and of the specs of the newest snapshot applied to the product,
    #: so that saving an unchanged page skips reading and writing its images and specs (`writes`).
    images_digest: Mapped[str | None] = mapped_column(String(32))
    specs_digest: Mapped[str | None] = mapped_column(String(32))

    images: Mapped[list[ProductImage]] = relationship(
        order_by="ProductImage.position", passive_deletes=True, cascade="all, delete-orphan"
    )
    specs: Mapped[list[ProductSpec]] = relationship(
        order_by="ProductSpec.spec_key", passive_deletes=True, cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("source", "reference"),
        CheckConstraint("check_interval > 0", name="check_interval_positive"),
    )


class PriceEntry(Base):
    """One observation of a product's price and stock (the price time series).

    The primary key (product_id, fetched_at) makes a repeated write a no-op. It is also the chart
    index: on PostgreSQL it INCLUDEs price, currency and stock status so a chart is an index-only
    scan; on SQLite the table is WITHOUT ROWID, i.e. stored in that key's order, which covers it
    too.
    """

    __tablename__ = "price_history"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime())
    price: Mapped[Decimal | None] = mapped_column(Amount())
    shipping_cost: Mapped[Decimal | None] = mapped_column(Amount())
    currency: Mapped[str | None] = mapped_column(String(3))
    stock_status: Mapped[str] = mapped_column(String(16))
    fetch_method: Mapped[str] = mapped_column(String(16))
    fetch_status: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        PrimaryKeyConstraint(
            "product_id",
            "fetched_at",
            postgresql_include=["price", "currency", "stock_status"],
        ),
        CheckConstraint(_one_of("stock_status", Availability), name="stock_status"),
        CheckConstraint(_one_of("fetch_method", FetchMethod), name="fetch_method"),
        CheckConstraint(_one_of("fetch_status", FetchStatus), name="fetch_status"),
        {"sqlite_with_rowid": False},
    )


class ProductImage(Base):
    """An image URL of a product; position 0 is the main image."""

    __tablename__ = "product_images"

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    image_url: Mapped[str] = mapped_column(Text, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ProductSpec(Base):
    """One specification (key, value) of a product; the latest snapshot's value wins."""

    __tablename__ = "product_specs"

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    spec_key: Mapped[str] = mapped_column(Text, primary_key=True)
    spec_value: Mapped[str] = mapped_column(Text)


class ScrapingLog(Base):
    """One fetch attempt, successful or not. Logs outlive a deleted product (product_id NULL)."""

    __tablename__ = "scraping_logs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    html_size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    http_status: Mapped[int | None] = mapped_column(Integer)
    fetch_method: Mapped[str] = mapped_column(String(16))
    fetch_status: Mapped[str] = mapped_column(String(16))
    errors: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    notes: Mapped[list[str]] = mapped_column(JsonDocument, default=list)

    __table_args__ = (
        # One log per attempt: replaying a spooled snapshot does not log it twice. Time first:
        # new logs append at the end of the index (the key order of a product was a random
        # insertion per log), and pruning by age reads it, so fetched_at needs no index of its own.
        UniqueConstraint("fetched_at", "source", "reference"),
        CheckConstraint(_one_of("fetch_method", FetchMethod), name="fetch_method"),
        CheckConstraint(_one_of("fetch_status", FetchStatus), name="fetch_status"),
    )


def table(entity: type[Base]) -> Table:
    """The Core table of a mapped class (Core statements are several times faster than the ORM)."""
    return cast(Table, cast(Any, entity).__table__)


products = table(Product)

#: The product list sorted by title (ORDER BY lower(title)) reads this index instead of sorting the
#: whole table. PostgreSQL only: SQLite would not use it (its ascending order puts NULLs first, the
#: list puts them last) and SQLAlchemy cannot reflect expression indexes there, so `migrate.drift`
#: leaves out indexes that are not made on the database it compares.
Index("ix_products_lower_title", func.lower(products.c.title)).ddl_if(dialect="postgresql")
#: Products by page URL (job items and snapshots without a reference are matched by URL). A hash
#: index on PostgreSQL: equality is all it serves, and it has no btree's ~2.7 kB entry limit.
Index("ix_products_url", products.c.url, postgresql_using="hash")
price_history = table(PriceEntry)
product_images = table(ProductImage)
product_specs = table(ProductSpec)
scraping_logs = table(ScrapingLog)

__all__ = [
    "Base",
    "PriceEntry",
    "Product",
    "ProductImage",
    "ProductSpec",
    "ScrapingLog",
    "price_history",
    "product_images",
    "product_specs",
    "products",
    "scraping_logs",
]
