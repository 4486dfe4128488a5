"""Amounts and currencies read with the page's locale (language and host)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, cast

from pricewatch.adapters.scraping.page import Page
from pricewatch.adapters.scraping.price import ParsedPrice, parse_price

# Structured data (schema.org, product:price:amount) uses a dot as decimal separator; a lone
# comma with one or two digits after it is a decimal comma written by a European shop.
_PLAIN_DOT = re.compile(r"^\d+(?:\.\d+)?$")
_PLAIN_COMMA = re.compile(r"^\d+,\d{1,2}$")
_ISO_CODE = re.compile(r"^[A-Z]{3}$")
# Prices larger than this are a product number or a timestamp, not money.
_MAX_AMOUNT = Decimal(10) ** 10

CurrencyFor = Callable[..., str | None]


def structured_amount(value: Any, *, page: Page, currency: str | None = None) -> Decimal | None:
    """A positive amount from a structured-data value: a number or a string like '1,226.50'."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return _positive(Decimal(value))
    if isinstance(value, float):
        return _positive(Decimal(str(value)))
    if isinstance(value, list):
        return structured_amount(value[0], page=page, currency=currency) if value else None
    if not isinstance(value, str):
        return None
    text = value.strip().replace("\u00a0", " ")
    if _PLAIN_DOT.match(text):
        return _positive(Decimal(text))
    if _PLAIN_COMMA.match(text):
        return _positive(Decimal(text.replace(",", ".")))
    return text_price(text, page=page, currency=currency).amount


def text_price(text: str, *, page: Page, currency: str | None = None) -> ParsedPrice:
    """A price read from visible text such as '1.226,50 €', using the page's locale."""
    try:
        parsed = parse_price(
            text[:200], currency_hint=currency, language=page.language, domain=page.host
        )
    except (ValueError, ArithmeticError):
        return ParsedPrice(amount=None, currency=None)
    return ParsedPrice(
        amount=_positive(parsed.amount) if parsed.amount is not None else None,
        currency=parsed.currency,
        currency_raw=parsed.currency_raw,
    )


def iso_currency(value: Any) -> str | None:
    """An ISO 4217 code from a structured-data currency value, or None."""
    if isinstance(value, str) and _ISO_CODE.match(code := value.strip().upper()):
        return code
    return None


def default_currency(page: Page) -> str | None:
    """The currency a shop on this host and language most likely uses."""
    currency_for = _currency_for()
    if currency_for is None:
        return None
    try:
        return currency_for(domain=page.host, language=page.language)
    except (ValueError, LookupError):
        return None


@cache
def _currency_for() -> CurrencyFor | None:
    """`currency.currency_for` when that module is installed (it is written separately)."""
    try:
        module = importlib.import_module("pricewatch.adapters.scraping.currency")
    except ImportError:
        return None
    return cast(CurrencyFor | None, getattr(module, "currency_for", None))


def _positive(amount: Decimal) -> Decimal | None:
    """`amount` when it can be a price (finite, above zero, not absurdly large)."""
    try:
        if not amount.is_finite() or amount <= 0 or amount >= _MAX_AMOUNT:
            return None
    except InvalidOperation:
        return None
    return amount
