"""Cdiscount product pages (cdiscount.com).

The reference is Cdiscount's product id, the last part of the product URL
(`/f-1101410-dys5025155031513.html`), also posted by the page's hidden `TechFormProductId`.
The price is the main price of the price block (`.jsMainPrice`, "379€99"), never the
struck-through reference price nor the "4x" instalment price next to it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import cast
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.page import Page
from pricewatch.adapters.scraping.stores._dom import (
    add_spec,
    canonical_url,
    clean_title,
    has_class,
    index_ids,
    json_ld_sku,
    read_price,
    settled_amount,
    text_of,
)
from pricewatch.domain.snapshot import Availability

_HOST = re.compile(r"(?:[a-z]+\.)?cdiscount\.com")
# cdiscount.com sells in euros only; '379€99' names no other currency.
_CURRENCY = "EUR"
_PRODUCT_ID_IN_URL = re.compile(r"/f-\d+-([a-z0-9]+)\.html", re.IGNORECASE)
_PRODUCT_ID = re.compile(r"[a-z0-9]{4,40}", re.IGNORECASE)

_IDS = frozenset(
    {"fpBlocPrice", "fpStock", "fpAddBsk", "TechFormProductId", "fpZnPrdMain", "bc", "fpShipping"}
)
_MAIN_PRICE = etree.XPath('.//*[contains(@class, "jsMainPrice")]')
_PRICE_ITEMS = etree.XPath('.//*[@itemprop="price"]')
_BRAND = etree.XPath('.//*[@itemprop="brand"]')
_STOCK_CLASS = etree.XPath('.//*[contains(@class, "fpStock")]')
_SPEC_TABLES = etree.XPath('//table[contains(@class, "fpDescTb")]')
_MAIN_IMAGE = etree.XPath('.//a[@itemprop="image"]/@href')

_OUT_OF_STOCK = ("rupture", "épuisé", "indisponible", "plus disponible", "plus en stock")
_PREORDER = ("précommande", "pré-commande", "precommande", "disponible à partir du")
_IN_STOCK = ("en stock", "disponible")
_FREE = re.compile(r"livraison gratuite", re.IGNORECASE)
_CONDITIONAL = re.compile(r"\b(?:dès|à partir|des \d)", re.IGNORECASE)
_BRAND_KEYS = frozenset({"marque"})


class CdiscountAdapter:
    """Reads Cdiscount product pages."""

    name = "cdiscount"

    def matches(self, page: Page) -> bool:
        """cdiscount.com and its subdomains (www., m.)."""
        return _HOST.fullmatch(page.host) is not None

    def parse(self, page: Page) -> Fields:
        """Read the product sheet; pages without a title or price give nothing."""
        found = index_ids(page.tree, _IDS)
        fields = Fields(title=_title(page))
        _fill_price(fields, found, page)
        if fields.title is None and fields.price is None:
            return Fields()
        specs = _specs(page)
        fields.reference = _reference(found, page)
        fields.availability = _availability(found)
        fields.brand = _brand(found, specs)
        fields.specs = specs
        fields.category = _category(found)
        fields.images = _images(found, page)
        fields.shipping_cost = _shipping(found)
        return fields


def _title(page: Page) -> str | None:
    """The product heading (`<h1 itemprop="name">`, else the first non-empty `<h1>`)."""
    headings = list(page.tree.iter("h1"))
    named = [h for h in headings if h.get("itemprop") == "name"]
    for heading in named + headings:
        if title := clean_title(text_of(heading)):
            return title
    return None


def _fill_price(fields: Fields, found: dict[str, HtmlElement], page: Page) -> None:
    """Price and currency from the main price of the price block."""
    block = found.get("fpBlocPrice")
    if block is None:
        return
    candidates = cast(list[HtmlElement], _MAIN_PRICE(block)) or [
        item for item in cast(list[HtmlElement], _PRICE_ITEMS(block)) if item.get("content")
    ]
    for element in candidates:
        parsed = read_price(text_of(element), page)
        if (amount := settled_amount(element.get("content"), parsed.amount)) is not None:
            fields.price = amount
            fields.currency = parsed.currency or _CURRENCY
            return


def _reference(found: dict[str, HtmlElement], page: Page) -> str | None:
    """The product id from the canonical or page URL, else the form's or JSON-LD's id."""
    for url in (canonical_url(page), page.meta.get("og:url"), page.url):
        if match := _PRODUCT_ID_IN_URL.search(url or ""):
            return match.group(1).lower()
    field = found.get("TechFormProductId")
    for value in (field.get("value") if field is not None else None, json_ld_sku(page)):
        if value and _PRODUCT_ID.fullmatch(value.strip()):
            return value.strip().lower()
    return None


def _availability(found: dict[str, HtmlElement]) -> Availability | None:
    """The stock line ('En Stock !', 'Rupture de stock'), then the add-to-basket button."""
    stock = found.get("fpStock")
    lines = [text_of(stock)]
    if stock is not None:
        lines.extend(text_of(el) for el in cast(list[HtmlElement], _STOCK_CLASS(stock)))
    text = " ".join(lines).lower()
    if any(word in text for word in _OUT_OF_STOCK):
        return Availability.OUT_OF_STOCK
    if any(word in text for word in _PREORDER):
        return Availability.PREORDER
    if any(word in text for word in _IN_STOCK) or "fpAddBsk" in found:
        return Availability.IN_STOCK
    return None


def _specs(page: Page) -> dict[str, str]:
    """Rows of the 'Caractéristiques' tables (section headings span both columns)."""
    specs: dict[str, str] = {}
    for table in cast(list[HtmlElement], _SPEC_TABLES(page.tree)):
        for row in table.iter("tr"):
            cells = [cell for cell in row if cell.tag in ("td", "th")]
            if len(cells) == 2:
                add_spec(specs, text_of(cells[0]), text_of(cells[1]))
    return specs


def _brand(found: dict[str, HtmlElement], specs: dict[str, str]) -> str | None:
    """`itemprop="brand"` in the product zone, else the 'Marque' row."""
    zone = found.get("fpZnPrdMain")
    if zone is not None:
        for element in cast(list[HtmlElement], _BRAND(zone)):
            if brand := text_of(element) or (element.get("content") or "").strip():
                return brand
    for key, value in specs.items():
        if key.lower() in _BRAND_KEYS:
            return value
    return None


def _category(found: dict[str, HtmlElement]) -> str | None:
    """The breadcrumb without 'back to offers' and the home page link."""
    crumbs = found.get("bc")
    if crumbs is None:
        return None
    names = []
    for item in crumbs.iter("li"):
        link = item.find(".//a")
        if has_class(item, "bcBack") or link is None or _is_home(link.get("href") or ""):
            continue
        if name := text_of(link):
            names.append(name)
    return " > ".join(names) or None


def _is_home(href: str) -> bool:
    """True for a link to the shop's home page."""
    return urlsplit(href).path in ("", "/")


def _images(found: dict[str, HtmlElement], page: Page) -> list[str]:
    """The large main picture of the product zone."""
    zone = found.get("fpZnPrdMain")
    if zone is None:
        return []
    for href in cast(list[str], _MAIN_IMAGE(zone)):
        if href.strip() and not href.strip().startswith(("#", "data:")):
            return [urljoin(page.url, href.strip())]
    return []


def _shipping(found: dict[str, HtmlElement]) -> Decimal | None:
    """0 when the delivery block says 'Livraison gratuite' without a minimum order."""
    text = text_of(found.get("fpShipping"))
    if _FREE.search(text) and not _CONDITIONAL.search(text):
        return Decimal(0)
    return None


adapter = CdiscountAdapter()
