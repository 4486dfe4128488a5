"""The API's request and response bodies (they are also its OpenAPI schema).

Money is a decimal string with two places ("1226.50"), never a float; times are ISO 8601 in UTC.
Request strings are bounded and may not hold NUL characters (no database stores them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from pricewatch.adapters.db.job_repository import EventRecord, JobRecord
from pricewatch.adapters.db.repository import ChartPoint, PriceStats
from pricewatch.domain.job import EventLevel, JobKind, JobStatus, TriggeredBy
from pricewatch.domain.snapshot import Availability
from pricewatch.services.catalog import (
    MAX_URLS,
    History,
    LogEntry,
    ProductDetail,
    ProductItem,
    Rejected,
)
from pricewatch.services.preferences import MAX_CHECK_INTERVAL_HOURS, MIN_CHECK_INTERVAL_HOURS

#: Largest id a path may name (64-bit ids; product ids are 32-bit on PostgreSQL).
MAX_JOB_ID = 2**63 - 1
MAX_PRODUCT_ID = 2**31 - 1
#: Longest URL accepted in a request.
MAX_URL_LENGTH = 2048

Money = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]+\.[0-9]{2}$",
        description="A decimal amount with two places, as a string",
        examples=["1226.50"],
    ),
]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


UrlText = Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH), AfterValidator(_no_nul)]
NameText = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_no_nul)]


def money(value: Decimal | None) -> str | None:
    """A decimal amount as the API shows it: two places."""
    if value is None:
        return None
    text = str(value)  # amounts come from the database with two places already: the quick way
    dot = text.find(".")
    return text if dot != -1 and len(text) - dot == 3 and "E" not in text else f"{value:.2f}"


class Error(BaseModel):
    """Every error: one clear sentence, the status, and structured detail when there is any."""

    error: str
    status: int
    detail: Any = None


# --- jobs --------------------------------------------------------------------------------------


class Progress(BaseModel):
    total: int
    completed: int
    current: str | None


class Counts(BaseModel):
    created: int
    updated: int
    deleted: int
    skipped: int
    errors: int


class Job(BaseModel):
    """A background job: what it does, how far it got, how it ended."""

    id: int
    kind: JobKind
    status: JobStatus
    triggered_by: TriggeredBy
    params: dict[str, Any]
    progress: Progress
    counts: Counts
    attempts: int
    error: str | None
    retry_of: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested: bool
    product_ids: list[int] = Field(description="Products the job checked, as far as known yet")

    @classmethod
    def of(cls, record: JobRecord, product_ids: list[int] | None = None) -> Job:
        """The JSON form of a job record."""
        p, c = record.progress, record.counts
        return cls(
            id=record.id,
            kind=record.kind,
            status=record.status,
            triggered_by=record.triggered_by,
            params=record.params,
            progress=Progress(total=p.total, completed=p.completed, current=p.current),
            counts=Counts(
                created=c.created,
                updated=c.updated,
                deleted=c.deleted,
                skipped=c.skipped,
                errors=c.errors,
            ),
            attempts=record.attempts,
            error=record.error,
            retry_of=record.retry_of,
            created_at=record.created_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
            cancel_requested=record.cancel_requested,
            product_ids=product_ids or [],
        )


class Event(BaseModel):
    """One log line of a job."""

    id: int
    at: datetime
    level: EventLevel
    message: str

    @classmethod
    def of(cls, record: EventRecord) -> Event:
        """The JSON form of an event record."""
        return cls(id=record.id, at=record.at, level=record.level, message=record.message)


class JobWithEvents(Job):
    """A job with its last log lines (oldest first)."""

    events: list[Event]


class JobList(BaseModel):
    items: list[Job]
    total: int
    limit: int
    offset: int


class JobCreated(BaseModel):
    """A job that was created; `message` says when it waits for an unreachable task engine."""

    job: Job
    message: str | None = None


class RejectedUrl(BaseModel):
    url: str
    error: str

    @classmethod
    def of(cls, rejected: Rejected) -> RejectedUrl:
        return cls(url=rejected.url, error=rejected.error)


class JobsCreated(BaseModel):
    """Jobs created for URLs (one per page); `job` is the first of `jobs`."""

    job: Job
    jobs: list[Job]
    accepted: list[str]
    rejected: list[RejectedUrl]
    message: str | None = None


class Cancelled(BaseModel):
    cancelled: list[int]


class Window(BaseModel):
    total: int
    succeeded: int
    failed: int
    partial: int
    cancelled: int
    success_rate: float | None = Field(
        description="Succeeded among finished, not cancelled jobs (0..1); null when none"
    )
    average_duration_seconds: float | None


class JobStatistics(BaseModel):
    queued: int
    running: int
    last_24h: Window


class ItemSelection(BaseModel):
    """Products named by source, category or product (id, reference or URL)."""

    model_config = ConfigDict(extra="forbid")

    sources: list[NameText] = Field(default_factory=list, max_length=MAX_URLS)
    categories: list[NameText] = Field(default_factory=list, max_length=MAX_URLS)
    products: list[UrlText] = Field(default_factory=list, max_length=MAX_URLS)


class ScrapeRequest(BaseModel):
    """Scrape these pages now (one job per page)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["scrape"]
    urls: list[UrlText] = Field(min_length=1, max_length=MAX_URLS)


