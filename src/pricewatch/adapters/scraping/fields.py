"""`Fields`: what one extraction layer found on a page, before the layers are merged."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal

from pricewatch.domain.snapshot import Availability

_SCALARS = (
    "title",
    "price",
    "currency",
    "shipping_cost",
    "availability",
    "reference",
    "brand",
    "gtin",
    "category",
    "weak_reference",
)

_BOOKKEEPING = ("notes", "errors")


@dataclass
class Fields:
    """Product fields found by one layer (a store adapter, JSON-LD, microdata, ...).

    Every field is optional: a layer fills what it saw and leaves the rest as None or empty.
    `notes` says where values came from or what was odd; they end up in the snapshot's notes.
    `errors` lists what the layer could not parse (a broken JSON-LD block); they end up in the
    snapshot's fetch errors.
    """

    title: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    shipping_cost: Decimal | None = None
    availability: Availability | None = None
    reference: str | None = None
    brand: str | None = None
    gtin: str | None = None
    category: str | None = None
    #: An identifier weaker than a SKU (MPN, productID, GTIN, an id in the URL): used as the
    #: reference only when no layer found a SKU-like `reference`.
    weak_reference: str | None = None
    images: list[str] = field(default_factory=list)
    specs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def fill_from(self, other: Fields) -> None:
        """Fill what is still missing here with `other`'s values (this layer wins)."""
        for name in _SCALARS:
            if getattr(self, name) is None and getattr(other, name) is not None:
                setattr(self, name, getattr(other, name))
        for image in other.images:
            if image not in self.images:
                self.images.append(image)
        for key, value in other.specs.items():
            self.specs.setdefault(key, value)
        self.notes.extend(other.notes)
        self.errors.extend(other.errors)

    def is_empty(self) -> bool:
        """True when the layer found nothing at all."""
        return all(not getattr(self, f.name) for f in fields(self) if f.name not in _BOOKKEEPING)

    def has_product_data(self) -> bool:
        """True when the layer found something that identifies or prices a product."""
        return any(
            getattr(self, name) is not None for name in ("title", "price", "reference", "gtin")
        )
