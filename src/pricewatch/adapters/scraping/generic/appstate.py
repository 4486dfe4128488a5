"""The application-state layer: product data a JavaScript app embeds in the page as JSON.

Server-rendered apps ship the state they render from: `<script id="__NEXT_DATA__"
type="application/json">` (Next.js), `window.__INITIAL_STATE__ = {...}`, `__PRELOADED_STATE__`,
`__PRODUCT_DETAIL_APP_INITIAL_STATE__` and the like. The object describing *this* product is
the one whose name matches the page's h1/og:title or whose id is the page's product id; its
price, currency, stock, name and ids are read from common key names.

Run only when the earlier layers found no price (see `extract`), and bounded: scripts over
`MAX_SCRIPT` characters are skipped and at most `MAX_NODES` JSON objects are visited per page.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lxml.html import HtmlElement

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.generic.amount import iso_currency, structured_amount
from pricewatch.adapters.scraping.generic.schema import PageHints, availability_of, simplify
from pricewatch.adapters.scraping.generic.urlid import reference_from_url
from pricewatch.adapters.scraping.page import Page
from pricewatch.domain.snapshot import Availability

NAME = "app-state"

#: Scripts shorter than this hold no product state; longer than MAX_SCRIPT are not parsed.
MIN_SCRIPT = 200
MAX_SCRIPT = 3_000_000
#: JSON objects visited per page, at most (a big state has tens of thousands).
MAX_NODES = 40_000
_MAX_DEPTH = 30

# `window.__NAME__ = {`, `window["__NAME__"] = {`, `var __NAME__ = {`: app state by convention.
_DUNDER_ASSIGNMENT = re.compile(r"""__[A-Za-z0-9_]+__['"]?\]?\s*=\s*(?=\{)""")
# `window.initialState = {`, `var productData = {`: names ending in state or data.
_STATE_ASSIGNMENT = re.compile(r"""(?:[Ss]tate|STATE|[Dd]ata|DATA)['"]?\]?\s*=\s*(?=\{)""")
_JSON_TYPES = frozenset({"application/json", "text/json"})
_SKIPPED_TYPES = frozenset({"application/ld+json", "text/template", "text/html", "text/css"})

_NAME_KEYS = ("name", "productName", "title", "displayName")
_ID_KEYS = ("sku", "productId", "productID", "product_id", "id", "itemId", "articleId")
_GTIN_KEYS = ("gtin", "gtin13", "ean", "ean13", "gtin12", "upc", "barcode")
# Selling-price keys, best first; list, was and strike-through prices are never read.
_PRICE_KEYS = (
    "sellingPrice",
    "salePrice",
    "finalPrice",
    "currentPrice",
    "discountedPrice",
    "specialPrice",
    "offerPrice",
    "price",
    "current",
    "amount",
    "value",
    "priceValue",
    "rawValue",
)
_OFFER_KEYS = ("offers", "offer", "sellers", "buyBox", "buybox")
_CURRENCY_KEYS = ("priceCurrency", "currency", "currencyCode", "currencyIso", "currency_code")
_BOOLEAN_STOCK_KEYS = ("inStock", "isInStock", "hasStock", "isAvailable", "available")
_TEXT_STOCK_KEYS = ("availability", "stockStatus", "availabilityStatus", "stockState")
_ID_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,40}$")


@dataclass(frozen=True)
class _Candidate:
    """A JSON object that may describe the page's product, and how well it matches."""

    data: dict[str, Any]
    score: int
    named: bool


def parse(page: Page, *, hints: PageHints) -> Fields:
    """Fields of the product the page's embedded app state describes, if one matches the page."""
    page_ids = _page_ids(page)
    best: _Candidate | None = None
    budget = [MAX_NODES]
    for state in _states(page):
        for candidate in _candidates(state, hints=hints, page_ids=page_ids, budget=budget):
            # On a tie the first one wins: states list the page's product before related ones.
            if best is None or candidate.score > best.score:
                best = candidate
    if best is None:
        return Fields()
    found = _fields_of(best.data, page=page)
    if not best.named:
        found.title = None  # an internal label may differ from the visible name
    found.notes.append("app-state: product read from embedded application JSON")
    return found


def _states(page: Page) -> Iterator[Any]:
    """Parsed JSON of the page's app-state scripts, in document order."""
    for script in page.elements("script"):
        if not isinstance(script, HtmlElement) or script.get("src"):
            continue
        kind = (script.get("type") or "").strip().lower()
        if kind in _SKIPPED_TYPES:
            continue
        text = script.text or ""
        if not MIN_SCRIPT <= len(text) <= MAX_SCRIPT:
            continue
        if kind in _JSON_TYPES:
            if (data := _loads(text.strip(), 0)) is not None:
                yield data
            continue
        for pattern in (_DUNDER_ASSIGNMENT, _STATE_ASSIGNMENT):
            for match in pattern.finditer(text):
                if (data := _loads(text, match.end())) is not None:
                    yield data


def _loads(text: str, start: int) -> Any:
    """The JSON value starting at `start` (trailing script text ignored), or None."""
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict | list) else None


_DECODER = json.JSONDecoder(parse_float=Decimal, strict=False)


