"""schema.org Product data (from JSON-LD or microdata) read into `Fields`.

Both layers hand in plain dicts shaped like JSON-LD; keys are matched case-insensitively and
without a `schema:`/`http://schema.org/` prefix, so `"Offers"` and `"offers"` read the same.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.generic.amount import iso_currency, structured_amount
from pricewatch.adapters.scraping.page import Page, visible_text
from pricewatch.domain.snapshot import Availability

PRODUCT_TYPES = frozenset(
    {
        "product",
        "productgroup",
        "individualproduct",
        "productmodel",
        "someproducts",
        "vehicle",
        "car",
        "motorcycle",
        "book",
        "softwareapplication",
        "musicalbum",
        "movie",
        "videogame",
    }
)
OFFER_TYPES = frozenset({"offer", "aggregateoffer"})
# Wrappers whose main entity is the page's product (a WebPage, an ItemPage, an Offer...).
_ENTITY_KEYS = ("mainentity", "mainentityofpage", "itemoffered", "about")
# Keys never needed and sometimes huge; not normalised.
_SKIPPED_KEYS = frozenset(
    {"review", "reviews", "aggregaterating", "description", "potentialaction"}
)
_PREFIX = re.compile(r"^(?:https?://schema\.org/|schema:)", re.IGNORECASE)
_GTIN_KEYS = ("gtin13", "gtin", "gtin14", "gtin12", "gtin8", "isbn", "ean")
_REFERENCE_KEYS = ("sku",)
_WEAK_REFERENCE_KEYS = ("mpn", "productid", "productgroupid", "identifier")
# Placeholders some shops put in identifier fields.
_NO_VALUE = re.compile(r"^(?:n/?a|none|null|undefined|-+|0+|does not apply|not applicable)$", re.I)
_AVAILABILITY_WORDS: tuple[tuple[str, Availability], ...] = (
    ("outofstock", Availability.OUT_OF_STOCK),
    ("soldout", Availability.OUT_OF_STOCK),
    ("discontinued", Availability.OUT_OF_STOCK),
    ("oos", Availability.OUT_OF_STOCK),
    ("unavailable", Availability.OUT_OF_STOCK),
    ("preorder", Availability.PREORDER),
    ("presale", Availability.PREORDER),
    ("instock", Availability.IN_STOCK),
    ("limitedavailability", Availability.IN_STOCK),
    ("instoreonly", Availability.IN_STOCK),
    ("onlineonly", Availability.IN_STOCK),
    # Back-ordered goods can still be bought; the delay is not a stock-out.
    ("backorder", Availability.IN_STOCK),
    ("availablefororder", Availability.IN_STOCK),
    ("available", Availability.IN_STOCK),
    ("madetoorder", Availability.IN_STOCK),
)


def normalise(data: Any, *, depth: int = 0) -> Any:
    """A copy of `data` with lower-case, prefix-free keys (huge review lists left out)."""
    if depth > 12:
        return None
    if isinstance(data, dict):
        result: dict[str, Any] = {}
        for key, value in data.items():
            name = _PREFIX.sub("", str(key)).lower()
            if name not in _SKIPPED_KEYS:
                result.setdefault(name, normalise(value, depth=depth + 1))
        return result
    if isinstance(data, list):
        return [normalise(item, depth=depth + 1) for item in data]
    return data


def types_of(data: dict[str, Any]) -> frozenset[str]:
    """The lower-case schema.org type names of a (normalised or raw) object."""
    raw = data.get("@type", data.get("type", ()))
    values = raw if isinstance(raw, list) else [raw]
    return frozenset(
        _PREFIX.sub("", v).rsplit("/", 1)[-1].lower() for v in values if isinstance(v, str)
    )


def product_candidates(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalised Product (or lone Offer) objects, in document order, wrappers opened."""
    found: list[dict[str, Any]] = []
    for data in objects:
        found.extend(_candidates_in(data, depth=0))
    return [normalise(candidate) for candidate in found]


def _candidates_in(data: dict[str, Any], *, depth: int) -> Iterator[dict[str, Any]]:
    types = types_of(data)
    if types & PRODUCT_TYPES:
        yield data
        return
    if types & OFFER_TYPES and not _offers_an_item(data):
        yield data
        return
    if depth > 3:
        return
    # An Offer wrapping its product (itemOffered) and a WebPageElement holding offers open up.
    keys = _ENTITY_KEYS if types & OFFER_TYPES else (*_ENTITY_KEYS, "offers")
    for key in keys:
        value = _get(data, key)
        for inner in value if isinstance(value, list) else [value]:
            if isinstance(inner, dict):
                yield from _candidates_in(inner, depth=depth + 1)


