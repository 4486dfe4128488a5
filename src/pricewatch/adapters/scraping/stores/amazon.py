"""Amazon product pages: every Amazon country site, and Amazon-like pages on other hosts.

Everything is read from the product's own blocks, looked up by id in one pass over the
document: the buy box for the price (never carousels, sponsored blocks or other sellers'
offers, and never the struck-through list price), `#availability` and the buy buttons for
the stock state, `input#ASIN` for the reference.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from html import unescape
from typing import cast
from urllib.parse import urljoin

from lxml import etree
from lxml.html import HtmlElement

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.page import Page, elements_by_id
from pricewatch.adapters.scraping.price import ParsedPrice
from pricewatch.adapters.scraping.stores._dom import (
    add_spec,
    canonical_url,
    clean_title,
    has_class,
    has_digit,
    index_ids,
    iso_code,
    read_price,
    text_of,
)
from pricewatch.domain.snapshot import Availability

_HOST = re.compile(r"(?:(?:smile|m)\.)?amazon\.((?:com?\.)?[a-z]{2,3})")
# Each marketplace sells in one currency; a bare "$" on amazon.com.au is AUD, not USD.
_MARKETPLACE_CURRENCY = {
    "com": "USD", "ca": "CAD", "com.mx": "MXN", "com.br": "BRL", "co.uk": "GBP",
    "de": "EUR", "fr": "EUR", "it": "EUR", "es": "EUR", "nl": "EUR", "com.be": "EUR",
    "ie": "EUR", "at": "EUR", "se": "SEK", "pl": "PLN", "com.tr": "TRY", "ae": "AED",
    "sa": "SAR", "eg": "EGP", "in": "INR", "co.jp": "JPY", "com.au": "AUD", "sg": "SGD",
    "cn": "CNY", "co.za": "ZAR",
}  # fmt: skip
# Markup test for Amazon-like pages elsewhere: the title id plus one buy-box id.
_MARKUP_BUY_BOX_IDS = (
    "ASIN",
    "add-to-cart-button",
    "corePrice_feature_div",
    "corePriceDisplay_desktop_feature_div",
    "priceblock_ourprice",
)
_MARKUP_IDS = frozenset({"productTitle", *_MARKUP_BUY_BOX_IDS})

# Blocks that hold the current buy-box price, most specific first.
_PRICE_BOXES = (
    "corePriceDisplay_desktop_feature_div",
    "corePrice_feature_div",
    "corePrice_desktop",
    "apex_desktop",
)
_LEGACY_PRICES = (
    "price_inside_buybox",
    "newBuyBoxPrice",
    "priceblock_dealprice",
    "priceblock_saleprice",
    "priceblock_ourprice",
    "kindle-price",
)
_SHIPPING_MESSAGES = (
    "price-shipping-message",
    "dealprice_shippingmessage",
    "saleprice_shippingmessage",
    "ourprice_shippingmessage",
)
_DELIVERY_BLOCK = "mir-layout-DELIVERY_BLOCK-slot-PRIMARY_DELIVERY_MESSAGE_LARGE"
_SPEC_TABLES = (
    "productDetails_techSpec_section_1",
    "productDetails_techSpec_section_2",
    "productDetails_detailBullets_sections1",
    "technicalSpecifications_section_1",
    "prodDetails",
)
_SPEC_BULLETS = ("detailBullets_feature_div", "detail_bullets_id", "productDetailsTable")
_IMAGES = ("landingImage", "imgBlkFront", "ebooksImgBlkFront", "main-image")
_ASIN_HOLDERS = (
    ("averageCustomerReviews", "data-asin"),
    ("all-offers-display-params", "data-asin"),
    ("apex_desktop", "data-csa-c-asin"),
    ("amsDetailRight", "data-detailpageasin"),
)
_BUY_BUTTONS = (
    "add-to-cart-button",
    "buy-now-button",
    "one-click-button",
    "add-to-cart-button-ubb",
)
_IDS = frozenset(
    {
        "productTitle", "ebooksProductTitle", "title", "ASIN", "availability", "outOfStock",
        "bylineInfo", "imgTagWrapperId", "wayfinding-breadcrumbs_feature_div", "price",
        "wayfinding-breadcrumbs_container",
        "buybox", "buyNewSection", "usedBuySection", "unqualifiedBuyBox", _DELIVERY_BLOCK,
        *_PRICE_BOXES, *_LEGACY_PRICES, *_SHIPPING_MESSAGES, *_SPEC_TABLES, *_SPEC_BULLETS,
        *_IMAGES, *(key for key, _ in _ASIN_HOLDERS), *_BUY_BUTTONS,
    }
)  # fmt: skip

_A_PRICES = etree.XPath('.//span[contains(concat(" ", normalize-space(@class), " "), " a-price ")]')
_ROWS = etree.XPath(".//tr")
_ITEMS = etree.XPath(".//li")
_LINKS = etree.XPath(".//a")
_FIRST_IMAGE = etree.XPath(".//img[1]")
_KINDLE_ROW_PRICE = etree.XPath(
    './/*[contains(@class, "kindle-price")]//*[contains(@class, "a-color-price")]'
)
_OFFER_PRICE = etree.XPath('.//*[contains(@class, "offer-price")]')
_COLOR_PRICE = etree.XPath('.//*[contains(@class, "a-color-price")]')
_DELIVERY_PRICE = etree.XPath(".//*[@data-csa-c-delivery-price]")

_ASIN = re.compile(r"[A-Z0-9]{10}")
_ASIN_IN_URL = re.compile(r"/(?:dp|gp/product|gp/aw/d|o/ASIN)/([A-Za-z0-9]{10})(?=[/?#&]|$)")
_RANGE_SPLIT = re.compile(r"\s[-–]\s")
# "£ 34 99": whole and fraction in separate superscript spans, no decimal mark at all.
_SUPERSCRIPT = re.compile(r"(\D*?)\s*(\d{1,3}(?:[\s.,]\d{3})*|\d+)\s+(\d{2})\s*(\D*)")

# Stock phrases by language. Out-of-stock and pre-order phrases are tested first because
# many of them contain an in-stock phrase ("non disponibile" contains "disponibile").
_OUT_OF_STOCK = (
    "currently unavailable", "temporarily unavailable", "out of stock",
    "actuellement indisponible", "rupture de stock", "indisponible",
    "nicht verfügbar", "nicht auf lager", "non disponibile", "no disponible", "sin stock",
    "agotado", "niet beschikbaar", "niet leverbaar", "niet verkrijgbaar", "niet op voorraad",
    "uitverkocht",
    "stokta yok", "mevcut değil", "indisponível", "não disponível", "esgotado",
    "niedostępny", "brak w magazynie", "inte i lager", "inte tillgänglig", "tillfälligt slut",
    "在庫切れ", "お取り扱いできません", "غير متوفر",
)  # fmt: skip
_PREORDER = (
    "pre-order", "preorder", "précommande", "pré-commande", "vorbestellbar", "vorbestellen",
    "preordina", "prenota", "preventa", "pre-venta", "reserva", "pre-bestel",
    "vooruit", "resérval", "ön sipariş", "pré-venda", "pré-encomenda", "przedsprzedaż",
    "förbeställ", "予約", "will be released on",
)  # fmt: skip
_IN_STOCK = (
    "in stock", "left in stock", "en stock", "auf lager", "disponibilità immediata",
    "disponibile", "disponible", "op voorraad", "stokta", "em estoque", "dostępny",
    "na stanie", "i lager", "在庫あり", "متوفر", "usually dispatched", "usually ships",
    "available to ship", "available from these sellers", "erhältlich bei diesen anbietern",
    "versandfertig", "expédié sous", "si spedisce", "envío en", "verzonden binnen",
)  # fmt: skip

_BYLINE_BRAND = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"visit the (.+?) store",
        r"(?:brand|marque|marke|marca|merk|marka|märke|varumärke|marchio|ブランド)\s*:\s*(.+)",
        r"visite[rz] la boutique (?:de )?(.+)",
        r"besuchen? (?:sie )?den (.+?)-store",
        r"visita la tienda de (.+)",
        r"visita lo store di (.+)",
        r"(?:bezoek|ga naar) de (.+?)-(?:winkel|store)",
        r"(.+?) (?:mağazasını|store'u) ziyaret edin",
        r"visite a loja (?:da |de |do )?(.+)",
        r"odwiedź sklep (.+)",
        r"besök (.+?)-butiken",
        r"(.+?)のストアを表示",
    )
)
_BY = re.compile(r"by (.+)", re.IGNORECASE)
_BRAND_KEYS = frozenset(
    {"brand", "brand name", "marque", "marke", "marca", "merk", "marka", "märke", "marchio",
     "varumärke", "ブランド"}
)  # fmt: skip
_FREE = re.compile(
    r"\b(?:free|gratis|gratuit[ae]?|kostenlose?|gratuita|bedava|grátis|darmowa|fri)\b", re.I
)
# Free delivery only above an order value (or for some sellers) says nothing about this item.
_CONDITIONAL = re.compile(
    r"\b(?:over|above|ab|dès|à partir|a partir|desde|vanaf|üzeri|eligible|qualifying|"
    r"on orders|für bestellungen|per ordini|en pedidos|minimum|acima)\b",
    re.I,
)
_PAID_SHIPPING = re.compile(
    r"\+\s*(.{1,20}?)\s*(?:shipping|delivery|versand|livraison|envío|spedizione|verzending|"
    r"kargo|frete|dostawa|frakt)",
    re.I,
)


@dataclass
class _Price:
    """A buy-box price text, where it came from and anything odd about it."""

    text: str
    notes: list[str] = field(default_factory=list)
    decimal_separator: str | None = None


class AmazonAdapter:
    """Reads Amazon product pages (all country sites, classic and current layouts)."""

    name = "amazon"

    def matches(self, page: Page) -> bool:
        """Amazon hosts, or a page carrying Amazon's product-page ids (checked cheaply)."""
        if _HOST.fullmatch(page.host):
            return True
        # Looked up in the parser's ID table: no scan of the page text or the tree.
        found = elements_by_id(page.tree, _MARKUP_IDS)
        return "productTitle" in found and any(name in found for name in _MARKUP_BUY_BOX_IDS)

    def parse(self, page: Page) -> Fields:
        """Read the product blocks; a captcha or error page (no title, no price) gives nothing."""
        found = index_ids(page.tree, _IDS)
        fields = Fields(title=_title(found))
        _fill_price(fields, found, page)
        if fields.title is None and fields.price is None:
            return Fields()
        specs = _specs(found)
        fields.reference = _reference(found, page)
        fields.brand = _brand(found, specs)
        fields.category = _category(found)
        fields.images = _images(found, page)
        fields.specs = specs
        fields.availability = _availability(found)
        fields.shipping_cost = _shipping(found, page)
        return fields


