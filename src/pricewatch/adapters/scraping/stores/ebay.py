"""eBay listing pages on every eBay country site, classic ("vi") and current ("x-"/"ux-") layouts.

The price is the listing's price (`#prcIsum`, `#mm-saleDscPrc`, `.x-price-primary`). When the
seller lists in another currency ("US $8.99" on ebay.nl), eBay also shows the amount in the
site's currency ("EUR 7,93"), which is what the buyer is charged there: that amount is taken,
and the listing price goes in a note. Auctions give the current bid, with a note; a Buy It Now
price wins when both are offered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple, cast
from urllib.parse import urljoin

from lxml import etree
from lxml.html import HtmlElement

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.page import Page
from pricewatch.adapters.scraping.stores._dom import (
    add_spec,
    canonical_url,
    clean_title,
    has_class,
    has_digit,
    index_ids,
    iso_code,
    read_price,
    settled_amount,
    spec_text,
    text_of,
)
from pricewatch.domain.snapshot import Availability

_HOST = re.compile(r"(?:[a-z]+\.)?ebay\.((?:com?\.)?[a-z]{2,3})")
_SITE_CURRENCY = {
    "com": "USD", "co.uk": "GBP", "de": "EUR", "fr": "EUR", "es": "EUR", "it": "EUR",
    "nl": "EUR", "at": "EUR", "be": "EUR", "ie": "EUR", "com.au": "AUD", "ca": "CAD",
    "ch": "CHF", "pl": "PLN", "com.sg": "SGD", "com.hk": "HKD", "com.my": "MYR", "ph": "PHP",
    "in": "INR",
}  # fmt: skip
# eBay writes its own currency prefixes; a bare "$" alone would be ambiguous.
_PREFIXES = (
    ("US $", "USD"), ("AU $", "AUD"), ("C $", "CAD"), ("CA $", "CAD"), ("NZ $", "NZD"),
    ("HK $", "HKD"), ("S$", "SGD"), ("RM", "MYR"), ("£", "GBP"), ("€", "EUR"), ("zł", "PLN"),
    ("Fr.", "CHF"), ("₱", "PHP"), ("Rs.", "INR"), ("₹", "INR"),
)  # fmt: skip

_ITEM_IN_URL = re.compile(r"/itm/(?:[^/?#]+/)?(\d{9,15})(?=[/?#]|$)")
_ITEM_NUMBER = re.compile(r"\d{9,15}")
_ISO_IN_TEXT = re.compile(r"\b(?:USD|EUR|GBP|AUD|CAD|CHF|PLN|SEK|NZD|HKD|SGD|MYR|PHP|INR)\b")
_PARENTHESES = re.compile(r"\(([^()]*\d[^()]*)\)")

_BUY_NOW_IDS = ("mm-saleDscPrc", "prcIsum")
_BID_ID = "prcIsum_bidPrice"
_CONVERTED_IDS = ("convbinPrice", "convbidPrice")
_STATUS_IDS = ("msgPanel", "qtySubTxt", "qtyAvailability")
_BUY_BUTTONS = ("binBtn_btn", "isCartBtn_btn", "binBtn_btn_1", "atcBtn_btn_1", "bidBtn_btn")
# Any of these means the classic layout, where every field has an id.
_CLASSIC_IDS = ("itemTitle", "prcIsum", "mm-saleDscPrc", _BID_ID, "descItemNumber")
_IDS = frozenset(
    {
        "itemTitle", "descItemNumber", "fshippingCost", "icImg", "vi-VR-brumb-lnkLst",
        "viTabs_0_is", _BID_ID, *_BUY_NOW_IDS, *_CONVERTED_IDS, *_STATUS_IDS, *_BUY_BUTTONS,
    }
)  # fmt: skip

# Current layout: looked up by class, only when the page contains the class name at all.
_PRICE_PRIMARY = etree.XPath('//div[contains(@class, "x-price-primary")]')
_PRICE_APPROX = etree.XPath('//div[contains(@class, "x-price-approx")]')
_MAIN_TITLE = etree.XPath('//h1[contains(@class, "x-item-title__mainTitle")]')
_ITEM_ID_SECTION = etree.XPath(
    '//*[contains(@class, "textual-display--itemId")]//span[contains(@class, "BOLD")]'
)
_STATUS_BLOCKS = etree.XPath(
    '//*[contains(@class, "d-statusmessage") or contains(@class, "x-quantity__availability")'
    ' or contains(@class, "ux-layout-section--statusMessage")]'
)
_SHIPPING_VALUES = etree.XPath(
    '//*[contains(@class, "ux-labels-values--shipping")]'
    '//*[contains(@class, "ux-labels-values__values")]'
)
_CAROUSEL_IMAGES = etree.XPath('//div[contains(@class, "ux-image-carousel-item")]//img')
_BREADCRUMB_LINKS = etree.XPath('//nav[contains(@class, "breadcrumbs")]//a')
_LABELS = etree.XPath('.//*[contains(@class, "ux-labels-values__labels")]')
_ATTRIBUTE_LABELS = etree.XPath('.//td[contains(@class, "attrLabels")]')
_FIRST_TRAIL = etree.XPath('(.//ul)[1]//a[@itemprop="item"]')
_CURRENCY_META = etree.XPath('(ancestor::div[1]//*[@itemprop="priceCurrency"]/@content)[1]')

_ENDED = (
    "listing has ended", "listing was ended", "bidding has ended", "bidding ended",
    "listing sold", "out of stock", "sold out", "no longer available",
    "angebot wurde beendet", "angebot ist beendet", "ausverkauft", "nicht mehr verfügbar",
    "annonce est terminée", "vente est terminée", "épuisé", "plus disponible",
    "inserzione è terminata", "non è più disponibile", "esaurito", "anuncio ha finalizado",
    "ha finalizado", "agotado", "ya no está disponible", "advertentie is beëindigd",
    "uitverkocht", "niet meer beschikbaar", "oferta zakończona", "wyprzedane",
    "not available", "nicht verfügbar", "indisponible", "non disponibile", "no disponible",
    "niet beschikbaar",
)  # fmt: skip
_AVAILABLE = (
    "available", "last one", "limited quantity", "verfügbar", "letzter artikel",
    "disponible", "dernier article", "disponibil", "ultimo", "último", "beschikbaar",
    "laatste", "dostępn", "ostatni", "cantidad limitada", "quantité limitée",
    "begrenzte stückzahl", "quantità limitata", "beperkte hoeveelheid",
)  # fmt: skip
_FREE = re.compile(
    r"^(?:free|gratis|kostenlos|gratuit|gratuita|gratuito|darmowa|darmowy)\b", re.IGNORECASE
)
_BRAND_KEYS = frozenset({"brand", "marke", "marque", "marca", "merk", "marka"})
_NO_BRAND = frozenset(
    {"unbranded", "markenlos", "sans marque", "senza marca", "sin marca", "zonder merk"}
)


class _Amount(NamedTuple):
    """An amount read from a price text, with its currency and the text itself."""

    amount: Decimal
    currency: str | None
    text: str


@dataclass(frozen=True)
class _Offer:
    """The price element chosen and what kind of sale it belongs to."""

    element: HtmlElement
    auction: bool
    buy_now_and_bid: bool = False


class EbayAdapter:
    """Reads eBay listing pages."""

    name = "ebay"

    def matches(self, page: Page) -> bool:
        """eBay hosts (www., m., befr./benl./cafr. and every country site)."""
        return _HOST.fullmatch(page.host) is not None

    def parse(self, page: Page) -> Fields:
        """Read the listing; pages without a title or price (captcha, error) give nothing."""
        found = index_ids(page.tree, _IDS)
        fields = Fields(title=_title(found, page))
        _fill_price(fields, found, page)
        if fields.title is None and fields.price is None:
            return Fields()
        specs = _specs(found, page)
        fields.reference = _reference(found, page)
        fields.availability = _availability(found, page)
        fields.brand = _brand(specs)
        fields.specs = specs
        fields.category = _category(found, page)
        fields.images = _images(found, page)
        if fields.price is not None:
            fields.shipping_cost = _shipping(found, page, currency=fields.currency)
        return fields


def _current(found: dict[str, HtmlElement], page: Page, marker: str) -> bool:
    """True on a current-layout page that uses `marker` (spares class scans on classic pages)."""
    return not any(key in found for key in _CLASSIC_IDS) and marker in page.text


def _title(found: dict[str, HtmlElement], page: Page) -> str | None:
    """The listing title, without eBay's hidden 'Details about' prefix."""
    heading = found.get("itemTitle")
    if heading is not None:
        # The title is loose text; child spans hold the prefix and 'show original title'.
        loose = [heading.text or "", *(child.tail or "" for child in heading)]
        if title := clean_title("".join(loose)) or clean_title(text_of(heading)):
            return title
    if _current(found, page, "x-item-title"):
        for element in cast(list[HtmlElement], _MAIN_TITLE(page.tree)):
            if title := clean_title(text_of(element)):
                return title
    return None