def _offers_an_item(offer: dict[str, Any]) -> bool:
    """True when an Offer names the product it sells (itemOffered as an object or a list)."""
    item = _get(offer, "itemoffered")
    return isinstance(item, dict) or (
        isinstance(item, list) and any(isinstance(i, dict) for i in item)
    )


def _get(data: dict[str, Any], key: str) -> Any:
    """`data[key]` matched case-insensitively (for raw, not yet normalised objects)."""
    if key in data:
        return data[key]
    for name, value in data.items():
        if isinstance(name, str) and _PREFIX.sub("", name).lower() == key:
            return value
    return None


class PageHints:
    """What identifies the page's own product: its URLs and its visible title.

    Each is read from the page on first use: many pages never need them (no structured
    product, or a single offer with no URL).
    """

    def __init__(self, page: Page) -> None:
        self._page = page

    @classmethod
    def of(cls, page: Page) -> PageHints:
        """Hints from the page URL, canonical URL, h1 and og:title."""
        return cls(page)

    @cached_property
    def urls(self) -> frozenset[str]:
        """The page URL and its canonical URL, as `url_key`s."""
        page = self._page
        urls = {url_key(page.url)}
        if page.canonical_url:
            urls.add(url_key(page.canonical_url))
        return frozenset(urls)

    @cached_property
    def titles(self) -> tuple[str, ...]:
        """The og:title and the first h1's text, `simplify`-ed (empty ones left out)."""
        page = self._page
        h1 = next(iter(page.elements("h1")), None)
        titles = [page.meta.get("og:title"), visible_text(h1) if h1 is not None else None]
        return tuple(simplify(t) for t in titles if t and simplify(t))


def url_key(url: str) -> str:
    """A URL reduced to host and path, for loose comparisons."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


def simplify(text: str) -> str:
    """Case-folded text with whitespace collapsed, for comparing titles."""
    return " ".join(html.unescape(text).split()).casefold()


def choose_product(candidates: list[dict[str, Any]], *, hints: PageHints) -> dict[str, Any] | None:
    """The candidate most likely to be the page's product (URL, then title, then offers)."""
    if not candidates:
        return None
    scored = [
        (_score(candidate, hints=hints), -index) for index, candidate in enumerate(candidates)
    ]
    best = max(range(len(candidates)), key=lambda i: scored[i])
    return candidates[best]


def _score(product: dict[str, Any], *, hints: PageHints) -> int:
    """How strongly `product` looks like the page's own product."""
    score = 0
    urls = {product.get("url"), product.get("@id")}
    if any(isinstance(u, str) and u.strip() and url_key(u) in hints.urls for u in urls):
        score += 4
    if _matching_name(product, hints=hints) is not None:
        score += 2
    if any(offer.get("price") or offer.get("lowprice") for offer in offers_of(product)):
        score += 1
    return score


def fields_from_product(product: dict[str, Any], *, page: Page, hints: PageHints) -> Fields:
    """Fields of one normalised product; a ProductGroup reads its best variant first."""
    found = _fields_of(product, page=page, hints=hints)
    variants = [v for v in _as_list(product.get("hasvariant")) if isinstance(v, dict)]
    if variants:
        variant = _choose_variant(variants, page=page)
        variant_fields = _fields_of(variant, page=page, hints=hints)
        # The group names the product; the variant carries the offer that is shown.
        title = found.title or variant_fields.title
        variant_fields.fill_from(found)
        variant_fields.title = title
        return variant_fields
    return found


def _choose_variant(variants: list[dict[str, Any]], *, page: Page) -> dict[str, Any]:
    """The variant the page URL points at, else the first one with a price."""
    page_url = page.url.casefold()
    for variant in variants:
        sku = variant.get("sku")
        url = variant.get("url") or _first_offer_value(variant, "url")
        if isinstance(url, str) and url.strip() and url_key(url) == url_key(page.url):
            return variant
        if isinstance(sku, str | int) and f"={str(sku).casefold()}" in page_url:
            return variant
    priced = [v for v in variants if any(o.get("price") for o in offers_of(v))]
    return (priced or variants)[0]


def _first_offer_value(product: dict[str, Any], key: str) -> Any:
    for offer in offers_of(product):
        if offer.get(key):
            return offer[key]
    return None


def _fields_of(product: dict[str, Any], *, page: Page, hints: PageHints) -> Fields:
    """Fields of one product without looking at its variants."""
    found = Fields(
        title=_title(product, hints=hints),
        brand=_name_of(product.get("brand")) or _name_of(product.get("manufacturer")),
        gtin=_gtin(product),
        category=_category(product.get("category")),
        images=_images(product.get("image"), page=page),
        specs=_specs(product.get("additionalproperty")),
    )
    found.reference = _reference(product, _REFERENCE_KEYS) or _first_offer_identifier(product)
    found.weak_reference = _reference(product, _WEAK_REFERENCE_KEYS) or found.gtin
    _read_offers(found, product, page=page, hints=hints)
    return found


