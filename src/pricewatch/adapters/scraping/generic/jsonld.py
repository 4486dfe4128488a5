"""The JSON-LD layer: schema.org Product, ProductGroup and Offer objects in ld+json scripts."""

from __future__ import annotations

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.generic.schema import (
    PageHints,
    choose_product,
    fields_from_product,
    product_candidates,
)
from pricewatch.adapters.scraping.page import Page

NAME = "json-ld"


def parse(page: Page, *, hints: PageHints) -> Fields:
    """Fields of the page's main JSON-LD product; broken scripts become errors, not crashes."""
    candidates = product_candidates(page.json_ld)
    product = choose_product(candidates, hints=hints)
    found = fields_from_product(product, page=page, hints=hints) if product else Fields()
    found.errors.extend(page.json_ld_errors)
    if len(candidates) > 1:
        found.notes.append(f"json-ld: {len(candidates)} products, chose {found.title!r}")
    return found
