"""The catalog use cases of the web app (the API and the pages both call these).

Products: list (search, filter, sort, paginate), one product with its images, specs and price
statistics, its price history (raw points or one per day for long ranges) and CSV export, its
scrape log, sparklines, schedule changes, deletion; adding product pages by URL and checking a
product now, both through the job services (a job per page: the worker's `scrape_product`).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, cast

import anyio
import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import catalog_repository as repo
from pricewatch.adapters.db import repository
from pricewatch.adapters.db.catalog_repository import (
    LatestPrices,
    LogEntry,
    ProductQuery,
    ProductRow,
    SortKey,
    SortOrder,
)
from pricewatch.adapters.db.keys import normalise_url
from pricewatch.adapters.db.repository import ChartPoint, PriceStats
from pricewatch.adapters.scraping.fetch import FetchError, HostResolutionError
from pricewatch.adapters.scraping.guard import UrlGuard
from pricewatch.config import FetchSettings
from pricewatch.domain.job import JobKind, TriggeredBy
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import jobs, preferences
from pricewatch.services.jobs import Created, JobEngine, SessionFactory

__all__ = [
    "MAX_URLS",
    "Added",
    "CatalogInputError",
    "History",
    "LatestPrices",
    "LogEntry",
    "ProductDetail",
    "ProductItem",
    "ProductNotFoundError",
    "ProductPage",
    "ProductQuery",
    "ProductRow",
    "Rejected",
    "SortKey",
    "SortOrder",
    "add_urls",
    "check_now",
    "delete_product",
    "get_product",
    "history",
    "history_csv",
    "list_products",
    "main_images",
    "scrape_log",
    "sparklines",
    "update_product",
    "vet_urls",
]

#: URLs accepted by one `add_urls` call.
MAX_URLS = 500
#: Seconds the whole DNS vetting of one `add_urls` call may take (names still unresolved then
#: are accepted: the fetch guard vets every address again when the page is fetched).
VET_TIMEOUT = 3.0
#: Host names resolved at once while vetting.
VET_CONCURRENCY = 16
#: Rows per chunk of a CSV export.
CSV_CHUNK = 500


class ProductNotFoundError(LookupError):
    """No product has this id."""


class CatalogInputError(ValueError):
    """A request the catalog cannot serve as asked (e.g. a range that ends before it starts).

    `detail`: structured information for the caller, e.g. every refused URL and why.
    """

    def __init__(self, message: str, detail: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.detail = detail


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductItem:
    """A product with its latest observation and the change since the one before."""

    product: ProductRow
    latest: LatestPrices | None

    @property
    def price(self) -> Decimal | None:
        """The latest price, if the latest observation had one."""
        return None if self.latest is None else self.latest.price

    @property
    def currency(self) -> str | None:
        """The latest price's currency (else the product's)."""
        latest = self.latest.currency if self.latest is not None else None
        return latest or self.product.currency

    @property
    def availability(self) -> str:
        """The stock status of the latest observation ("unknown" before the first)."""
        return "unknown" if self.latest is None else self.latest.stock_status

    @property
    def last_checked_at(self) -> datetime | None:
        """When the product was last observed."""
        return None if self.latest is None else self.latest.fetched_at

    @property
    def previous_price(self) -> Decimal | None:
        """The price observed before the latest one, in the same currency."""
        latest = self.latest
        if latest is None or latest.previous_currency != latest.currency:
            return None
        return latest.previous_price

    @property
    def change(self) -> Decimal | None:
        """Latest price minus previous price, when both are known in one currency."""
        previous = self.previous_price
        if previous is None or self.price is None:
            return None
        return self.price - previous


@dataclass(frozen=True)
class ProductPage:
    """One page of the product list and the total over all pages."""

    items: list[ProductItem]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class ProductDetail:
    """One product with its images, specifications and all-time price statistics."""

    item: ProductItem
    images: list[str]
    specs: dict[str, str]
    stats: PriceStats | None


@dataclass(frozen=True)
class History:
    """A product's price chart over a range, and the range's statistics."""

    product_id: int
    currency: str | None
    resolution: Literal["raw", "day"]
    points: tuple[ChartPoint, ...]
    stats: PriceStats | None


@dataclass(frozen=True)
class Rejected:
    """A URL that was not accepted, and why."""

    url: str
    error: str


@dataclass(frozen=True)
class Added:
    """What `add_urls` did: the URLs accepted (one job each), the ones refused."""

    accepted: list[str]
    rejected: list[Rejected]
    created: list[Created] = field(default_factory=list)

    @property
    def waiting(self) -> bool:
        """True when the task engine could not be reached: the jobs wait, pending."""
        return any(not c.dispatched for c in self.created)


# --- the product list --------------------------------------------------------------------------


def list_products(*, sessions: SessionFactory, query: ProductQuery) -> ProductPage:
    """One page of products with their latest prices, and the total matching `query`."""
    with sessions() as session:
        rows, total = repo.product_page(session=session, query=query)
    items = [ProductItem(row, latest) for row, latest in rows]
    return ProductPage(items, total, query.limit, query.offset)


def sparklines(
    *, sessions: SessionFactory, product_ids: Sequence[int], days: int = 30
) -> dict[int, list[Decimal]]:
    """Per product, its last price of each UTC day over the last `days` days, oldest first."""
    since = utc_now() - timedelta(days=days)
    with sessions() as session:
        points = repo.sparkline_points(session=session, product_ids=product_ids, since=since)
    return {
        product_id: [list(day)[-1][1] for _, day in itertools.groupby(rows, lambda r: r[0].date())]
        for product_id, rows in points.items()
    }


def main_images(*, sessions: SessionFactory, product_ids: Sequence[int]) -> dict[int, str]:
    """Each product's main image URL (products without images are left out), in one query."""
    if not product_ids:
        return {}
    with sessions() as session:
        return repo.main_images(session=session, product_ids=product_ids)


