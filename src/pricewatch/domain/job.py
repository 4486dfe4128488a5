"""Background jobs as values and rules: kinds, statuses, counts, item filters, retry delays.

The job row in the database is the source of truth; engines (Huey, Celery) only carry its id.
Everything here is pure, so the rules that decide what a job selects, how it ends and how long
it waits before another attempt are tested without a database or a queue.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, field_validator


class JobKind(StrEnum):
    SCRAPE_PRODUCT = "scrape_product"
    SCRAPE_ALL = "scrape_all"
    MAINTENANCE = "maintenance"
    DISCOVER = "discover"
    SYNC_CATALOG = "sync_catalog"
    BACKUP = "backup"


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"
    CANCELLED = "cancelled"


class TriggeredBy(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    API = "api"


class EventLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


#: Statuses a job can still leave: cancel-all and the scheduler look at these.
ACTIVE_STATUSES = frozenset({JobStatus.PENDING, JobStatus.RUNNING})
#: Statuses a job never leaves.
TERMINAL_STATUSES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.PARTIAL, JobStatus.CANCELLED}
)
#: Statuses from which the user may start a new attempt (`retry`).
RETRYABLE_STATUSES = frozenset({JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PARTIAL})

_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    # Back to pending: released for a retry, or by a worker that shuts down.
    JobStatus.RUNNING: frozenset({JobStatus.PENDING, *TERMINAL_STATUSES}),
}


def is_terminal(status: JobStatus) -> bool:
    """True when the job is over (it will never run again; a retry is a new job)."""
    return status in TERMINAL_STATUSES


def can_transition(current: JobStatus, new: JobStatus) -> bool:
    """True when a job in `current` may move to `new`."""
    return new in _TRANSITIONS.get(current, frozenset())


@dataclass(frozen=True)
class JobCounts:
    """What a job did to the catalog, item by item."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    errors: int = 0

    def __add__(self, other: JobCounts) -> JobCounts:
        return JobCounts(
            self.created + other.created,
            self.updated + other.updated,
            self.deleted + other.deleted,
            self.skipped + other.skipped,
            self.errors + other.errors,
        )

    @property
    def succeeded(self) -> int:
        """Items that did what they were meant to."""
        return self.created + self.updated + self.deleted


def final_status(counts: JobCounts) -> JobStatus:
    """How a job that ran to its end ended: no error, some errors, or nothing but errors."""
    if counts.errors == 0:
        return JobStatus.SUCCEEDED
    if counts.succeeded or counts.skipped:
        return JobStatus.PARTIAL
    return JobStatus.FAILED


@dataclass(frozen=True)
class JobProgress:
    """How far a job is: items done out of the total, and what it works on now."""

    total: int = 0
    completed: int = 0
    current: str | None = None

    @property
    def fraction(self) -> float:
        """Completed share of the total (0 when the total is not known yet)."""
        return self.completed / self.total if self.total else 0.0


class Selectable(Protocol):
    """What a filter looks at in a product."""

    @property
    def id(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def reference(self) -> str: ...
    @property
    def url(self) -> str: ...


def _normalised(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().casefold() for v in values if v.strip())


class ItemFilter(BaseModel):
    """Which products a catalog-wide job takes: include and exclude lists per kind.

    Kinds are source, category and product (a product is named by its id, reference or URL).
    With no include at all, every product is taken; with any include, only the products that
    match at least one include. Excludes always win. Matching ignores case.
    """

    model_config = ConfigDict(frozen=True)

    include_sources: frozenset[str] = frozenset()
    include_categories: frozenset[str] = frozenset()
    include_products: frozenset[str] = frozenset()
    exclude_sources: frozenset[str] = frozenset()
    exclude_categories: frozenset[str] = frozenset()
    exclude_products: frozenset[str] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, Iterable):
            return _normalised(str(v) for v in value)
        return value

    @property
    def includes_any(self) -> bool:
        """True when at least one include is given."""
        return bool(self.include_sources or self.include_categories or self.include_products)

    def selects(self, product: Selectable) -> bool:
        """True when this filter takes `product`."""
        source, category, names = _keys(product)
        if (
            source in self.exclude_sources
            or category in self.exclude_categories
            or names & self.exclude_products
        ):
            return False
        if not self.includes_any:
            return True
        return bool(
            source in self.include_sources
            or category in self.include_categories
            or names & self.include_products
        )

    def to_params(self) -> dict[str, list[str]]:
        """The JSON form stored in a job's params (only the lists that are set, sorted)."""
        return {name: sorted(values) for name, values in self if values}


def _keys(product: Selectable) -> tuple[str, str | None, frozenset[str]]:
    category = product.category.strip().casefold() if product.category else None
    names = _normalised((str(product.id), product.reference, product.url))
    return product.source.strip().casefold(), category, names


def retry_delay(
    attempt: int,
    *,
    base: float = 2.0,
    cap: float = 300.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds before the attempt after `attempt`: exponential, capped, with jitter.

    The jitter (a uniform draw between half and all of the exponential delay) spreads the
    retries of many jobs that failed together, e.g. while the database was down, instead of
    sending them all back at the same moment.
    """
    ceiling = min(cap, base * 2.0 ** max(0, attempt - 1))
    draw = (rng or random).uniform(0.5, 1.0)
    return ceiling * draw
