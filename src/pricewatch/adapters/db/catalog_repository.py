"""Catalog reads and writes of the web app: search, sort and paginate products, one product's
images, specs and scrape log, sparklines, schedule changes and deletion. Add and query, never
commit (the services commit).

The product list stays fast on a large history: the page of products is chosen from `products`
alone (filters, sort, LIMIT/OFFSET), and only then are the latest and previous prices of that
page's products read, each by a seek on the price history's primary key (product_id,
fetched_at); the page, its prices and the count over all pages are one statement
(`product_page`). Sorting by price or change, and filtering by stock, need the latest price of
every matching product before paginating: still one index seek per product, but no longer
page-sized. The default sort (last_updated_at) reads its index, as does the title sort on
PostgreSQL, ascending (ix_products_lower_title).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, cast

from sqlalchemy import (
    CursorResult,
    Select,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from pricewatch.adapters.db.tables import (
    price_history,
    product_images,
    product_specs,
    products,
    scraping_logs,
)

SortKey = Literal["title", "price", "change", "last_checked", "source"]
SortOrder = Literal["asc", "desc"]

__all__ = [
    "LatestPrices",
    "LogEntry",
    "ProductQuery",
    "ProductRow",
    "SortKey",
    "SortOrder",
    "delete_product",
    "first_and_last_observation",
    "get_product",
    "images_of",
    "latest_prices",
    "main_images",
    "product_logs",
    "product_page",
    "product_urls",
    "sparkline_points",
    "specs_of",
    "update_product",
]


@dataclass(frozen=True)
class ProductQuery:
    """Which products, in which order, which page."""

    q: str | None = None
    source: str | None = None
    availability: str | None = None
    enabled: bool | None = None
    sort: SortKey = "last_checked"
    order: SortOrder = "desc"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class ProductRow:
    """A product's own columns."""

    id: int
    source: str
    reference: str
    url: str
    title: str | None
    brand: str | None
    category: str | None
    gtin: str | None
    currency: str | None
    enabled: bool
    check_interval: int
    first_seen_at: datetime
    last_updated_at: datetime
    next_check_at: datetime | None


@dataclass(frozen=True)
class LatestPrices:
    """A product's latest observation and the price observed before it."""

    product_id: int
    fetched_at: datetime
    price: Decimal | None
    currency: str | None
    stock_status: str
    previous_price: Decimal | None
    previous_currency: str | None


@dataclass(frozen=True)
class LogEntry:
    """One fetch attempt of a product."""

    id: int
    fetched_at: datetime
    url: str
    fetch_method: str
    fetch_status: str
    http_status: int | None
    duration_ms: int
    html_size_bytes: int
    errors: list[str]
    notes: list[str]


_PRODUCT_COLUMNS = (
    products.c.id,
    products.c.source,
    products.c.reference,
    products.c.url,
    products.c.title,
    products.c.brand,
    products.c.category,
    products.c.gtin,
    products.c.currency,
    products.c.enabled,
    products.c.check_interval,
    products.c.first_seen_at,
    products.c.last_updated_at,
    products.c.next_check_at,
)


# --- the product list --------------------------------------------------------------------------


def product_page(
    *, session: Session, query: ProductQuery
) -> tuple[list[tuple[ProductRow, LatestPrices | None]], int]:
    """One page of the products `query` selects, in its order, each with its latest and previous
    prices, and how many products it selects over all pages: one statement (one round trip, one
    plan), a second one (the count) only when the page is empty."""
    shape = _shape(query)
    params = _params(query)
    page = {**params, "b_limit": query.limit, "b_offset": query.offset}
    lateral = session.get_bind().dialect.name == "postgresql"
    rows = session.execute(_statements(shape, lateral=lateral)[0], page).all()
    # Each product's row: its latest observation (PostgreSQL: its previous one comes as the next
    # row, of the same product) and the count over all pages.
    width = len(_PRODUCT_COLUMNS)
    found: list[tuple[ProductRow, LatestPrices | None]] = []
    total = None
    for index, row in enumerate(rows):
        product_id = row[0]
        if found and found[-1][0].id == product_id:  # PostgreSQL: the previous observation
            continue
        at, price, currency, stock, *before, total = row[width:]
        if not before:
            before = [None, None]
            after = rows[index + 1] if index + 1 < len(rows) else None
            if after is not None and after[0] == product_id:
                before = [after[width + 1], after[width + 2]]
        latest = None
        if at is not None:
            latest = LatestPrices(product_id, at, price, currency, stock, *before)
        found.append((ProductRow(*row[:width]), latest))
    if total is None:  # past the last page (or nothing matches): the count alone
        count = _statements(shape, lateral=False)[1]
        total = session.execute(count, params).scalar_one()
    return found, int(total)


