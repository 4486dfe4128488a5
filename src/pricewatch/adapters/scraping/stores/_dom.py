"""DOM and text helpers shared by the store adapters (one pass per page, no repeated scans)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import cast

from lxml import etree
from lxml.html import HtmlElement

from pricewatch.adapters.scraping.page import Page, elements_by_id
from pricewatch.adapters.scraping.price import ParsedPrice, parse_price

# Text inside scripts and styles is never what a shopper reads.
_VISIBLE_TEXT = etree.XPath(
    "descendant::text()[not(ancestor::script or ancestor::style or ancestor::noscript)]",
    smart_strings=False,
)
_TRADEMARK_BETWEEN_WORDS = re.compile(r"(?<=\w)[™®©](?=\w)")
_TRADEMARK = re.compile(r"[™®©]")
_ISO_CODE = re.compile(r"[A-Z]{3}")
_PLAIN_DECIMAL = re.compile(r"\d+(?:\.\d+)?")
_DIGIT = re.compile(r"\d")
# Direction marks and byte-order marks Amazon puts around labels ("Brand\u200f : \u200e").
_INVISIBLE = re.compile("[\u200e\u200f\ufeff\u200b]")


def index_ids(tree: HtmlElement, wanted: frozenset[str]) -> dict[str, HtmlElement]:
    """The first element carrying each wanted id (looked up in the parser's ID table)."""
    return elements_by_id(tree, wanted)


def text_of(element: HtmlElement | None) -> str:
    """Whitespace-normalised visible text of `element` ('' for None); scripts are skipped."""
    if element is None:
        return ""
    return " ".join("".join(cast(list[str], _VISIBLE_TEXT(element))).split())


def has_class(element: HtmlElement, name: str) -> bool:
    """True when `name` is one of the element's class tokens."""
    return name in (element.get("class") or "").split()


def clean_title(text: str | None) -> str | None:
    """A product title without trademark signs and with single spaces."""
    if not text:
        return None
    text = _TRADEMARK.sub("", _TRADEMARK_BETWEEN_WORDS.sub(" ", text))
    return " ".join(text.split()) or None


def has_digit(text: str | None) -> bool:
    """True when `text` contains a digit (a price text without one cannot hold an amount)."""
    return bool(text and _DIGIT.search(text))


def read_price(text: str, page: Page, *, decimal_separator: str | None = None) -> ParsedPrice:
    """Parse a price text with the page's language and domain as hints (never raises)."""
    try:
        parsed = parse_price(
            text[:200],
            language=page.language,
            domain=page.host,
            decimal_separator=decimal_separator,
        )
    except (ValueError, ArithmeticError):
        return ParsedPrice(amount=None, currency=None)
    amount = positive(parsed.amount)
    return ParsedPrice(amount=amount, currency=parsed.currency, currency_raw=parsed.currency_raw)


def positive(amount: Decimal | None) -> Decimal | None:
    """`amount` when it is a usable price (finite and above zero), else None."""
    if amount is None or not amount.is_finite() or amount <= 0:
        return None
    return amount


def plain_decimal(value: str | None) -> Decimal | None:
    """A machine-readable amount such as '379.99' (from a `content` attribute), else None."""
    if not value or not _PLAIN_DECIMAL.fullmatch(value.strip()):
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        return None


def settled_amount(content: str | None, parsed: Decimal | None) -> Decimal | None:
    """The amount from a price element: its text's reading, unless `content` says otherwise.

    The text keeps the cents the shop shows ('29.90'); a machine-readable `content`
    attribute ('29.9') settles any disagreement (an ambiguous '1,299' for instance).
    """
    machine = plain_decimal(content)
    return machine if machine is not None and machine != parsed else parsed


def iso_code(raw: str | None) -> str | None:
    """`raw` when it is already a three-letter ISO 4217 code such as 'EUR'."""
    if raw and _ISO_CODE.fullmatch(raw.strip()):
        return raw.strip()
    return None


def canonical_url(page: Page) -> str | None:
    """The page's `<link rel="canonical">` target (looked up in <head> only)."""
    head = page.tree.find("head")
    if head is None:
        return None
    for link in head.iterfind("link"):
        href = link.get("href")
        if (link.get("rel") or "").strip().lower() == "canonical" and href:
            return str(href)
    return None


def json_ld_sku(page: Page) -> str | None:
    """The `sku` of the page's JSON-LD Product, as the shop wrote it."""
    for item in page.json_ld:
        kind = item.get("@type")
        if kind == "Product" or (isinstance(kind, list) and "Product" in kind):
            sku = str(item.get("sku") or "").strip()
            if sku:
                return sku
    return None


def spec_text(text: str) -> str:
    """A specification label or value without invisible marks, edge colons or extra spaces."""
    return " ".join(_INVISIBLE.sub("", text).split()).strip(" :")


def add_spec(specs: dict[str, str], key: str, value: str) -> None:
    """Record one specification row when both parts are present (first label wins)."""
    key, value = spec_text(key), spec_text(value)
    if key and value:
        specs.setdefault(key, value)
