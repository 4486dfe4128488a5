"""Pure domain model: values and rules, no I/O (standard library and pydantic only)."""

from pricewatch.domain.money import Money
from pricewatch.domain.snapshot import (
    Availability,
    FetchInfo,
    FetchMethod,
    FetchStatus,
    ProductSnapshot,
)

__all__ = [
    "Availability",
    "FetchInfo",
    "FetchMethod",
    "FetchStatus",
    "Money",
    "ProductSnapshot",
]
