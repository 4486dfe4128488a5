"""The analytics layer: the product a page reports to its tag manager.

Shops push the viewed product to Google Tag Manager in a standard shape, Enhanced Ecommerce
(`detail: {products: [{id, name, price, brand}]}`) or GA4 (`view_item` with `items: [{item_id,
item_name, price}]`). Its `id` is the shop's own product number, often shown nowhere else.
"""

from __future__ import annotations

import html
import re

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.page import Page

NAME = "datalayer"

_EE_DETAIL = re.compile(
    r"""['"]?detail['"]?\s*:\s*\{(?:[^{}]|\{[^{}]{0,300}\}){0,400}?['"]?products['"]?\s*:\s*\[\s*\{(?P<body>[^{}\[\]]{1,3000})\}"""
)
_GA4_ITEMS = re.compile(r"""['"]?items['"]?\s*:\s*\[\s*\{(?P<body>[^{}\[\]]{1,3000})\}""")
_PAIR = re.compile(
    r"""['"]?(?P<key>[A-Za-z_]+)['"]?\s*:\s*(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>(?:[^'\\]|\\.)*)'|(?P<num>-?\d+(?:\.\d+)?))"""
)
_SEARCH_WINDOW = 1_500


def parse(page: Page) -> Fields:
    """Reference, title and brand of the product the page reports to its analytics."""
    values = _detail_product(page.text)
    if not values:
        return Fields()
    reference = values.get("id") or values.get("item_id") or values.get("sku")
    # Its name is often a shortened internal label: titles come from the visible page.
    return Fields(
        reference=reference or None,
        brand=_clean(values.get("brand") or values.get("item_brand")),
    )


def _detail_product(text: str) -> dict[str, str]:
    """Key/value pairs of the first Enhanced Ecommerce detail or GA4 view_item product."""
    for marker, pattern in (("detail", _EE_DETAIL), ("view_item", _GA4_ITEMS)):
        start = text.find(marker)
        while start != -1:
            # Only a `detail:` key is worth a regex search; "detail" is common in class names.
            if marker != "detail" or _is_key(text, start + len(marker)):
                match = pattern.search(text, max(start - 2, 0), start + _SEARCH_WINDOW)
                if match:
                    return _pairs(match.group("body"))
            start = text.find(marker, start + len(marker))
    return {}


def _is_key(text: str, end: int) -> bool:
    """True when the word ending at `end` is followed by a colon (a JS/JSON object key)."""
    rest = text[end : end + 4].lstrip("\"' \t\n")
    return rest.startswith(":")


def _pairs(body: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _PAIR.finditer(body):
        value = match.group("dq") or match.group("sq") or match.group("num") or ""
        found.setdefault(match.group("key"), value.replace("\\/", "/").strip())
    return found


def _clean(value: str | None) -> str | None:
    return " ".join(html.unescape(value).split()) or None if value else None