def _fill_price(fields: Fields, found: dict[str, HtmlElement], page: Page) -> None:
    """Set price and currency from the buy box, with notes when the price is unusual."""
    price = _buy_box_price(found)
    if price is None:
        return
    parsed = read_price(price.text, page, decimal_separator=price.decimal_separator)
    if parsed.amount is None:
        return
    fields.price = parsed.amount
    fields.currency = _currency(parsed, page)
    fields.notes.extend(price.notes)


def _buy_box_price(found: dict[str, HtmlElement]) -> _Price | None:
    """The price shown in the buy box, trying current, classic, book and fallback layouts."""
    for reader in (_core_price, _legacy_price, _book_price, _unqualified_price):
        if (price := reader(found)) is not None:
            return _with_range_note(price)
    return None


def _core_price(found: dict[str, HtmlElement]) -> _Price | None:
    """Current layout: the `.a-price` to pay inside the core price blocks."""
    boxes = [found[key] for key in _PRICE_BOXES if key in found]
    candidates = [span for box in boxes for span in cast(list[HtmlElement], _A_PRICES(box))]
    to_pay = [span for span in candidates if _is_price_to_pay(span)]
    plain = [span for span in candidates if _is_plain_price(span)]
    for span in to_pay + plain:
        if text := _a_price_text(span):
            return _Price(text)
    return None