# --- one product -------------------------------------------------------------------------------


def get_product(*, sessions: SessionFactory, product_id: int) -> ProductDetail:
    """The product with its images, specs and statistics; ProductNotFoundError if none."""
    with sessions() as session:
        row = _existing(session, product_id)
        latest = repo.latest_prices(session=session, product_ids=[product_id]).get(product_id)
        images = repo.images_of(session=session, product_id=product_id)
        specs = repo.specs_of(session=session, product_id=product_id)
        stats = repository.price_stats(session=session, product_id=product_id)
    return ProductDetail(ProductItem(row, latest), images, specs, stats)


def history(
    *,
    sessions: SessionFactory,
    product_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> History:
    """The price chart over [start, end) (default: the whole history) and its statistics.

    Ranges longer than a month come one point per day (low, high, last of the day).
    """
    if start is not None and end is not None and start > end:
        raise CatalogInputError("the range starts after it ends: 'from' must not be after 'to'")
    with sessions() as session:
        row = _existing(session, product_id)
        start, end = _bounds(session, product_id, start, end)
        series, stats = repository.price_series_and_stats(
            session=session, product_id=product_id, start=start, end=end
        )
    currency = stats.currency if stats is not None else row.currency
    return History(product_id, currency, series.resolution, series.points, stats)


def _bounds(
    session: Session, product_id: int, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """The range asked for, its missing ends taken from the product's first and last points."""
    if start is not None and end is not None:
        return start, end
    first, last = repo.first_and_last_observation(session=session, product_id=product_id)
    now = utc_now()
    end = end or (last + timedelta(microseconds=1) if last is not None else now)
    start = start or first or end
    return min(start, end), end


def history_csv(*, sessions: SessionFactory, product_id: int) -> Iterator[str]:
    """Every observation of the product as CSV text, in chunks (header first).

    Checks that the product exists before the first chunk is asked for, so a caller can answer
    404 before it starts streaming.
    """
    with sessions() as session:
        _existing(session, product_id)
    return _csv_chunks(sessions, product_id)


def _csv_chunks(sessions: SessionFactory, product_id: int) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["fetched_at", "price", "currency", "availability"])
    with sessions() as session:
        first, last = repo.first_and_last_observation(session=session, product_id=product_id)
        points = []
        if first is not None and last is not None:
            points = repository.price_points(
                session=session,
                product_id=product_id,
                start=first,
                end=last + timedelta(microseconds=1),
            )
    for start in range(0, max(len(points), 1), CSV_CHUNK):
        for p in points[start : start + CSV_CHUNK]:
            price = "" if p.price is None else str(p.price)
            writer.writerow([p.fetched_at.isoformat(), price, p.currency or "", p.stock_status])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def scrape_log(*, sessions: SessionFactory, product_id: int, limit: int = 50) -> list[LogEntry]:
    """The product's most recent fetch attempts, newest first."""
    with sessions() as session:
        _existing(session, product_id)
        return repo.product_logs(session=session, product_id=product_id, limit=limit)


def update_product(
    *,
    sessions: SessionFactory,
    product_id: int,
    check_interval: timedelta | None = None,
    enabled: bool | None = None,
) -> ProductItem:
    """Change how often and whether a product is checked; the next check moves accordingly."""
    seconds = None if check_interval is None else round(check_interval.total_seconds())
    if seconds is not None and seconds <= 0:
        raise CatalogInputError("the check interval must be positive")
    next_at = utc_now() + check_interval if check_interval is not None else None
    with sessions() as session:
        found = repo.update_product(
            session=session,
            product_id=product_id,
            enabled=enabled,
            check_interval=seconds,
            next_check_at=next_at,
        )
        if not found:
            raise ProductNotFoundError(f"no product {product_id}")
        session.commit()
        row = _existing(session, product_id)
        latest = repo.latest_prices(session=session, product_ids=[product_id]).get(product_id)
    return ProductItem(row, latest)


def delete_product(*, sessions: SessionFactory, product_id: int) -> None:
    """Delete a product and its price history; ProductNotFoundError when there is none."""
    with sessions() as session:
        if not repo.delete_product(session=session, product_id=product_id):
            raise ProductNotFoundError(f"no product {product_id}")
        session.commit()


def _existing(session: Session, product_id: int) -> ProductRow:
    row = repo.get_product(session=session, product_id=product_id)
    if row is None:
        raise ProductNotFoundError(f"no product {product_id}")
    return row


# --- adding and checking -----------------------------------------------------------------------


async def vet_urls(
    urls: Sequence[str], *, fetch: FetchSettings, guard: UrlGuard | None = None
) -> tuple[list[str], list[Rejected]]:
    """Split `urls` into the ones that may be fetched (deduplicated) and the refused ones.

    The fetch guard's rules: absolute http(s) URLs with a host, no credentials, and no private,
    loopback or otherwise non-public address unless `fetch.allow_hosts` allows it. Host names
    are resolved (concurrently, within `VET_TIMEOUT` in all); a name that does not resolve now
    is accepted, as the fetch guard checks its addresses again when the page is fetched.
    """
    guard = guard or UrlGuard.from_settings(fetch)
    unique, rejected = _dedupe(urls, guard)
    refused: dict[str, str] = {}
    limiter = anyio.Semaphore(VET_CONCURRENCY)

    async def vet(url: str) -> None:
        async with limiter:
            try:
                await guard.check_url(url)
            except HostResolutionError:
                return  # unknown now: left to the fetch
            except FetchError as exc:
                refused[url] = _reason(exc)

    with anyio.move_on_after(VET_TIMEOUT):
        async with anyio.create_task_group() as group:
            for url in unique:
                group.start_soon(vet, url)
    accepted = [u for u in unique if u not in refused]
    return accepted, rejected + [Rejected(u, refused[u]) for u in unique if u in refused]


def _dedupe(urls: Sequence[str], guard: UrlGuard) -> tuple[list[str], list[Rejected]]:
    """Syntax-checked URLs, each page once (by normalised URL); the malformed ones refused."""
    seen: set[str] = set()
    unique: list[str] = []
    rejected: list[Rejected] = []
    for raw in urls:
        url = raw.strip()
        try:
            guard.check_syntax(url)
        except FetchError as exc:
            rejected.append(Rejected(raw, _reason(exc)))
            continue
        key = normalise_url(url)
        if key not in seen:
            seen.add(key)
            unique.append(url)
    return unique, rejected


def _reason(exc: BaseException) -> str:
    """The guard's message without its "refused <url>: " prefix (the URL is shown beside it)."""
    text = str(exc)
    return text.split(": ", 1)[1] if text.startswith("refused ") and ": " in text else text


async def add_urls(
    *,
    sessions: SessionFactory,
    engine: JobEngine,
    urls: Sequence[str],
    fetch: FetchSettings,
    schedule: bool = True,
    interval: timedelta | None = None,
    triggered_by: TriggeredBy = TriggeredBy.API,
    guard: UrlGuard | None = None,
) -> Added:
    """Vet the URLs, then one `scrape_product` job per accepted page.

    With `schedule`, each job also sets its product's check interval (`interval`, by default
    the user's preference), so the scheduler checks it again from then on; without, the pages
    are only scraped (a product new to the catalog then gets the default schedule). The product
    rows appear when the jobs have scraped the pages.
    """
    if len(urls) > MAX_URLS:
        raise CatalogInputError(f"at most {MAX_URLS} URLs at once, got {len(urls)}")
    params: dict[str, int] = {}
    if schedule:
        params["check_interval"] = await _interval_seconds(sessions, interval)
    accepted, rejected = await vet_urls(urls, fetch=fetch, guard=guard)

    def create() -> list[Created]:
        return [
            jobs.create_job(
                sessions=sessions,
                engine=engine,
                kind=JobKind.SCRAPE_PRODUCT,
                params={"url": url, **params},
                triggered_by=triggered_by,
            )
            for url in accepted
        ]

    created = await anyio.to_thread.run_sync(create) if accepted else []
    return Added(accepted, rejected, created)


async def _interval_seconds(sessions: SessionFactory, interval: timedelta | None) -> int:
    """`interval` in seconds, else the default interval the user chose."""
    if interval is None:
        # `preferences` types its parameter as a sessionmaker; any session factory does.
        factory = cast("sessionmaker[Session]", sessions)
        return await anyio.to_thread.run_sync(
            lambda: preferences.default_check_interval(sessions=factory)
        )
    seconds = round(interval.total_seconds())
    if seconds <= 0:
        raise CatalogInputError("the check interval must be positive")
    return seconds


def check_now(
    *,
    sessions: SessionFactory,
    engine: JobEngine,
    product_id: int,
    triggered_by: TriggeredBy = TriggeredBy.API,
) -> Created:
    """A `scrape_product` job for the product's page now (its schedule is unchanged)."""
    with sessions() as session:
        row = _existing(session, product_id)
    return jobs.create_job(
        sessions=sessions,
        engine=engine,
        kind=JobKind.SCRAPE_PRODUCT,
        params={"url": row.url, "product_id": row.id},
        triggered_by=triggered_by,
    )