class ScrapeAllRequest(BaseModel):
    """Scrape the catalog: the products `include` names (all when empty), minus `exclude`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["scrape_all"]
    include: ItemSelection = Field(default_factory=ItemSelection)
    exclude: ItemSelection = Field(default_factory=ItemSelection)


JobRequest = Annotated[ScrapeRequest | ScrapeAllRequest, Field(discriminator="kind")]


# --- products ----------------------------------------------------------------------------------


class AddProducts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[UrlText] = Field(min_length=1, max_length=MAX_URLS)


class ProductPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check_interval_hours: float | None = Field(
        default=None,
        ge=MIN_CHECK_INTERVAL_HOURS,
        le=MAX_CHECK_INTERVAL_HOURS,
        description="Hours between two checks",
    )
    enabled: bool | None = None


class Product(BaseModel):
    """A tracked product with its latest price, the change since the previous one and stock."""

    id: int
    source: str
    reference: str
    url: str
    title: str | None
    brand: str | None
    category: str | None
    currency: str | None
    price: Money | None
    previous_price: Money | None
    change: Money | None
    availability: Availability
    last_checked_at: datetime | None
    enabled: bool
    check_interval_hours: float
    next_check_at: datetime | None
    first_seen_at: datetime
    last_updated_at: datetime

    @classmethod
    def of(cls, item: ProductItem) -> Product:
        """The JSON form of a product of the list."""
        p = item.product
        return cls(
            id=p.id,
            source=p.source,
            reference=p.reference,
            url=p.url,
            title=p.title,
            brand=p.brand,
            category=p.category,
            currency=item.currency,
            price=money(item.price),
            previous_price=money(item.previous_price),
            change=money(item.change),
            availability=Availability(item.availability),
            last_checked_at=item.last_checked_at,
            enabled=p.enabled,
            check_interval_hours=round(p.check_interval / 3600, 4),
            next_check_at=p.next_check_at,
            first_seen_at=p.first_seen_at,
            last_updated_at=p.last_updated_at,
        )


class ProductList(BaseModel):
    items: list[Product]
    total: int
    limit: int
    offset: int


class Stats(BaseModel):
    """Lowest, highest and average price (in `currency`) and when they were seen."""

    currency: str | None
    low: Money
    low_at: datetime
    high: Money
    high_at: datetime
    average: Money
    observations: int

    @classmethod
    def of(cls, stats: PriceStats | None) -> Stats | None:
        """The JSON form of price statistics."""
        if stats is None:
            return None
        return cls(
            currency=stats.currency,
            low=money(stats.low) or "",
            low_at=stats.low_at,
            high=money(stats.high) or "",
            high_at=stats.high_at,
            average=money(stats.average) or "",
            observations=stats.observations,
        )


class ProductWithDetail(Product):
    """A product with its images, specifications and all-time statistics."""

    gtin: str | None
    images: list[str]
    specs: dict[str, str]
    stats: Stats | None

    @classmethod
    def of_detail(cls, detail: ProductDetail) -> ProductWithDetail:
        """The JSON form of one product."""
        base = Product.of(detail.item).model_dump()
        return cls(
            **base,
            gtin=detail.item.product.gtin,
            images=detail.images,
            specs=detail.specs,
            stats=Stats.of(detail.stats),
        )


class Point(BaseModel):
    """One point of the chart: an observation, or a day's low, high and last price."""

    at: datetime
    price: Money | None
    low: Money | None
    high: Money | None
    currency: str | None
    availability: Availability
    observations: int

    @classmethod
    def of(cls, point: ChartPoint) -> Point:
        return cls(
            at=point.at,
            price=money(point.last),
            low=money(point.low),
            high=money(point.high),
            currency=point.currency,
            availability=Availability(point.stock_status),
            observations=point.observations,
        )