def _is_price_to_pay(span: HtmlElement) -> bool:
    """True for the `.a-price` Amazon marks as the price to pay."""
    if span.get("data-a-strike") == "true":
        return False
    return has_class(span, "priceToPay") or has_class(span, "apexPriceToPay")


def _is_plain_price(span: HtmlElement) -> bool:
    """True for an `.a-price` that is neither struck through nor a small list/unit price."""
    return span.get("data-a-strike") != "true" and not has_class(span, "a-text-price")


def _a_price_text(span: HtmlElement) -> str | None:
    """The text of one `.a-price`, or of a whole range when it is part of one."""
    parent = span.getparent()
    if parent is not None and has_class(parent, "a-price-range"):
        parts = [_single_a_price(s) for s in cast(list[HtmlElement], _A_PRICES(parent))]
        return " - ".join(part for part in parts if part) or None
    return _single_a_price(span)


def _single_a_price(span: HtmlElement) -> str | None:
    """Screen-reader text of an `.a-price`, else its visible symbol/whole/fraction parts."""
    visible = None
    for child in span:
        if has_class(child, "a-offscreen") and has_digit(text := text_of(child)):
            return text
        if child.get("aria-hidden") == "true":
            visible = text_of(child)
    text = visible or text_of(span)
    return text if has_digit(text) else None


