"""Reading price strings into exact decimals and ISO 4217 currencies."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from price_parser import Price


@dataclass(frozen=True)
class ParsedPrice:
    """An amount and currency read from text; either may be missing."""

    amount: Decimal | None
    currency: str | None
    currency_raw: str | None = None


def parse_price(
    text: str,
    *,
    currency_hint: str | None = None,
    language: str | None = None,
    domain: str | None = None,
    decimal_separator: str | None = None,
) -> ParsedPrice:
    """Read `text` such as '1.226,50 €' or 'CHF 1'226.50' into a `ParsedPrice`."""
    parsed = Price.fromstring(text, currency_hint=currency_hint, decimal_separator=decimal_separator)
    return ParsedPrice(amount=parsed.amount, currency=None, currency_raw=parsed.currency)