def _title(product: dict[str, Any], *, hints: PageHints) -> str | None:
    """The product's name; of several (microdata repeats names), the one the page shows."""
    name = _matching_name(product, hints=hints) or _text(product.get("name"))
    return " ".join(html.unescape(name).split()) or None if name else None


def _matching_name(product: dict[str, Any], *, hints: PageHints) -> str | None:
    """The product's name (or one of its names) that matches the page's h1 or og:title."""
    raw = product.get("name")
    names = [_text(n) for n in raw] if isinstance(raw, list) else [_text(raw)]
    simple_names = [(n, simplify(n)) for n in names if n]
    for exact in (True, False):
        for name, simple in simple_names:
            if any(_same_title(simple, t, exact=exact) for t in hints.titles):
                return name
    return None


def _same_title(simple: str, title: str, *, exact: bool) -> bool:
    """Equal titles, or (not `exact`) one holding the other (a site name or brand added)."""
    if exact or len(simple) <= 8:
        return simple == title
    return simple in title or title in simple


def offers_of(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The product's offers, flattened: a lone Offer, a list, an AggregateOffer and its offers."""
    if types_of(product) & OFFER_TYPES:
        return _flatten_offers(product, depth=0)
    offers: list[dict[str, Any]] = []
    for offer in _as_list(product.get("offers")):
        if isinstance(offer, dict):
            offers.extend(_flatten_offers(offer, depth=0))
    return offers


def _flatten_offers(offer: dict[str, Any], *, depth: int) -> list[dict[str, Any]]:
    found = [offer]
    if depth < 3:
        for inner in _as_list(offer.get("offers")):
            if isinstance(inner, dict):
                found.extend(_flatten_offers(inner, depth=depth + 1))
    return found


def _read_offers(found: Fields, product: dict[str, Any], *, page: Page, hints: PageHints) -> None:
    """Price, currency, availability and shipping from the product's best offer."""
    offers = offers_of(product)
    priced = [(o, _offer_price(o, page=page)) for o in offers]
    priced = [(o, p) for o, p in priced if p[0] is not None]
    if priced:
        offer, (price, currency) = _best_offer(priced, page=page, hints=hints)
        found.price, found.currency = price, currency
        found.availability = availability_of(offer.get("availability"))
        found.shipping_cost = _shipping(offer, page=page)
    if found.availability is not Availability.IN_STOCK and any(
        availability_of(o.get("availability")) is Availability.IN_STOCK for o in offers
    ):
        # Some sizes or sellers are sold out, others are not: the product can be bought.
        found.availability = Availability.IN_STOCK
    if found.availability is None:
        found.availability = _first_availability(offers) or availability_of(
            product.get("availability")
        )
    if found.currency is None:
        found.currency = next((c for o in offers if (c := _offer_currency(o))), None)


def _best_offer(
    priced: list[tuple[dict[str, Any], tuple[Decimal | None, str | None]]],
    *,
    page: Page,
    hints: PageHints,
) -> tuple[dict[str, Any], tuple[Decimal | None, str | None]]:
    """The offer the page shows: the buy box's price, the page's URL, else the lowest in stock.

    Offers with several prices (sizes, sellers, a low/high range) are settled by the price the
    visible buy box shows when it is one of them; that reading is costly, so only done then.
    """
    amounts = {price[0] for _, price in priced}
    if len(amounts) > 1:
        # Imported here: the DOM layer is heavy and most pages never need it.
        from pricewatch.adapters.scraping.generic.heuristics import visible_price

        shown = visible_price(page)
        for offer, price in priced:
            if shown is not None and price[0] == shown:
                return offer, price
    for offer, price in priced:
        url = offer.get("url")
        if isinstance(url, str) and url.strip() and url_key(url) in hints.urls:
            return offer, price
    if len(amounts) > 1:
        in_stock = [
            item
            for item in priced
            if availability_of(item[0].get("availability")) is not Availability.OUT_OF_STOCK
        ]
        return min(in_stock or priced, key=lambda item: item[1][0] or Decimal(0))
    return priced[0]


def _offer_price(offer: dict[str, Any], *, page: Page) -> tuple[Decimal | None, str | None]:
    """(amount, currency) of one offer: price, then priceSpecification, then lowPrice."""
    currency = _offer_currency(offer)
    amount = structured_amount(offer.get("price"), page=page, currency=currency)
    if amount is None:
        for spec in _price_specifications(offer):
            spec_currency = iso_currency(spec.get("pricecurrency")) or currency
            amount = structured_amount(spec.get("price"), page=page, currency=spec_currency)
            if amount is not None:
                return amount, spec_currency
    if amount is None:
        amount = structured_amount(offer.get("lowprice"), page=page, currency=currency)
    return amount, currency


def _price_specifications(offer: dict[str, Any]) -> list[dict[str, Any]]:
    """The offer's price specifications, the selling price before list/strike-through prices."""
    specs = [s for s in _as_list(offer.get("pricespecification")) if isinstance(s, dict)]

    def is_reference(spec: dict[str, Any]) -> bool:
        kind = str(spec.get("pricetype") or "").lower()
        return any(word in kind for word in ("listprice", "strikethrough", "msrp", "srp"))

    return sorted(specs, key=is_reference)


def _offer_currency(offer: dict[str, Any]) -> str | None:
    currency = iso_currency(offer.get("pricecurrency"))
    if currency is None:
        for spec in _price_specifications(offer):
            if currency := iso_currency(spec.get("pricecurrency")):
                break
    return currency


def _first_availability(offers: list[dict[str, Any]]) -> Availability | None:
    for offer in offers:
        if (availability := availability_of(offer.get("availability"))) is not None:
            return availability
    return None


def _shipping(offer: dict[str, Any], *, page: Page) -> Decimal | None:
    """The offer's shipping rate (shippingDetails.shippingRate.value), zero included."""
    for details in _as_list(offer.get("shippingdetails")):
        if not isinstance(details, dict):
            continue
        for rate in _as_list(details.get("shippingrate")):
            if isinstance(rate, dict) and rate.get("value") is not None:
                value = rate["value"]
                if str(value).strip() in ("0", "0.0", "0.00"):
                    return Decimal("0.00")
                return structured_amount(value, page=page)
    return None


def availability_of(value: Any) -> Availability | None:
    """Availability from a schema.org URL or a word such as 'InStock' or 'out of stock'."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@id") or value.get("name")
    if not isinstance(value, str):
        return None
    word = re.sub(r"[^a-z]", "", _PREFIX.sub("", value.strip()).rsplit("/", 1)[-1].lower())
    for key, availability in _AVAILABILITY_WORDS:
        if word == key or (len(key) > 3 and word.startswith(key)):
            return availability
    return None


def _reference(product: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if (value := _identifier(product.get(key))) is not None:
            return value
    return None


def _first_offer_identifier(product: dict[str, Any]) -> str | None:
    """A SKU given on the offer rather than on the product (Apple, many shops)."""
    for offer in offers_of(product):
        if (value := _identifier(offer.get("sku"))) is not None:
            return value
    return None


def _gtin(product: dict[str, Any]) -> str | None:
    for key in _GTIN_KEYS:
        value = _identifier(product.get(key))
        if value and value.isdigit() and len(value) in (8, 12, 13, 14):
            return value
    return None


def _identifier(value: Any) -> str | None:
    """A product identifier as text (numbers included, PropertyValue objects opened)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("value") or value.get("@value")
    if isinstance(value, bool) or value is None:
        return None
    text = " ".join(str(value).split())
    # "upc:0123", "mpn:TW002": keep the value, not the scheme name.
    text = re.sub(r"^(?:sku|mpn|upc|ean|isbn|gtin\d*|asin)\s*:\s*", "", text, flags=re.I)
    return text if text and not _NO_VALUE.match(text) else None


def _name_of(value: Any) -> str | None:
    """A brand or organisation name, from a string or an object with a name."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name")
    text = _text(value)
    return " ".join(html.unescape(text).split()) or None if text else None


def _category(value: Any) -> str | None:
    if isinstance(value, list):
        names = [n for v in value if (n := _name_of(v))]
        return " > ".join(names) or None
    return _name_of(value)


def _images(value: Any, *, page: Page) -> list[str]:
    """Absolute image URLs, in order, from strings, lists and ImageObjects."""
    images: list[str] = []
    for item in _as_list(value):
        url = item
        if isinstance(item, dict):
            url = item.get("contenturl") or item.get("url") or item.get("@id")
        if isinstance(url, list):
            url = url[0] if url else None
        if isinstance(url, str) and url.strip() and not url.strip().startswith("data:"):
            absolute = page.absolute(url)
            if absolute not in images:
                images.append(absolute)
    return images


def _specs(value: Any) -> dict[str, str]:
    """`additionalProperty` PropertyValues as name -> value."""
    specs: dict[str, str] = {}
    for item in _as_list(value):
        if isinstance(item, dict):
            name, val = _text(item.get("name")), _text(item.get("value"))
            if name and val:
                specs.setdefault(" ".join(name.split()), " ".join(val.split()))
    return specs


def _text(value: Any) -> str | None:
    """A plain string from a string, a number, a language-tagged object or a list."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name")
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