def _fill_price(fields: Fields, found: dict[str, HtmlElement], page: Page) -> None:
    """Set price and currency (in the site's currency when eBay converts), with sale notes."""
    offer = _offer(found, page)
    listed = _listing_price(offer.element, page) if offer is not None else None
    if offer is None or listed is None:
        return
    shown = _converted_price(found, page)
    if shown is not None and shown.currency is not None and shown.currency != listed.currency:
        fields.price, fields.currency = shown.amount, shown.currency
        fields.notes.append(f"ebay: listed at {listed.text}, shown as about {shown.text} here")
    else:
        fields.price, fields.currency = listed.amount, listed.currency
    if offer.buy_now_and_bid:
        fields.notes.append("ebay: auction with Buy It Now; the Buy It Now price is taken")
    elif offer.auction:
        fields.notes.append("ebay: auction; the price is the current bid and may still rise")


def _listing_price(element: HtmlElement, page: Page) -> _Amount | None:
    """The price element's amount (its machine-readable `content` wins) and currency."""
    text = text_of(element)
    parsed = read_price(text, page)
    amount = settled_amount(element.get("content"), parsed.amount)
    if amount is None:
        return None
    meta = cast(list[str], _CURRENCY_META(element))
    currency = (iso_code(meta[0]) if meta else None) or _text_currency(text, parsed.currency, page)
    return _Amount(amount, currency, text)