@dataclass(frozen=True)
class _Shape:
    """What a query's statements depend on (its values are bound parameters)."""

    search: bool
    source: bool
    enabled: bool
    availability: bool
    sort: SortKey
    order: SortOrder


def _shape(query: ProductQuery) -> _Shape:
    return _Shape(
        bool(query.q),
        query.source is not None,
        query.enabled is not None,
        query.availability is not None,
        query.sort,
        query.order,
    )


def _params(query: ProductQuery) -> dict[str, Any]:
    """The bound values of a query's filters."""
    params: dict[str, Any] = {}
    if query.q:
        params["b_like"] = f"%{_escape_like(query.q)}%"
    if query.source is not None:
        params["b_source"] = query.source
    if query.enabled is not None:
        params["b_enabled"] = query.enabled
    if query.availability is not None:
        params["b_availability"] = query.availability
    return params


def _escape_like(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


@functools.cache
def _statements(shape: _Shape, *, lateral: bool) -> tuple[Select[Any], Select[Any]]:
    """The page and count statements of a query shape, built once (building costs more than
    running them).

    The page statement chooses the page from `products` alone (filters, sort, LIMIT/OFFSET, the
    sort keys kept as columns), then joins each of its products' latest and previous price rows
    and adds the count over all pages (evaluated once), ordered again by the kept sort keys.
    `lateral` (PostgreSQL): the two price rows come from one backward seek on the price
    history's key per product (LATERAL ... LIMIT 2), as two rows; else (SQLite, no LATERAL) each
    is found by a seek for its time (max) and another for its row, on one row per product.
    """
    conditions = _conditions(shape)
    keys = _order_keys(shape)
    descending = shape.order == "desc"
    chosen = (
        select(*_PRODUCT_COLUMNS, *(key.label(f"k{i}") for i, (key, _) in enumerate(keys)))
        .where(*conditions)
        .order_by(*_ordered(keys, descending))
        .limit(bindparam("b_limit"))
        .offset(bindparam("b_offset"))
        .subquery("page")
    )
    count = select(func.count()).select_from(products).where(*conditions)
    pg = chosen.c
    kept = _ordered([(pg[f"k{i}"], nullable) for i, (_, nullable) in enumerate(keys)], descending)
    ph = price_history
    if lateral:
        recent = (
            select(ph.c.fetched_at, ph.c.price, ph.c.currency, ph.c.stock_status)
            .where(ph.c.product_id == pg.id)
            .order_by(ph.c.fetched_at.desc())
            .limit(2)
            .lateral("recent")
        )
        page = (
            select(
                *(pg[c.name] for c in _PRODUCT_COLUMNS),
                *recent.c,
                count.scalar_subquery(),
            )
            .select_from(chosen.outerjoin(recent, true()))
            .order_by(*kept, recent.c.fetched_at.desc())
        )
        return page, count
    joined, prices = _latest_and_previous(chosen, pg.id, outer=True)
    page = (
        select(*(pg[c.name] for c in _PRODUCT_COLUMNS), *prices, count.scalar_subquery())
        .select_from(joined)
        .order_by(*kept)
    )
    return page, count


def _conditions(shape: _Shape) -> list[Any]:
    p = products.c
    conditions: list[Any] = []
    if shape.search:
        like = bindparam("b_like", type_=Text())
        columns = (p.title, p.brand, p.reference, p.url)
        conditions.append(or_(*(c.ilike(like, escape="/") for c in columns)))
    if shape.source:
        conditions.append(p.source == bindparam("b_source"))
    if shape.enabled:
        conditions.append(p.enabled == bindparam("b_enabled"))
    if shape.availability:
        stock = func.coalesce(_latest(price_history.c.stock_status), "unknown")
        conditions.append(stock == bindparam("b_availability"))
    return conditions


def _latest(column: Any, *, skip: int = 0) -> Any:
    """The product's latest (or, with skip=1, previous) value of a price-history column."""
    ph = price_history.c
    return (
        select(column)
        .where(ph.product_id == products.c.id)
        .order_by(ph.fetched_at.desc())
        .limit(1)
        .offset(skip)
        .scalar_subquery()
    )


def _order_keys(shape: _Shape) -> list[tuple[Any, bool]]:
    """The sort keys of a query shape, each with whether it can be NULL (NULLs sort last), the
    product id last (a stable order across pages)."""
    p = products.c
    price = _latest(price_history.c.price)
    keys: dict[SortKey, list[tuple[Any, bool]]] = {
        "title": [(func.lower(p.title), True)],
        "source": [(p.source, False), (func.lower(p.title), True)],
        "last_checked": [(p.last_updated_at, False)],
        "price": [(price, True)],
        "change": [(price - _latest(price_history.c.price, skip=1), True)],
    }
    return [*keys[shape.sort], (p.id, False)]


def _ordered(keys: Sequence[tuple[Any, bool]], descending: bool) -> list[Any]:
    """ORDER BY terms of `keys`. NULLS LAST only where a key can be NULL: PostgreSQL reads an
    index backwards as DESC NULLS FIRST, so a needless NULLS LAST on a NOT NULL column (the
    default sort, last_updated_at DESC) made it sort the whole table instead of reading its index.
    """
    terms = []
    for key, nullable in keys:
        term = key.desc() if descending else key.asc()
        terms.append(term.nulls_last() if nullable else term)
    return terms


def latest_prices(*, session: Session, product_ids: Sequence[int]) -> dict[int, LatestPrices]:
    """The latest and previous observations of these products (two index seeks each)."""
    if not product_ids:
        return {}
    rows = session.execute(_LATEST_PRICES, {"b_ids": list(product_ids)})
    return {row[0]: LatestPrices(*row) for row in rows}


def _latest_prices() -> Select[Any]:
    p = products.c
    joined, prices = _latest_and_previous(products, p.id, outer=False)
    return (
        select(p.id, *prices)
        .select_from(joined)
        .where(p.id.in_(bindparam("b_ids", expanding=True)))
    )


def _latest_and_previous(base: Any, product_id: Any, *, outer: bool) -> tuple[Any, tuple[Any, ...]]:
    """`base` joined to each product's latest price row (outer: products without one stay) and
    the row before it, with the columns of `LatestPrices` from them. Without LATERAL (SQLite):
    each row is found by a seek for its time (the max), then one for the row."""
    ph = price_history
    latest, prev, inner = ph.alias("latest"), ph.alias("prev"), ph.alias("inner_prev")
    latest_at = (
        select(func.max(inner.c.fetched_at))
        .where(inner.c.product_id == product_id)
        .scalar_subquery()
    )
    prev_at = (
        select(func.max(inner.c.fetched_at))
        .where(inner.c.product_id == product_id, inner.c.fetched_at < latest.c.fetched_at)
        .scalar_subquery()
    )
    on_latest = and_(latest.c.product_id == product_id, latest.c.fetched_at == latest_at)
    with_latest = base.outerjoin(latest, on_latest) if outer else base.join(latest, on_latest)
    joined = with_latest.outerjoin(
        prev, and_(prev.c.product_id == product_id, prev.c.fetched_at == prev_at)
    )
    columns = (
        latest.c.fetched_at,
        latest.c.price,
        latest.c.currency,
        latest.c.stock_status,
        prev.c.price,
        prev.c.currency,
    )
    return joined, columns


#: Built once: building this statement costs more than running it for a page.
_LATEST_PRICES = _latest_prices()


def sparkline_points(
    *, session: Session, product_ids: Sequence[int], since: datetime
) -> dict[int, list[tuple[datetime, Decimal]]]:
    """Priced observations of these products since `since`, oldest first, per product."""
    series: dict[int, list[tuple[datetime, Decimal]]] = defaultdict(list)
    if not product_ids:
        return series
    ph = price_history.c
    stmt = (
        select(ph.product_id, ph.fetched_at, ph.price)
        .where(ph.product_id.in_(list(product_ids)), ph.fetched_at >= since)
        .where(ph.price.is_not(None))
        .order_by(ph.product_id, ph.fetched_at)
    )
    for product_id, at, price in session.execute(stmt):
        series[product_id].append((at, price))
    return series


# --- one product -------------------------------------------------------------------------------


def get_product(*, session: Session, product_id: int) -> ProductRow | None:
    """The product with this id, if any."""
    row = session.execute(select(*_PRODUCT_COLUMNS).where(products.c.id == product_id)).first()
    return None if row is None else ProductRow(*cast(tuple[Any, ...], row))


def images_of(*, session: Session, product_id: int) -> list[str]:
    """The product's image URLs, main image first."""
    i = product_images.c
    stmt = select(i.image_url).where(i.product_id == product_id).order_by(i.position, i.image_url)
    return list(session.scalars(stmt))


def main_images(*, session: Session, product_ids: Sequence[int]) -> dict[int, str]:
    """Each product's main image (lowest position, then first URL) among `product_ids`, in one
    query; products without images are left out."""
    if not product_ids:
        return {}
    i = product_images.c
    stmt = (
        select(i.product_id, i.image_url)
        .where(i.product_id.in_(list(product_ids)))
        # Reversed, so that each product's main image is the last one the dict keeps.
        .order_by(i.product_id, i.position.desc(), i.image_url.desc())
    )
    return dict(session.execute(stmt).all())


def specs_of(*, session: Session, product_id: int) -> dict[str, str]:
    """The product's specifications by key."""
    s = product_specs.c
    stmt = select(s.spec_key, s.spec_value).where(s.product_id == product_id).order_by(s.spec_key)
    return {row.spec_key: row.spec_value for row in session.execute(stmt)}


def first_and_last_observation(
    *, session: Session, product_id: int
) -> tuple[datetime | None, datetime | None]:
    """When the product was first and last observed (two seeks on the price history's key)."""
    ph = price_history.c
    first = select(func.min(ph.fetched_at)).where(ph.product_id == product_id).scalar_subquery()
    last = select(func.max(ph.fetched_at)).where(ph.product_id == product_id).scalar_subquery()
    row = session.execute(select(first, last)).one()
    return row[0], row[1]


def product_logs(*, session: Session, product_id: int, limit: int) -> list[LogEntry]:
    """The product's most recent fetch attempts, newest first."""
    log = scraping_logs.c
    stmt = (
        select(
            log.id,
            log.fetched_at,
            log.url,
            log.fetch_method,
            log.fetch_status,
            log.http_status,
            log.duration_ms,
            log.html_size_bytes,
            log.errors,
            log.notes,
        )
        .where(log.product_id == product_id)
        .order_by(log.fetched_at.desc(), log.id.desc())
        .limit(limit)
    )
    return [
        LogEntry(*row[:8], errors=list(row.errors or []), notes=list(row.notes or []))
        for row in session.execute(stmt)
    ]


def product_urls(*, session: Session, urls: Sequence[str]) -> dict[str, list[int]]:
    """The ids of the products whose page is at each of these URLs."""
    found: dict[str, list[int]] = defaultdict(list)
    if urls:
        p = products.c
        stmt = select(p.url, p.id).where(p.url.in_(sorted(set(urls)))).order_by(p.id)
        for url, product_id in session.execute(stmt):
            found[url].append(product_id)
    return found


# --- writes ------------------------------------------------------------------------------------


def update_product(
    *,
    session: Session,
    product_id: int,
    enabled: bool | None = None,
    check_interval: int | None = None,
    next_check_at: datetime | None = None,
) -> bool:
    """Change whether and how often (seconds) a product is checked; False when there is none."""
    values: dict[str, Any] = {}
    if enabled is not None:
        values["enabled"] = enabled
    if check_interval is not None:
        if check_interval <= 0:
            raise ValueError("check_interval must be a positive number of seconds")
        values["check_interval"] = check_interval
    if next_check_at is not None:
        values["next_check_at"] = next_check_at
    if not values:  # nothing to change: still tell whether the product exists
        found = select(products.c.id).where(products.c.id == product_id)
        return session.execute(found).first() is not None
    stmt = update(products).where(products.c.id == product_id).values(**values)
    return int(cast(CursorResult[Any], session.execute(stmt)).rowcount) > 0


def delete_product(*, session: Session, product_id: int) -> bool:
    """Delete a product with its price history, images and specs; False when there is none.

    Its scraping logs stay, unlinked (the foreign key sets them to NULL).
    """
    stmt = products.delete().where(products.c.id == product_id)
    return int(cast(CursorResult[Any], session.execute(stmt)).rowcount) > 0
