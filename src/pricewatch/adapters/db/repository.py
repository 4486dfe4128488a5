"""Repository functions: add and query the catalog and the exact price history.

Every function takes keyword-only arguments and a `Session`, and never commits: the service that
calls them owns the transaction. Writes are idempotent and race-safe on SQLite and PostgreSQL:
products are created with INSERT ... ON CONFLICT DO NOTHING then read back, price rows and logs are
inserted with ON CONFLICT DO NOTHING on their natural keys, specs are upserted (see `writes`).
Natural keys, including the one of a snapshot without a reference, are explained in `keys`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal, NamedTuple, TypeVar

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from pricewatch.adapters.db import writes
from pricewatch.adapters.db.keys import (
    REFERENCE_LENGTH,
    SOURCE_LENGTH,
    ProductKey,
    natural_key,
    normalise_url,
)
from pricewatch.adapters.db.prepared import Prepared
from pricewatch.adapters.db.tables import Product, price_history, products
from pricewatch.adapters.db.types import CENT
from pricewatch.adapters.db.writes import SaveResult, is_product_page, writes_price_row
from pricewatch.domain.snapshot import ProductSnapshot

_T = TypeVar("_T")

#: Snapshots written per group of statements (keeps SQLite under its bound-parameter limit).
CHUNK_SIZE = 500

Resolution = Literal["auto", "raw", "day"]

__all__ = [
    "REFERENCE_LENGTH",
    "SOURCE_LENGTH",
    "ChartPoint",
    "DueProduct",
    "PricePoint",
    "PriceSeries",
    "PriceStats",
    "ProductKey",
    "SaveResult",
    "add_scraping_log",
    "chart_query",
    "due_products",
    "find_product",
    "get_or_create_product",
    "is_product_page",
    "natural_key",
    "normalise_url",
    "price_points",
    "price_series",
    "price_series_and_stats",
    "price_stats",
    "save_snapshot",
    "save_snapshots",
    "set_schedule",
    "writes_price_row",
]


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricePoint:
    """One row of the price history as the app reads it."""

    fetched_at: datetime
    price: Decimal | None
    currency: str | None
    stock_status: str


class ChartPoint(NamedTuple):
    """A point of a price chart: one observation (raw) or one day's low/high/last (day).

    A named tuple: a long chart has thousands of points, built and read on every request.
    """

    at: datetime
    low: Decimal | None
    high: Decimal | None
    last: Decimal | None
    currency: str | None
    stock_status: str
    observations: int = 1


@dataclass(frozen=True)
class PriceSeries:
    """The chart of one product over a range."""

    product_id: int
    resolution: Literal["raw", "day"]
    points: tuple[ChartPoint, ...]


@dataclass(frozen=True)
class PriceStats:
    """Historical low, high and average of one product's price in one currency."""

    currency: str | None
    low: Decimal
    low_at: datetime
    high: Decimal
    high_at: datetime
    average: Decimal
    observations: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class DueProduct:
    """A product whose next check is due."""

    id: int
    source: str
    reference: str
    url: str
    next_check_at: datetime | None


# --- writes ------------------------------------------------------------------------------------


def get_or_create_product(*, session: Session, snapshot: ProductSnapshot) -> int:
    """The id of the snapshot's product, created from the snapshot if new (race-safe)."""
    key = natural_key(snapshot)
    states, _ = writes.resolve_products(session.connection(), [key], [(key, snapshot)])
    return states[key].id


def find_product(*, session: Session, source: str, reference: str) -> Product | None:
    """The product with this natural key, if any."""
    stmt = select(Product).where(Product.source == source, Product.reference == reference)
    return session.scalars(stmt).one_or_none()


def save_snapshot(*, session: Session, snapshot: ProductSnapshot) -> SaveResult:
    """Record one snapshot: product metadata, price row, images, specs and scraping log."""
    return save_snapshots(session=session, snapshots=[snapshot])