def _offer(found: dict[str, HtmlElement], page: Page) -> _Offer | None:
    """The Buy It Now price element, else the current bid element."""
    bid = found.get(_BID_ID)
    for key in _BUY_NOW_IDS:
        if (element := found.get(key)) is not None and has_digit(text_of(element)):
            return _Offer(element, auction=False, buy_now_and_bid=bid is not None)
    if bid is not None and has_digit(text_of(bid)):
        return _Offer(bid, auction=True)
    if _current(found, page, "x-price-primary"):
        return _modern_offer(page)
    return None


def _modern_offer(page: Page) -> _Offer | None:
    """Current layout: `.x-price-primary` inside `.x-bin-price` or `.x-bid-price`."""
    buy_now: HtmlElement | None = None
    bid: HtmlElement | None = None
    for element in cast(list[HtmlElement], _PRICE_PRIMARY(page.tree)):
        if not has_digit(text_of(element)):
            continue
        if _inside(element, "x-bid-price"):
            bid = bid if bid is not None else element
        elif buy_now is None:
            buy_now = element
    if buy_now is not None:
        return _Offer(buy_now, auction=False, buy_now_and_bid=bid is not None)
    return _Offer(bid, auction=True) if bid is not None else None


def _inside(element: HtmlElement, class_name: str) -> bool:
    """True when a close ancestor (the price block) carries `class_name`."""
    for depth, ancestor in enumerate(element.iterancestors()):
        if depth > 5:
            return False
        if has_class(ancestor, class_name):
            return True
    return False


def _text_currency(text: str, parsed: str | None, page: Page) -> str | None:
    """An ISO code or eBay prefix in the text, the parser's reading, then the site currency."""
    if match := _ISO_IN_TEXT.search(text):
        return match.group(0)
    for prefix, currency in _PREFIXES:
        if prefix in text:
            return currency
    if parsed:
        return parsed
    match = _HOST.fullmatch(page.host)
    return _SITE_CURRENCY.get(match.group(1)) if match else None


def _converted_price(found: dict[str, HtmlElement], page: Page) -> _Amount | None:
    """eBay's conversion into the site currency ('EUR 7,93'), when it shows one."""
    texts = []
    for key in _CONVERTED_IDS:
        if (element := found.get(key)) is not None:
            # Only the element's own text: a child span says '(including shipping)'.
            texts.append(" ".join((element.text or "").split()))
    if _current(found, page, "x-price-approx"):
        texts.extend(
            text_of(element) for element in cast(list[HtmlElement], _PRICE_APPROX(page.tree))
        )
    for text in texts:
        if has_digit(text) and (parsed := read_price(text, page)).amount is not None:
            return _Amount(parsed.amount, _text_currency(text, parsed.currency, page), text)
    return None


def _reference(found: dict[str, HtmlElement], page: Page) -> str | None:
    """The item number: from the canonical/og/page URL, then as printed on the page."""
    for url in (canonical_url(page), page.meta.get("og:url"), page.url):
        if match := _ITEM_IN_URL.search(url or ""):
            return match.group(1)
    printed = [found.get("descItemNumber")]
    if _current(found, page, "textual-display--itemId"):
        printed.extend(cast(list[HtmlElement], _ITEM_ID_SECTION(page.tree)))
    for element in printed:
        if _ITEM_NUMBER.fullmatch(number := text_of(element)):
            return number
    return None


