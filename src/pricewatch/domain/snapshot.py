"""What one look at a product page saw: the `ProductSnapshot` value and its JSON form."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from pricewatch.domain.money import Amount, CurrencyCode, Money

#: Bumped only when the JSON form changes in a way old readers cannot ignore.
SCHEMA_VERSION = 1


class Availability(StrEnum):
    IN_STOCK = "in_stock"
    OUT_OF_STOCK = "out_of_stock"
    PREORDER = "preorder"
    UNKNOWN = "unknown"


class FetchMethod(StrEnum):
    HTTP = "http"
    BROWSER = "browser"
    FILE = "file"


class FetchStatus(StrEnum):
    OK = "ok"
    BLOCKED = "blocked"
    NOT_FOUND = "not_found"
    ERROR = "error"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class FetchInfo(BaseModel):
    """How the page was obtained and what went wrong on the way."""

    model_config = ConfigDict(frozen=True)

    method: FetchMethod = FetchMethod.HTTP
    status: FetchStatus = FetchStatus.OK
    duration_ms: int = Field(default=0, ge=0)
    html_size_bytes: int = Field(default=0, ge=0)
    http_status: int | None = None
    final_url: str | None = None
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    fetched_at: UtcDatetime = Field(default_factory=utc_now)


class ProductSnapshot(BaseModel):
    """One observation of one product page. Immutable; prices are exact decimals."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    source: str
    reference: str | None = None
    url: str
    title: str | None = None
    price: Amount | None = None
    currency: CurrencyCode | None = None
    shipping_cost: Amount | None = None
    availability: Availability = Availability.UNKNOWN
    brand: str | None = None
    gtin: str | None = None
    category: str | None = None
    images: tuple[str, ...] = ()
    specs: dict[str, str] = Field(default_factory=dict)
    fetch: FetchInfo = Field(default_factory=FetchInfo)

    @property
    def money(self) -> Money | None:
        """The price as `Money`, when both amount and currency are known."""
        if self.price is None or self.currency is None:
            return None
        return Money(amount=self.price, currency=self.currency)

    @property
    def ok(self) -> bool:
        """True when the page was fetched and read as a product page."""
        return self.fetch.status is FetchStatus.OK

    def with_fetch(self, **changes: Any) -> ProductSnapshot:
        """A copy whose fetch metadata has `changes` applied."""
        return self.model_copy(update={"fetch": self.fetch.model_copy(update=changes)})

    def to_json_dict(self) -> dict[str, Any]:
        """The stable JSON form (decimals as strings, timestamps ISO 8601 UTC)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> ProductSnapshot:
        """Read the JSON form back; unknown keys from newer versions are ignored."""
        return cls.model_validate(data)


def shipping_total(snapshot: ProductSnapshot) -> Decimal | None:
    """Price plus shipping when both are known; the price alone when shipping is unknown."""
    if snapshot.price is None:
        return None
    return snapshot.price + (snapshot.shipping_cost or Decimal(0))