def save_snapshots(*, session: Session, snapshots: Sequence[ProductSnapshot]) -> SaveResult:
    """Record snapshots with a few set-based statements per chunk of `CHUNK_SIZE`.

    A product page (ok status with a title, price or stock state) creates or updates its product;
    its price row is written when it has a price or a stock state. Any other snapshot (blocked,
    error, not_found, or an empty page) writes only a scraping log, linked to the product when the
    product is already known. Older snapshots (a replayed spool) never overwrite newer metadata,
    images order or spec values.
    """
    result = SaveResult()
    connection = session.connection()
    for chunk in _chunks(snapshots, CHUNK_SIZE):
        result += writes.save_chunk(connection, [(natural_key(s), s) for s in chunk])
    return result


def add_scraping_log(
    *, session: Session, snapshot: ProductSnapshot, product_id: int | None
) -> bool:
    """Log one fetch attempt; False when that attempt was already logged."""
    entry = (natural_key(snapshot), snapshot, product_id)
    return writes.insert_logs(session.connection(), [entry]) == 1


def set_schedule(
    *,
    session: Session,
    product_id: int,
    enabled: bool | None = None,
    check_interval: int | None = None,
) -> None:
    """Change whether and how often (seconds) a product is checked."""
    values: dict[str, Any] = {}
    if enabled is not None:
        values["enabled"] = enabled
    if check_interval is not None:
        if check_interval <= 0:
            raise ValueError("check_interval must be a positive number of seconds")
        values["check_interval"] = check_interval
    if values:
        session.execute(update(products).where(products.c.id == product_id).values(**values))


def _chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# --- reads -------------------------------------------------------------------------------------


def chart_query(*, product_id: int, start: datetime, end: datetime) -> Select[Any]:
    """The chart's SELECT: answered from the primary key index alone (see `PriceEntry`)."""
    return _chart_select().params(k_id=product_id, k_start=start, k_end=end)


def _chart_select() -> Select[Any]:
    ph = price_history.c
    return (
        select(ph.fetched_at, ph.price, ph.currency, ph.stock_status)
        .where(
            ph.product_id == bindparam("k_id"),
            ph.fetched_at >= bindparam("k_start"),
            ph.fetched_at < bindparam("k_end"),
        )
        .order_by(ph.fetched_at)
    )


_CHART = Prepared(lambda _: _chart_select())


def price_points(
    *, session: Session, product_id: int, start: datetime, end: datetime
) -> list[PricePoint]:
    """Every observation of one product in [start, end), oldest first."""
    params = {"k_id": product_id, "k_start": start, "k_end": end}
    return [PricePoint(*r) for r in _CHART.rows(session.connection(), params)]


def price_series(
    *,
    session: Session,
    product_id: int,
    start: datetime,
    end: datetime,
    resolution: Resolution = "auto",
    raw_max_span: timedelta = timedelta(days=31),
) -> PriceSeries:
    """One product's chart over [start, end): every point, or per-day low/high/last.

    `auto` keeps every point when the range is at most `raw_max_span` long, else one point per UTC
    day and currency. The database returns the raw rows from its index; days are folded here, which
    keeps the query identical (and index-only) on both databases.
    """
    params = {"k_id": product_id, "k_start": start, "k_end": end}
    rows = _CHART.rows(session.connection(), params)
    daily = resolution == "day" or (resolution == "auto" and end - start > raw_max_span)
    return _series(product_id, rows, daily=daily)


def price_series_and_stats(
    *,
    session: Session,
    product_id: int,
    start: datetime,
    end: datetime,
    resolution: Resolution = "auto",
    raw_max_span: timedelta = timedelta(days=31),
) -> tuple[PriceSeries, PriceStats | None]:
    """`price_series` and `price_stats` over [start, end), from one read of the chart's rows.

    The statistics are computed here from the rows the chart reads anyway (the same rows
    `price_stats` aggregates), rather than by its four more statements over the same range: on
    PostgreSQL, each was a round trip and another pass over thousands of index entries.
    """
    params = {"k_id": product_id, "k_start": start, "k_end": end}
    rows = _CHART.rows(session.connection(), params)
    daily = resolution == "day" or (resolution == "auto" and end - start > raw_max_span)
    return _series(product_id, rows, daily=daily), _stats_of(rows)


def _series(product_id: int, rows: Sequence[tuple[Any, ...]], *, daily: bool) -> PriceSeries:
    if not daily:
        raw = tuple(ChartPoint._make((at, p, p, p, cur, stock, 1)) for at, p, cur, stock in rows)
        return PriceSeries(product_id, "raw", raw)
    return PriceSeries(product_id, "day", tuple(_by_day(rows)))


