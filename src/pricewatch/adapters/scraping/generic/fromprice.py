"""The "from" price policy: a multi-variant product with no variant selected costs its lowest price.

Structured data often carries one variant's offer ("price": 811.40) while the page, as a shopper
sees it, shows the product's "from" price ("à partir de 431,20 €"). Elsewhere that product is
priced at its lowest price (AggregateOffer lowPrice, the low end of a price range); this module
does the same, but only where the page says explicitly that it shows a "from" price:

- its embedded app state has a from-price flag (`showPriceFrom: true`, `isFromPrice`,
  `displayFromPrice`, ...) in an object that holds the price shown, or a from-price value
  (`priceFrom: 431.2`, `fromPrice`); or
- a visible "à partir de" / "from" / "ab" / "desde" / "a partire da" / "vanaf" label stands
  immediately before a displayed price;

and the structured offer does not identify a selected variant: no SKU or GTIN that names one of
the variants, no variant in the URL. A from price must be lower than the structured price.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import lxml.etree
from lxml.html import HtmlElement

from pricewatch.adapters.scraping.generic.amount import structured_amount, text_price
from pricewatch.adapters.scraping.page import Page, visible_text

# Case variants are searched literally: a case-insensitive regex over the scripts costs many
# times more. One alternation of the literals is one pass over a script, about half the cost
# of a substring test per marker on scripts that hold none (nearly all of them).
_KEY_MARKERS = re.compile("riceFrom|romPrice|rice_from|rom_price")
# Keys (lower case, without "_") whose true value says the price shown is a "from" price.
_FLAG_KEYS = frozenset(
    {"showpricefrom", "isfromprice", "displayfromprice", "showfromprice", "ispricefrom"}
)
# Keys whose number is the from price itself (a boolean there is a flag).
_VALUE_KEYS = frozenset({"pricefrom", "fromprice"})
# Where a JSON value starts in a script: an assignment, or the whole script.
_ASSIGNMENT = re.compile(r"=\s*(?=[\[{])")
_MAX_SCRIPT = 3_000_000
_MAX_NODES = 40_000
# Selling-price keys read from the flagged object when no key is known from the variants.
_PRICE_KEYS = ("sellingPrice", "salePrice", "finalPrice", "currentPrice", "price")
# URL query keys that select a variant.
_VARIANT_PARAMETERS = frozenset(
    {"variant", "variantid", "variant_id", "sku", "skuid", "size", "color", "colour", "ean"}
)
# A visible label saying the next price is a "from" price.
_FROM_LABEL = re.compile(
    r"(?:à partir de|a partir de|dès|from|starting at|ab|desde|a partire da|vanaf)\s*:?",
    re.IGNORECASE,
)
_MAX_LABEL = 30
_MAX_PRICE_TEXT = 40
# Elements of the buy-box region looked at, at most.
_MAX_REGION = 400
_DECODER = json.JSONDecoder(parse_float=Decimal, strict=False)


def from_price(
    page: Page,
    *,
    price: Decimal,
    identifiers: tuple[str, ...],
    region: Callable[[], HtmlElement | None] | None = None,
) -> Decimal | None:
    """The product's "from" price when the page shows one below `price`, else None.

    `identifiers` are the SKU/GTIN the structured offer carries; `region` gives the block
    around the buy box, where a visible "from" label is looked for.
    """
    if _variant_in_url(page):
        return None
    found = _state_from_price(page, price=price, identifiers=identifiers)
    if found is None and not identifiers and region is not None:
        found = _visible_from_price(page, region())
    return found if found is not None and Decimal(0) < found < price else None


def _variant_in_url(page: Page) -> bool:
    """True when the URL's query names a variant (?variant=..., ?sku=..., ?size=...)."""
    query = urlsplit(page.url).query
    return any(
        key.lower() in _VARIANT_PARAMETERS and value
        for key, value in parse_qsl(query, keep_blank_values=True)
    )


def _state_from_price(
    page: Page, *, price: Decimal, identifiers: tuple[str, ...]
) -> Decimal | None:
    """The from price an app state flags (or states), unless the offer names a variant."""
    for state in _flagged_states(page):
        flagged = list(_flagged_objects(state))
        if not flagged:
            continue
        if identifiers and _names_a_variant(state, identifiers):
            return None
        for found in flagged:
            if (value := _read(found, page=page, state=state, price=price)) is not None:
                return value
    return None


