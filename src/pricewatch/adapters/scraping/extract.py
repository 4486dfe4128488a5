"""`extract(html, url) -> ProductSnapshot`: store adapter first, then the generic layers."""

from __future__ import annotations

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.page import Page, load_page
from pricewatch.adapters.scraping.stores import adapter_for
from pricewatch.domain.snapshot import (
    Availability,
    FetchInfo,
    FetchMethod,
    FetchStatus,
    ProductSnapshot,
)


def extract(html: str | bytes, url: str, *, content_type: str | None = None) -> ProductSnapshot:
    """Read a product page into a snapshot. Pure: no network, no disk."""
    page = load_page(html, url, content_type=content_type)
    return extract_page(page)


def extract_page(page: Page, *, method: FetchMethod = FetchMethod.HTTP) -> ProductSnapshot:
    """Read an already parsed page into a snapshot."""
    adapter = adapter_for(page)
    fields = adapter.parse(page) if adapter else Fields()
    source = adapter.name if adapter else page.host
    return ProductSnapshot(
        source=source,
        reference=fields.reference,
        url=page.url,
        title=fields.title,
        price=fields.price,
        currency=fields.currency,
        shipping_cost=fields.shipping_cost,
        availability=fields.availability or Availability.UNKNOWN,
        brand=fields.brand,
        gtin=fields.gtin,
        category=fields.category,
        images=tuple(fields.images),
        specs=fields.specs,
        fetch=FetchInfo(
            method=method,
            status=FetchStatus.OK,
            html_size_bytes=page.size_bytes,
            notes=tuple(fields.notes),
        ),
    )
