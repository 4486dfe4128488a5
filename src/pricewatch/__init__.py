"""pricewatch: a self-hosted product price tracker and comparator."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pricewatch.domain.snapshot import ProductSnapshot


def extract(html: str | bytes, url: str) -> ProductSnapshot:
    """Read a product page's HTML into a `ProductSnapshot`. Pure: no network, no disk."""
    from pricewatch.adapters.scraping.extract import extract as _extract

    return _extract(html, url)


__all__ = ["__version__", "extract"]
