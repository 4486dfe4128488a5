"""Fnac product pages (fnac.com, fnac.be, fnac.es, fnac.pt, fnac.ch).

The reference is Fnac's article number (the JSON-LD `sku`, also in the page's
`data-referecencegu` attribute), not the `a9229020` id of the URL. The price, stock line and
delivery line come from Fnac's own offer in the offers block, not from the marketplace tab
("8 neufs dès 102€44") nor from the struck-through former price.
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
    clean_title,
    has_class,
    has_digit,
    index_ids,
    json_ld_sku,
    read_price,
    text_of,
)
from pricewatch.domain.snapshot import Availability

_HOST = re.compile(r"(?:[a-z]+\.)?fnac\.(com|be|es|pt|ch)")
_SITE_CURRENCY = {"com": "EUR", "be": "EUR", "es": "EUR", "pt": "EUR", "ch": "CHF"}
# Fnac spells the attribute "referecencegu"; the alert link carries the same number.
_ARTICLE_NUMBER = re.compile(r"""(?:data-refere(?:ce)?ncegu=["']|[?&;]ItemSKU=)(\d{4,12})""")
_SKU = re.compile(r"\d{4,12}")

_OFFERS = etree.XPath('//section[contains(@class, "f-productOffers")]')
_OFFER_CONTENTS = etree.XPath('.//*[contains(@class, "f-productOffers-content")]')
_PRICES = etree.XPath(
    './/*[contains(@class, "priceBox-price") or contains(@class, "PriceBox__price")]'
)
_STOCK = etree.XPath('.//*[contains(@class, "f-buyBox-availability")]')
_DELIVERY = etree.XPath('.//*[contains(@class, "f-buyBox-shipping")]')
_BUY_BUTTONS = etree.XPath('.//*[contains(@class, "js-ProductBuy-add")]')
_BREADCRUMB_LINKS = etree.XPath('//ul[contains(@class, "f-breadcrumb")]//a')
_MAIN_IMAGE = etree.XPath(
    '//img[contains(@class, "f-productVisuals-mainMedia")'
    ' or contains(@class, "js-ProductVisuals-imagePreview")]'
)
_TERMS = etree.XPath(".//dt")
_HEADER_LINKS = etree.XPath('.//*[contains(@class, "productHeader-subTitle")]//a')
# Fnac's brand pages are /<Name>/m<digits>/; authors (/ia…/) and ranges (/f…/) are not brands.
_BRAND_PAGE = re.compile(r"/m\d+(?:/|$)")

_OUT_OF_STOCK = ("indisponible", "épuisé", "rupture", "plus disponible", "agotado", "esgotado")
_PREORDER = ("précommande", "pré-commande", "preventa", "pré-venda", "reserva")
_IN_STOCK = ("en stock", "disponible", "en existencia", "em stock")
_FREE = re.compile(r"\b(?:gratuite?|gratis|grátis)\b", re.IGNORECASE)
_CONDITIONAL = re.compile(r"\b(?:à partir|dès|desde|a partir)\b", re.IGNORECASE)
_BRAND_KEYS = frozenset({"marque", "marca"})


class FnacAdapter:
    """Reads Fnac product pages."""

    name = "fnac"

    def matches(self, page: Page) -> bool:
        """Fnac's country sites."""
        return _HOST.fullmatch(page.host) is not None

    def parse(self, page: Page) -> Fields:
        """Read the product header and Fnac's own offer; error pages give nothing."""
        offer = _fnac_offer(page)
        heading = _heading(page)
        fields = Fields(title=clean_title(text_of(heading)))
        if offer is not None:
            _fill_offer(fields, offer, page)
        if fields.title is None and fields.price is None:
            return Fields()
        specs = _specs(page)
        fields.reference = _reference(page)
        fields.brand = _header_brand(heading) or _brand(specs)
        fields.specs = specs
        fields.category = _category(page)
        fields.images = _images(page)
        return fields


def _heading(page: Page) -> HtmlElement | None:
    """The product header's `<h1>` (else the first non-empty `<h1>`)."""
    headings = list(page.tree.iter("h1"))
    header = [h for h in headings if "productHeader" in (h.get("class") or "")]
    return next((h for h in header + headings if text_of(h)), None)


def _header_brand(heading: HtmlElement | None) -> str | None:
    """The brand link under the title (its URL is a Fnac brand page)."""
    header = heading.getparent() if heading is not None else None
    if header is None:
        return None
    for link in cast(list[HtmlElement], _HEADER_LINKS(header)):
        if _BRAND_PAGE.search(urlsplit(link.get("href") or "").path) and (name := text_of(link)):
            return name
    return None


def _fnac_offer(page: Page) -> HtmlElement | None:
    """Fnac's own offer in the offers block (the marketplace tab comes second)."""
    sections = cast(list[HtmlElement], _OFFERS(page.tree))
    if not sections:
        return None
    contents = cast(list[HtmlElement], _OFFER_CONTENTS(sections[0]))
    own = [c for c in contents if has_class(c, "f-productOffers-fnac")]
    return (own or contents or sections)[0]


def _fill_offer(fields: Fields, offer: HtmlElement, page: Page) -> None:
    """Price, currency, stock state and delivery cost of one offer."""
    text = _price_text(offer)
    if text is not None and (amount := read_price(text, page).amount) is not None:
        fields.price = amount
        fields.currency = _currency(text, page)
    fields.availability = _availability(offer)
    fields.shipping_cost = _shipping(offer)


def _price_text(offer: HtmlElement) -> str | None:
    """The selected current price ('99€99'), never the struck-through former price."""
    prices = [
        element
        for element in cast(list[HtmlElement], _PRICES(offer))
        if not any(token.endswith(("--old", "--strike")) for token in _classes(element))
    ]
    checked = [element for element in prices if has_class(element, "checked")]
    for element in checked + prices:
        if has_digit(text := text_of(element)):
            return text
    return None


def _classes(element: HtmlElement) -> list[str]:
    """The element's class tokens."""
    return (element.get("class") or "").split()


def _currency(text: str, page: Page) -> str | None:
    """The currency written next to the price, else the one of the Fnac site."""
    parsed = read_price(text, page)
    if parsed.currency:
        return parsed.currency
    if "€" in text:
        return "EUR"
    match = _HOST.fullmatch(page.host)
    return _SITE_CURRENCY.get(match.group(1)) if match else None


def _availability(offer: HtmlElement) -> Availability | None:
    """The offer's stock line (status class or text), then its add-to-basket buttons."""
    for line in cast(list[HtmlElement], _STOCK(offer)):
        # The shop box ('En magasin') is about store pickup, not the online offer.
        if not has_class(line, "f-shopBox-availability") and (state := _stock_state(line)):
            return state
    if _BUY_BUTTONS(offer):
        return Availability.IN_STOCK
    return None


def _stock_state(line: HtmlElement) -> Availability | None:
    """One stock line: Fnac's status class says it, the text says it otherwise."""
    classes = " ".join(_classes(line)).lower()
    if "status-available" in classes:
        return Availability.IN_STOCK
    if "status-unavailable" in classes or "status-outofstock" in classes:
        return Availability.OUT_OF_STOCK
    if "status-preorder" in classes or "status-presale" in classes:
        return Availability.PREORDER
    text = text_of(line).lower()
    for phrases, state in (
        (_OUT_OF_STOCK, Availability.OUT_OF_STOCK),
        (_PREORDER, Availability.PREORDER),
        (_IN_STOCK, Availability.IN_STOCK),
    ):
        if any(phrase in text for phrase in phrases):
            return state
    return None


def _shipping(offer: HtmlElement) -> Decimal | None:
    """0 for 'Livraison gratuite'; 'à partir de 4€99' is a minimum, so None."""
    for line in cast(list[HtmlElement], _DELIVERY(offer)):
        text = text_of(line)
        if _FREE.search(text) and not _CONDITIONAL.search(text):
            return Decimal(0)
    return None


def _reference(page: Page) -> str | None:
    """Fnac's article number: JSON-LD `sku`, else the number in the page's markup."""
    if (sku := json_ld_sku(page)) and _SKU.fullmatch(sku):
        return sku
    match = _ARTICLE_NUMBER.search(page.text)
    return match.group(1) if match else None


def _specs(page: Page) -> dict[str, str]:
    """'Caractéristiques techniques': `<dt>` label / `<dd>` value pairs."""
    specs: dict[str, str] = {}
    section = index_ids(page.tree, frozenset({"Characteristics"})).get("Characteristics")
    if section is None:
        return specs
    for term in cast(list[HtmlElement], _TERMS(section)):
        definition = term.getnext()
        if definition is not None and definition.tag == "dd":
            add_spec(specs, text_of(term), text_of(definition))
    return specs


def _brand(specs: dict[str, str]) -> str | None:
    """The 'Marque' characteristic (the generic layers add JSON-LD's brand otherwise)."""
    for key, value in specs.items():
        if key.lower() in _BRAND_KEYS:
            return value
    return None


def _category(page: Page) -> str | None:
    """The breadcrumb trail without the home page link."""
    names = [
        text_of(link)
        for link in cast(list[HtmlElement], _BREADCRUMB_LINKS(page.tree))
        if urlsplit(link.get("href") or "").path not in ("", "/")
    ]
    return " > ".join(name for name in names if name) or None


def _images(page: Page) -> list[str]:
    """The main product picture."""
    for image in cast(list[HtmlElement], _MAIN_IMAGE(page.tree)):
        src = (image.get("src") or image.get("data-src") or "").strip()
        if src and not src.startswith("data:"):
            return [urljoin(page.url, src)]
    return []


adapter = FnacAdapter()