def _flagged_states(page: Page) -> Iterator[Any]:
    """Parsed JSON values of the inline scripts that mention a from-price key."""
    for script in page.elements("script"):
        if script.get("src") is not None:
            continue
        kind = (script.get("type") or "").strip().lower()
        if kind == "application/ld+json":
            continue
        text = script.text or ""
        if len(text) > _MAX_SCRIPT or not _KEY_MARKERS.search(text):
            continue
        lead = len(text) - len(text.lstrip())
        starts = [lead] if text[lead : lead + 1] in ("{", "[") else []
        starts += [match.end() for match in _ASSIGNMENT.finditer(text)]
        for start in starts:
            try:
                value, _ = _DECODER.raw_decode(text, start)
            except (ValueError, RecursionError):
                continue
            if isinstance(value, dict | list):
                yield value


def _nodes(state: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object of `state` (bounded), depth first."""
    stack = [state]
    budget = _MAX_NODES
    while stack and budget > 0:
        node = stack.pop()
        if isinstance(node, dict):
            budget -= 1
            yield node
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def _key(name: Any) -> str:
    return str(name).replace("_", "").lower()


def _flagged_objects(state: Any) -> Iterator[dict[str, Any]]:
    """Objects holding a true from-price flag or a from-price value."""
    for node in _nodes(state):
        for name, value in node.items():
            key = _key(name)
            if key in _FLAG_KEYS and (value is True or value == "true"):
                yield node
                break
            if key in _VALUE_KEYS and value is not None and value is not False:
                yield node
                break


def _names_a_variant(state: Any, identifiers: tuple[str, ...]) -> bool:
    """True when a SKU/GTIN of the offer is one of the values of the state's objects."""
    wanted = {identifier.strip().casefold() for identifier in identifiers if identifier.strip()}
    for node in _nodes(state):
        for value in node.values():
            if isinstance(value, str | int) and str(value).strip().casefold() in wanted:
                return True
    return False


def _read(flagged: dict[str, Any], *, page: Page, state: Any, price: Decimal) -> Decimal | None:
    """The from price of a flagged object.

    A from-price value wins. Otherwise the price shown is read from the key that carries the
    structured price in the variants' objects (the same field, lowest value), else from a
    selling-price key of the flagged object itself.
    """
    for name, value in flagged.items():
        if _key(name) in _VALUE_KEYS and (amount := _amount(value, page=page)) is not None:
            return amount
    shown = _keys_holding(state, price=price, page=page)
    values = [_amount(flagged[name], page=page) for name in flagged if name in shown]
    amounts = [amount for amount in values if amount is not None]
    if amounts:
        return min(amounts)
    for name in _PRICE_KEYS:
        for key, value in flagged.items():
            if _key(key) == name.lower() and (amount := _amount(value, page=page)) is not None:
                return amount
    return None


def _keys_holding(state: Any, *, price: Decimal, page: Page) -> set[str]:
    """Keys whose value, somewhere in the state, is the structured price (a variant's price)."""
    found: set[str] = set()
    for node in _nodes(state):
        for name, value in node.items():
            if "price" in name.lower() and _amount(value, page=page) == price:
                found.add(name)
    return found


def _amount(value: Any, *, page: Page) -> Decimal | None:
    """A positive amount from a number or a price text ("431,20 €")."""
    if isinstance(value, bool | dict | list) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return structured_amount(value, page=page)
    if isinstance(value, str) and 0 < len(value) <= 40 and any(c.isdigit() for c in value):
        return text_price(value, page=page).amount
    return None


def _visible_from_price(page: Page, region: HtmlElement | None) -> Decimal | None:
    """A displayed price right after a visible "from" label ("à partir de 431,20 €"), looked
    for in the buy-box region only."""
    if region is None:
        return None
    for count, label in enumerate(region.iter(lxml.etree.Element)):
        if count >= _MAX_REGION:
            break
        own = (label.text or "").strip()
        if not own or len(own) > _MAX_LABEL or not _FROM_LABEL.search(own):
            continue
        text = " ".join(visible_text(label).split())
        if len(text) > _MAX_LABEL or not _FROM_LABEL.fullmatch(text) or not _shown(label):
            continue
        # The price follows: in the label's tail, else in the next element.
        following = label.getnext()
        shown = (label.tail or "").strip() or (
            " ".join(visible_text(following).split())
            if following is not None and _shown(following)
            else ""
        )
        if shown and len(shown) <= _MAX_PRICE_TEXT:
            return text_price(shown, page=page).amount
    return None


def _shown(element: HtmlElement) -> bool:
    """False for an element hidden by attribute or inline style."""
    style = (element.get("style") or "").replace(" ", "").lower()
    return (
        element.get("hidden") is None
        and "display:none" not in style
        and "visibility:hidden" not in style
    )