def _candidates(
    state: Any, *, hints: PageHints, page_ids: frozenset[str], budget: list[int]
) -> Iterator[_Candidate]:
    """Product-like objects of one state that match the page by name or id, in document order."""
    stack: list[tuple[Any, int]] = [(state, 0)]
    while stack and budget[0] > 0:
        node, depth = stack.pop()
        if isinstance(node, list):
            stack.extend(
                (item, depth + 1) for item in reversed(node) if isinstance(item, dict | list)
            )
            continue
        if not isinstance(node, dict):
            continue
        budget[0] -= 1
        if (candidate := _match(node, hints=hints, page_ids=page_ids)) is not None:
            yield candidate
        if depth < _MAX_DEPTH:
            children = [v for v in node.values() if isinstance(v, dict | list)]
            stack.extend((child, depth + 1) for child in reversed(children))


def _match(
    node: dict[str, Any], *, hints: PageHints, page_ids: frozenset[str]
) -> _Candidate | None:
    """`node` as a candidate when it names this page's product and carries offer data."""
    name = _first_text(node, _NAME_KEYS)
    named = bool(name) and _matches_title(name or "", hints=hints)
    identified = any(
        (value := _scalar_id(node.get(key))) is not None and value in page_ids for key in _ID_KEYS
    )
    if not (named or identified):
        return None
    priced = _price_of(node) is not None or _first_priced_offer(node) is not None
    if not priced and _availability(node) is None:
        return None
    score = 2 * named + 2 * identified + priced
    return _Candidate(data=node, score=score, named=named)


def _matches_title(name: str, *, hints: PageHints) -> bool:
    """True when `name` is the page's h1/og:title, or one holds the other (site name, brand)."""
    simple = simplify(name)
    if len(simple) < 4:
        return False
    return any(
        simple == t or (len(simple) > 8 and (simple in t or t in simple)) for t in hints.titles
    )


def _page_ids(page: Page) -> frozenset[str]:
    """Product ids the page's URLs carry: the id in the canonical URL, and URL tokens."""
    ids = set()
    if found := reference_from_url(page):
        ids.add(found)
    for url in (page.url, page.canonical_url or ""):
        ids.update(
            t
            for t in re.split(r"[^A-Za-z0-9]+", url)
            if len(t) >= 5 and any(c.isdigit() for c in t)
        )
    return frozenset(ids)


def _fields_of(product: dict[str, Any], *, page: Page) -> Fields:
    """Name, price, currency, stock and ids of the chosen product object."""
    found = Fields(title=_clean(_first_text(product, _NAME_KEYS)))
    offer = product if _price_of(product) is not None else _first_priced_offer(product)
    if offer is not None:
        amount = _price_of(offer)
        currency = _currency(offer) or _currency(product)
        found.price = structured_amount(amount, page=page, currency=currency)
        found.currency = currency
    found.availability = _availability(product) or (
        _availability(offer) if offer is not None else None
    )
    found.reference = next(
        (v for key in _ID_KEYS if (v := _scalar_id(product.get(key))) is not None), None
    )
    found.gtin = _gtin(product)
    return found


def _price_of(node: dict[str, Any], *, depth: int = 0) -> Any:
    """The selling price held by `node`: a number, a numeric string, or a nested price object."""
    for key in _PRICE_KEYS:
        value = node.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | Decimal | float):
            if value > 0:
                return value
        elif isinstance(value, str):
            if re.search(r"\d", value) and len(value) <= 40:
                return value
        elif (
            isinstance(value, dict)
            and depth < 3
            and (inner := _price_of(value, depth=depth + 1)) is not None
        ):
            return inner
    return None


def _first_priced_offer(product: dict[str, Any]) -> dict[str, Any] | None:
    """The first offer (of `offers`, `sellers`, ...) that has a price: the site's own pick."""
    for key in _OFFER_KEYS:
        value = product.get(key)
        for offer in value if isinstance(value, list) else [value]:
            if isinstance(offer, dict) and _price_of(offer) is not None:
                return offer
    return None


def _currency(node: dict[str, Any]) -> str | None:
    """An ISO currency code on `node` or on its price object."""
    for key in _CURRENCY_KEYS:
        if code := iso_currency(node.get(key)):
            return code
    price = node.get("price")
    if isinstance(price, dict):
        for key in _CURRENCY_KEYS:
            if code := iso_currency(price.get(key)):
                return code
    return None


def _availability(node: dict[str, Any]) -> Availability | None:
    """Stock from boolean flags (inStock, hasStock, ...) or a schema.org-like word."""
    for key in _BOOLEAN_STOCK_KEYS:
        value = node.get(key)
        if isinstance(value, bool):
            return Availability.IN_STOCK if value else Availability.OUT_OF_STOCK
    for key in _TEXT_STOCK_KEYS:
        value = node.get(key)
        if isinstance(value, str) and (found := availability_of(value)) is not None:
            return found
    return None


def _gtin(node: dict[str, Any]) -> str | None:
    """A GTIN/EAN/UPC (8, 12, 13 or 14 digits), from a string, a number or a list."""
    for key in _GTIN_KEYS:
        value = node.get(key)
        for item in value if isinstance(value, list) else [value]:
            text = (
                str(item).strip()
                if isinstance(item, str | int) and not isinstance(item, bool)
                else ""
            )
            if text.isdigit() and len(text) in (8, 12, 13, 14):
                return text
    return None


def _scalar_id(value: Any) -> str | None:
    """An identifier as text when `value` is a short string or a whole number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str):
        text = str(value).strip()
        return text if _ID_TEXT.match(text) else None
    return None


def _first_text(node: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _clean(value: str | None) -> str | None:
    return " ".join(html.unescape(value).split()) or None if value else None
