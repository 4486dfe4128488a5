"""Amazon product pages."""

from __future__ import annotations

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.page import Page


class AmazonAdapter:
    name = "amazon"

    def matches(self, page: Page) -> bool:
        return False

    def parse(self, page: Page) -> Fields:
        return Fields()


adapter = AmazonAdapter()