def _legacy_price(found: dict[str, HtmlElement]) -> _Price | None:
    """Classic layout: `#priceblock_*`, `#price_inside_buybox`, `#kindle-price`."""
    for key in _LEGACY_PRICES:
        element = found.get(key)
        if element is None or has_class(element, "a-text-strike"):
            continue
        if has_digit(text := text_of(element)):
            return _superscript(text) or _Price(text)
    return None


def _superscript(text: str) -> _Price | None:
    """'£ 34 99' (whole and fraction in separate spans) as '£34.99', else None."""
    if "." in text or "," in text or not (match := _SUPERSCRIPT.fullmatch(text)):
        return None
    before, whole, fraction, after = match.groups()
    digits = re.sub(r"\D", "", whole)
    return _Price(f"{before}{digits}.{fraction}{after}", decimal_separator=".")


def _book_price(found: dict[str, HtmlElement]) -> _Price | None:
    """Books and Kindle: `span#price`, the Kindle row or the new offer's `.offer-price`."""
    price = found.get("price")
    if price is not None and price.tag == "span" and has_digit(text := text_of(price)):
        return _Price(text)
    used = found.get("usedBuySection")
    for box in (found.get("buyNewSection"), found.get("buybox")):
        for element in _offer_prices(box):
            if used is None or not _is_within(element, used):
                return _Price(_own_text(element))
    for element in _offer_prices(used):
        note = "amazon: the buy box only offers a used copy; its price is taken"
        return _Price(_own_text(element), notes=[note])
    return None


def _offer_prices(box: HtmlElement | None) -> list[HtmlElement]:
    """Kindle-row and `.offer-price` elements of a buy box that show an amount."""
    if box is None:
        return []
    found = [
        *cast(list[HtmlElement], _KINDLE_ROW_PRICE(box)),
        *cast(list[HtmlElement], _OFFER_PRICE(box)),
    ]
    return [element for element in found if has_digit(_own_text(element))]


def _is_within(element: HtmlElement, container: HtmlElement) -> bool:
    """True when `container` is one of `element`'s ancestors."""
    return any(ancestor is container for ancestor in element.iterancestors())


def _unqualified_price(found: dict[str, HtmlElement]) -> _Price | None:
    """No buy box: the price in 'Available from these sellers' / '1 new from $179.00'."""
    box = found.get("unqualifiedBuyBox")
    if box is None:
        return None
    for element in cast(list[HtmlElement], _COLOR_PRICE(box)):
        if has_digit(text := text_of(element)):
            return _Price(text, notes=["amazon: no buy box; price of the offer listed instead"])
    return None


def _with_range_note(price: _Price) -> _Price:
    """For 'low - high' ranges (no variant selected) keep the low end and say so."""
    parts = _RANGE_SPLIT.split(price.text)
    if len(parts) == 2 and all(has_digit(part) for part in parts):
        note = f"amazon: price range {parts[0]} - {parts[1]} (no variant chosen); lowest taken"
        return _Price(parts[0], [*price.notes, note], price.decimal_separator)
    return price


