"""The OpenGraph layer: og:* and product:* meta tags (Facebook/Pinterest product markup)."""

from __future__ import annotations

from decimal import Decimal

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.generic.amount import iso_currency, structured_amount
from pricewatch.adapters.scraping.generic.schema import availability_of
from pricewatch.adapters.scraping.page import Page
from pricewatch.domain.snapshot import Availability

NAME = "opengraph"

_PRICE_KEYS = (
    "product:sale_price:amount",
    "product:price:amount",
    "og:price:amount",
    "product:price",
    "og:price",
)
_CURRENCY_KEYS = (
    "product:sale_price:currency",
    "product:price:currency",
    "og:price:currency",
    "product:currency",
)
_AVAILABILITY_KEYS = ("product:availability", "og:availability", "product:stock")
_REFERENCE_KEYS = ("product:retailer_item_id", "product:sku")
_GTIN_KEYS = ("product:ean", "product:gtin", "product:upc", "product:isbn", "product:gtin13")
_IMAGE_KEYS = ("og:image", "og:image:url", "og:image:secure_url")


def parse(page: Page) -> Fields:
    """Fields from the page's OpenGraph and product meta tags (og:title is read by `best_title`)."""
    meta = page.meta
    if not any(key.startswith(("og:", "product:")) for key in meta):
        return Fields()
    currency = _first_currency(meta)
    found = Fields(
        price=_first_price(page, currency=currency),
        currency=currency,
        availability=_first_availability(meta),
        reference=_first(meta, _REFERENCE_KEYS),
        brand=_clean(meta.get("product:brand") or meta.get("og:brand")),
        category=_clean(meta.get("product:category")),
        images=_images(page),
    )
    found.weak_reference = _clean(meta.get("product:mpn"))
    gtin = _first(meta, _GTIN_KEYS)
    found.gtin = gtin if gtin and gtin.isdigit() and len(gtin) in (8, 12, 13, 14) else None
    return found


def _first_price(page: Page, *, currency: str | None) -> Decimal | None:
    for key in _PRICE_KEYS:
        if (value := page.meta.get(key)) and (
            amount := structured_amount(value, page=page, currency=currency)
        ):
            return amount
    return None


def _first_currency(meta: dict[str, str]) -> str | None:
    for key in _CURRENCY_KEYS:
        if currency := iso_currency(meta.get(key)):
            return currency
    return None


def _first_availability(meta: dict[str, str]) -> Availability | None:
    for key in _AVAILABILITY_KEYS:
        if (availability := availability_of(meta.get(key))) is not None:
            return availability
    return None


def _first(meta: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if value := _clean(meta.get(key)):
            return value
    return None


def _images(page: Page) -> list[str]:
    images: list[str] = []
    for key in _IMAGE_KEYS:
        for url in page.meta_values(key):
            absolute = page.absolute(url)
            if absolute not in images and not url.startswith("data:"):
                images.append(absolute)
    return images


def _clean(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None