class PriceHistory(BaseModel):
    product_id: int
    currency: str | None
    resolution: Literal["raw", "day"]
    points: list[Point]
    stats: Stats | None

    @classmethod
    def of(cls, history: History) -> PriceHistory:
        """The JSON form of a price history."""
        return cls(
            product_id=history.product_id,
            currency=history.currency,
            resolution=history.resolution,
            points=[Point.of(p) for p in history.points],
            stats=Stats.of(history.stats),
        )


def history_json(history: History) -> bytes:
    """`PriceHistory.of(history)` as JSON, written directly: a long history has thousands of
    points, and validating a model per point took several times longer than the query. orjson
    writes the times (as pydantic does: "2026-01-01T12:00:00Z") and the rest in C."""
    stats = Stats.of(history.stats)
    body: dict[str, Any] = {
        "product_id": history.product_id,
        "currency": history.currency,
        "resolution": history.resolution,
        "points": [_point_json(*p) for p in history.points],
        "stats": None if stats is None else stats.model_dump(mode="json"),
    }
    return orjson.dumps(body, option=orjson.OPT_UTC_Z)


def _point_json(
    at: datetime,
    low: Decimal | None,
    high: Decimal | None,
    last: Decimal | None,
    currency: str | None,
    stock_status: str,
    observations: int,
) -> dict[str, Any]:
    """One `Point` as JSON data (a raw point, or a day with one observation, has one price)."""
    price = money(last)
    same = low is last and high is last  # the same object: one observation
    return {
        "at": at,
        "price": price,
        "low": price if same else money(low),
        "high": price if same else money(high),
        "currency": currency,
        "availability": stock_status,
        "observations": observations,
    }


class LogLine(BaseModel):
    """One fetch attempt of a product."""

    id: int
    fetched_at: datetime
    url: str
    method: str
    status: str
    http_status: int | None
    duration_ms: int
    html_size_bytes: int
    errors: list[str]
    notes: list[str]

    @classmethod
    def of(cls, entry: LogEntry) -> LogLine:
        return cls(
            id=entry.id,
            fetched_at=entry.fetched_at,
            url=entry.url,
            method=entry.fetch_method,
            status=entry.fetch_status,
            http_status=entry.http_status,
            duration_ms=entry.duration_ms,
            html_size_bytes=entry.html_size_bytes,
            errors=entry.errors,
            notes=entry.notes,
        )


class ScrapeLog(BaseModel):
    product_id: int
    items: list[LogLine]


class Info(BaseModel):
    version: str
    mode: Literal["embedded", "distributed"]
    database: Literal["sqlite", "postgresql"]
    engine: Literal["huey", "celery"]


def utc(value: datetime) -> datetime:
    """A query time in UTC (a time without an offset is taken as UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None


QueryTime = Annotated[datetime, AfterValidator(utc)]