def _own_text(element: HtmlElement) -> str:
    """Text of an element without its block-level children (drops 'Save 44%' lines)."""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str) and child.tag in ("span", "sup", "b", "strong"):
            parts.append(text_of(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _currency(parsed: ParsedPrice, page: Page) -> str | None:
    """The symbol's currency, except that a bare '$' means the marketplace's dollar."""
    if explicit := iso_code(parsed.currency_raw):
        return explicit
    market = _marketplace_currency(page)
    if market is None:
        return parsed.currency
    if parsed.currency is None or (parsed.currency_raw or "").strip() == "$":
        return market
    return parsed.currency


def _marketplace_currency(page: Page) -> str | None:
    """The currency the Amazon site on this host sells in."""
    match = _HOST.fullmatch(page.host)
    return _MARKETPLACE_CURRENCY.get(match.group(1)) if match else None


def _title(found: dict[str, HtmlElement]) -> str | None:
    """`#productTitle` (or the e-book / heading variants)."""
    for key in ("productTitle", "ebooksProductTitle", "title"):
        element = found.get(key)
        if element is None:
            continue
        text = unescape(element.get("value") or "") if element.tag == "input" else text_of(element)
        if title := clean_title(text):
            return title
    return None


def _reference(found: dict[str, HtmlElement], page: Page) -> str | None:
    """The ASIN: `input#ASIN`, then the canonical or page URL, then `data-asin` holders."""
    asin_input = found.get("ASIN")
    candidates: list[str | None] = [asin_input.get("value") if asin_input is not None else None]
    for url in (canonical_url(page), page.url):
        match = _ASIN_IN_URL.search(url or "")
        candidates.append(match.group(1) if match else None)
    for key, attribute in _ASIN_HOLDERS:
        holder = found.get(key)
        candidates.append(holder.get(attribute) if holder is not None else None)
    for candidate in candidates:
        if candidate and _ASIN.fullmatch(asin := candidate.strip().upper()):
            return asin
    return None


def _availability(found: dict[str, HtmlElement]) -> Availability | None:
    """From `#availability` text, then `#outOfStock`, then the buy buttons."""
    if state := _stock_from_text(text_of(found.get("availability"))):
        return state
    if "outOfStock" in found:
        return Availability.OUT_OF_STOCK
    for key in _BUY_BUTTONS:
        if (button := found.get(key)) is not None:
            label = f"{button.get('title') or ''} {button.get('value') or ''}".lower()
            return Availability.PREORDER if _contains(label, _PREORDER) else Availability.IN_STOCK
    return None


def _stock_from_text(text: str) -> Availability | None:
    """The stock state an Amazon availability message states, in any of its languages."""
    lowered = text.lower()
    if not lowered:
        return None
    if _contains(lowered, _OUT_OF_STOCK):
        return Availability.OUT_OF_STOCK
    if _contains(lowered, _PREORDER):
        return Availability.PREORDER
    if _contains(lowered, _IN_STOCK) or re.search(r"\bonly \d+ left\b", lowered):
        return Availability.IN_STOCK
    return None


def _contains(text: str, phrases: tuple[str, ...]) -> bool:
    """True when any phrase occurs in `text`."""
    return any(phrase in text for phrase in phrases)


def _brand(found: dict[str, HtmlElement], specs: dict[str, str]) -> str | None:
    """A 'Brand' row of the details, then the byline ('Visit the X Store', 'Brand: X')."""
    # The byline can name a storefront ("Amazon Renewed") rather than the maker.
    for key, value in specs.items():
        if key.lower() in _BRAND_KEYS:
            return value
    byline = found.get("bylineInfo")
    text = text_of(byline)
    if byline is None or not text:
        return None
    for pattern in _BYLINE_BRAND:
        if match := pattern.fullmatch(text):
            return match.group(1).strip() or None
    # Books put authors in a <div> byline; only the link form names a brand.
    if byline.tag == "a":
        return match.group(1) if (match := _BY.fullmatch(text)) else text
    return None


def _category(found: dict[str, HtmlElement]) -> str | None:
    """The breadcrumb trail above the product, joined with ' > '."""
    crumbs = found.get("wayfinding-breadcrumbs_feature_div")
    if crumbs is None:
        crumbs = found.get("wayfinding-breadcrumbs_container")
    if crumbs is None:
        return None
    names = [text_of(link) for link in cast(list[HtmlElement], _LINKS(crumbs))]
    return " > ".join(name for name in names if name) or None


def _images(found: dict[str, HtmlElement], page: Page) -> list[str]:
    """The main product image, in its largest size."""
    images = [found[key] for key in _IMAGES if key in found]
    if (wrapper := found.get("imgTagWrapperId")) is not None:
        images.extend(cast(list[HtmlElement], _FIRST_IMAGE(wrapper)))
    for image in images:
        if url := _image_url(image):
            return [urljoin(page.url, url)]
    return []


def _image_url(image: HtmlElement) -> str | None:
    """`data-old-hires`, the largest `data-a-dynamic-image` entry, or a non-inline `src`."""
    if hires := (image.get("data-old-hires") or "").strip():
        return hires
    if largest := _largest_dynamic_image(image.get("data-a-dynamic-image")):
        return largest
    src = (image.get("src") or "").strip()
    return src if src and not src.startswith("data:") else None


def _largest_dynamic_image(raw: str | None) -> str | None:
    """The URL with the most pixels in a `{"url": [width, height], ...}` attribute."""
    try:
        sizes = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(sizes, dict) or not sizes:
        return None

    def area(item: tuple[str, object]) -> int:
        size = item[1]
        if isinstance(size, list) and len(size) == 2 and all(isinstance(n, int) for n in size):
            return int(size[0]) * int(size[1])
        return 0

    return str(max(sizes.items(), key=area)[0])


def _specs(found: dict[str, HtmlElement]) -> dict[str, str]:
    """Label/value rows of the technical details and product information blocks."""
    specs: dict[str, str] = {}
    for key in _SPEC_TABLES:
        if (table := found.get(key)) is not None:
            _read_rows(table, specs)
    for key in _SPEC_BULLETS:
        if (bullets := found.get(key)) is not None:
            _read_bullets(bullets, specs)
    return specs


def _read_rows(table: HtmlElement, specs: dict[str, str]) -> None:
    """`<tr><th>label</th><td>value</td></tr>` rows."""
    for row in cast(list[HtmlElement], _ROWS(table)):
        cells = [cell for cell in row if cell.tag in ("th", "td")]
        if len(cells) == 2:
            _add_short(specs, text_of(cells[0]), text_of(cells[1]))


def _read_bullets(bullets: HtmlElement, specs: dict[str, str]) -> None:
    """`<li><span class="a-text-bold">Label :</span> <span>value</span></li>` items."""
    for item in cast(list[HtmlElement], _ITEMS(bullets)):
        label = next(
            (el for el in item.iter("span", "b") if el.tag == "b" or has_class(el, "a-text-bold")),
            None,
        )
        if label is None:
            continue
        key, whole = text_of(label), text_of(item)
        if key and whole.startswith(key):
            _add_short(specs, key, whole[len(key) :])


def _add_short(specs: dict[str, str], key: str, value: str) -> None:
    """Add a row unless the value is a paragraph (reviews and ranks are not specifications)."""
    if len(value) <= 200:
        add_spec(specs, key, value)


def _shipping(found: dict[str, HtmlElement], page: Page) -> Decimal | None:
    """Delivery cost when the page states one for this item: 'FREE Delivery' is 0."""
    block = found.get(_DELIVERY_BLOCK)
    if block is not None:
        for element in cast(list[HtmlElement], _DELIVERY_PRICE(block))[:1]:
            if element.get("data-csa-c-delivery-condition"):
                return None
            return _shipping_from_text(element.get("data-csa-c-delivery-price") or "", page)
    for key in _SHIPPING_MESSAGES:
        if text := text_of(found.get(key)):
            return _shipping_from_text(text, page)
    return None


def _shipping_from_text(text: str, page: Page) -> Decimal | None:
    """0 for unconditional free delivery, the amount for '+ $5.99 delivery' or a bare price."""
    if _FREE.search(text):
        return None if _CONDITIONAL.search(text) else Decimal(0)
    if match := _PAID_SHIPPING.search(text):
        return read_price(match.group(1), page).amount
    if has_digit(text) and len(text) <= 20:
        return read_price(text, page).amount
    return None


adapter = AmazonAdapter()