def _availability(found: dict[str, HtmlElement], page: Page) -> Availability | None:
    """Ended or sold-out messages, then the quantity line, then the buy buttons."""
    messages = [text_of(found.get(key)) for key in _STATUS_IDS]
    if _current(found, page, "d-statusmessage") or _current(
        found, page, "x-quantity__availability"
    ):
        messages.extend(text_of(el) for el in cast(list[HtmlElement], _STATUS_BLOCKS(page.tree)))
    lowered = " | ".join(message for message in messages if message).lower()
    if any(phrase in lowered for phrase in _ENDED):
        return Availability.OUT_OF_STOCK
    if any(phrase in lowered for phrase in _AVAILABLE):
        return Availability.IN_STOCK
    if any(key in found for key in _BUY_BUTTONS):
        return Availability.IN_STOCK
    return None


def _shipping(found: dict[str, HtmlElement], page: Page, *, currency: str | None) -> Decimal | None:
    """The first shipping cost shown in the price's currency: 'FREE' is 0, else the amount."""
    texts = [text_of(found.get("fshippingCost"))]
    if _current(found, page, "ux-labels-values--shipping"):
        texts.extend(text_of(el) for el in cast(list[HtmlElement], _SHIPPING_VALUES(page.tree)))
    for text in texts:
        if _FREE.match(text):
            return Decimal(0)
        # 'GBP 9,99 (circa EUR 11,24)': the part in the price's currency counts.
        for part in (text, *_PARENTHESES.findall(text)):
            parsed = read_price(part, page) if has_digit(part) else None
            if (
                parsed is not None
                and parsed.amount is not None
                and (_text_currency(part, parsed.currency, page) == currency)
            ):
                return parsed.amount
    return None


def _specs(found: dict[str, HtmlElement], page: Page) -> dict[str, str]:
    """'Item specifics': classic label cells or current `.ux-labels-values` pairs."""
    specs: dict[str, str] = {}
    section = found.get("viTabs_0_is")
    if section is not None:
        for label in cast(list[HtmlElement], _ATTRIBUTE_LABELS(section)):
            value = label.getnext()
            if value is not None:
                add_spec(specs, text_of(label), _attribute_value(value))
    root = section if section is not None else page.tree
    if _current(found, page, "ux-labels-values__labels"):
        for label in cast(list[HtmlElement], _LABELS(root)):
            value = label.getnext()
            if value is not None and "ux-labels-values__values" in (value.get("class") or ""):
                add_spec(specs, text_of(label), text_of(value))
    return specs


def _attribute_value(cell: HtmlElement) -> str:
    """A classic item-specifics value; for the condition, its name without the long help."""
    condition = cell.find(".//div[@aria-live]")
    if condition is not None and (name := " ".join((condition.text or "").split())):
        return name
    return text_of(cell)


def _brand(specs: dict[str, str]) -> str | None:
    """The 'Brand' item specific, unless it says the item has none ('Unbranded')."""
    for key, value in specs.items():
        if key.lower() in _BRAND_KEYS and value.lower() not in _NO_BRAND:
            return value
    return None


def _category(found: dict[str, HtmlElement], page: Page) -> str | None:
    """The first breadcrumb trail (eBay lists one per category the item is in)."""
    links: list[HtmlElement] = []
    if (crumbs := found.get("vi-VR-brumb-lnkLst")) is not None:
        # Only the schema.org items: the trail ends with a 'See more' link to a product page.
        links = cast(list[HtmlElement], _FIRST_TRAIL(crumbs))
    elif _current(found, page, "breadcrumbs"):
        links = cast(list[HtmlElement], _BREADCRUMB_LINKS(page.tree))
    names = [spec_text(text_of(link)) for link in links]
    # The current layout starts the trail with a link back to eBay's home page.
    trail = [name for name in names if name and name.lower() != "ebay"]
    return " > ".join(trail) or None


def _images(found: dict[str, HtmlElement], page: Page) -> list[str]:
    """The main listing image (`#icImg`, or the first carousel image)."""
    images = [found["icImg"]] if "icImg" in found else []
    if not images and _current(found, page, "ux-image-carousel-item"):
        images = cast(list[HtmlElement], _CAROUSEL_IMAGES(page.tree))[:1]
    for image in images:
        url = image.get("data-zoom-src") or image.get("src") or image.get("data-src")
        if url and not url.startswith("data:"):
            return [urljoin(page.url, url.strip())]
    return []


adapter = EbayAdapter()