def _stats_of(rows: Sequence[tuple[Any, ...]]) -> PriceStats | None:
    """`price_stats` (currency: the latest price's) of chart rows (at, price, currency, stock),
    oldest first."""
    priced = [row for row in rows if row[1] is not None]
    if not priced:
        return None
    currency = priced[-1][2]
    # `==` matches None with None, as the query's IS NULL did.
    mine = [row for row in priced if row[2] == currency]
    prices = [row[1] for row in mine]
    low, high = min(prices), max(prices)
    # The exact sum, then the average as `price_stats` rounds it.
    average = (sum(prices, Decimal(0)) / len(prices)).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return PriceStats(
        currency=currency,
        low=low,
        low_at=next(row[0] for row in reversed(mine) if row[1] == low),
        high=high,
        high_at=next(row[0] for row in reversed(mine) if row[1] == high),
        average=average,
        observations=len(mine),
        first_at=mine[0][0],
        last_at=mine[-1][0],
    )


def _by_day(rows: Sequence[tuple[Any, ...]]) -> list[ChartPoint]:
    """Fold consecutive rows (at, price, currency, stock) of one UTC day and currency into
    low/high/last, in one pass."""
    folded: list[ChartPoint] = []
    key: tuple[int, Any] | None = None
    group: list[Any] = []  # at, low, high, last, currency, stock, observations
    for at, price, currency, stock in rows:
        if (day := (at.toordinal(), currency)) != key:
            if group:
                folded.append(ChartPoint._make(group))
            key, group = day, [at, price, price, price, currency, stock, 1]
            continue
        group[0], group[5] = at, stock
        group[6] += 1
        if price is not None:
            group[3] = price
            if group[1] is None or price < group[1]:
                group[1] = price
            if group[2] is None or price > group[2]:
                group[2] = price
    if group:
        folded.append(ChartPoint._make(group))
    return folded


def price_stats(
    *,
    session: Session,
    product_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    currency: str | None = None,
) -> PriceStats | None:
    """Historical low/high/average in `currency` (default: the latest price's); None if no price."""
    ph = price_history.c
    conditions = [ph.product_id == product_id, ph.price.is_not(None)]
    if start is not None:
        conditions.append(ph.fetched_at >= start)
    if end is not None:
        conditions.append(ph.fetched_at < end)
    if currency is None:
        latest = select(ph.currency).where(*conditions).order_by(ph.fetched_at.desc()).limit(1)
        currency = session.execute(latest).scalar_one_or_none()
    conditions.append(ph.currency.is_(None) if currency is None else ph.currency == currency)
    stmt = select(
        func.min(ph.price),
        func.max(ph.price),
        func.sum(ph.price),
        func.count(ph.price),
        func.min(ph.fetched_at),
        func.max(ph.fetched_at),
    ).where(*conditions)
    low, high, total, count, first_at, last_at = session.execute(stmt).one()
    if not count:
        return None
    # SUM and COUNT rather than AVG: exact on both databases (AVG is a float on SQLite).
    average = (Decimal(total) / count).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return PriceStats(
        currency=currency,
        low=low,
        low_at=_when(session, conditions, ph.price == low),
        high=high,
        high_at=_when(session, conditions, ph.price == high),
        average=average,
        observations=count,
        first_at=first_at,
        last_at=last_at,
    )


def _when(session: Session, conditions: list[Any], extra: Any) -> datetime:
    """The latest time a condition held."""
    ph = price_history.c
    stmt = select(func.max(ph.fetched_at)).where(*conditions, extra)
    result: datetime = session.execute(stmt).scalar_one()
    return result


def due_products(*, session: Session, now: datetime, limit: int = 100) -> list[DueProduct]:
    """Enabled products whose next check is due (never-scheduled ones first)."""
    p = products.c
    stmt = (
        select(p.id, p.source, p.reference, p.url, p.next_check_at)
        .where(p.enabled.is_(True), (p.next_check_at.is_(None)) | (p.next_check_at <= now))
        .order_by(p.next_check_at.asc().nulls_first(), p.id)
        .limit(limit)
    )
    return [DueProduct(*r) for r in session.execute(stmt)]
