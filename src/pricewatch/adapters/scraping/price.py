"""Reading price strings into exact decimals and ISO 4217 currencies.

`parse_price` builds on the price-parser library: price-parser finds the number's text and reads
its separators; this module adds what it lacks:

* locale: the shop's domain and page language choose between `$` meanings (AUD on amazon.com.au)
  and give the currency when the text shows none; `1.226` is read as 1.226 only where a
  three-decimal currency (KWD, BHD, ...) applies and the locale writes decimals with a point;
* currency: symbols price-parser does not know (`KShs`, `so'm`, `ש"ח`, Arabic abbreviations),
  mapped to ISO 4217 by `pricewatch.adapters.scraping.currency`;
* text around the price: the number standing next to a currency symbol wins over an earlier bare
  number ("3 issues for only 14,85 EUR"), "was X now Y" takes Y, a year after a month name or a
  measurement ("16.00 ft") is not a price;
* minor units: "150 GBp" (pence, as on stock pages) is 1.50 GBP, "99¢" is 0.99 USD;
* separators price-parser misreads: typographic apostrophes (`1’226.50`), Arabic and full-width
  separators, a leading zero (`0.226`), an abbreviation dot (`Rs.1,299.50`).

Garbage gives `amount=None`: "", "call us", "N/A", "40% OFF". "Free" (or "gratis",
"kostenlos", ... as the last word, as in "Price: Free!") gives `Decimal(0)`, because a product
offered for nothing has price zero; "Free shipping" and other "free X" texts give None. A negative
amount ("-5,00 €", a discount) gives None: a price is never negative. A number of more than 100
characters is not a price either (None); up to that, huge amounts stay exact. Amounts are always
Decimal, never float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Final

from price_parser.parser import extract_price_text, parse_number

from pricewatch.adapters.scraping.currency import (
    THREE_DECIMAL_CURRENCIES,
    CurrencyMatch,
    country_for_domain,
    currency_for,
    find_currencies,
    resolve,
    split_language,
)


def _words(table: str) -> frozenset[str]:
    """Read a whitespace-separated table of words into a set."""
    return frozenset(table.split())


@dataclass(frozen=True)
class ParsedPrice:
    """An amount and currency read from text; either may be missing."""

    amount: Decimal | None
    currency: str | None
    currency_raw: str | None = None


# Invisible marks dropped; apostrophes, Arabic and full-width separators made plain ASCII.
_TRANSLATION: Final = str.maketrans(
    {
        "\u200e": None,
        "\u200f": None,
        "\u200b": None,
        "\u2060": None,
        "\ufeff": None,
        "\u00ad": None,
        "\u2019": "'",
        "\u2032": "'",
        "\u02bc": "'",
        "\u066b": ".",
        "\u066c": ",",
        "\uff0c": ",",
        "\uff0e": ".",
        "\u2212": "-",
    }
)
# "Rs.1,299.50": the dot closes the abbreviation; price-parser would take ".1,299.50".
_ABBREVIATION_DOT: Final = re.compile(r"\.(?<=[^\W\d_]\.)(?=\d)")
# A number: spaces only between groups of three digits ("1 226,50", not "2.00 100"), or before
# the two cents after a dangling separator ("$119. 95").
_NUMBER: Final = re.compile(
    r"\.?(?:\d{1,3}(?:[ ]\d{3})+(?!\d)(?:[.,']\d+)*|\d[\d.,']*(?:(?<=[.,])[ ]\d\d(?!\d))?)"
)
# No price is written with more characters; price-parser's separator search is quadratic.
_LONGEST_NUMBER: Final = 100
# Cents after a euro sign used as the decimal separator ("35€99"), which price-parser reads.
_EURO_CENTS: Final = re.compile(r"[ ]?€[ ]?\d+")
# Words joining the two ends of a range ("26 to 50 €", "5 - 9 €"): the first end is the price.
_RANGE_JOIN: Final = re.compile(r"[ ]?(?:-|–|—|to|bis|à|a|al|do|až|tot|до)[ ]?", re.IGNORECASE)
_PERCENT_AFTER: Final = re.compile(r"[ ]?%")
# What may stand between a symbol and its number; none of these is longer than _GAP.
_GAP: Final = 3
_SYMBOL_THEN_NUMBER: Final = re.compile(r"[ ]?[:.]?[ ]?")
_NUMBER_THEN_SYMBOL: Final = re.compile(r"[.,]?[-–]?[ ]?")
_BETWEEN_SYMBOLS: Final = re.compile(r"[ ]?")
_WAS: Final = re.compile(r"\bwas\b", re.IGNORECASE)
_NOW: Final = re.compile(r"\bnow\b", re.IGNORECASE)
_MONTH_BEFORE: Final = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun[e]?|jul[y]?|aug(?:ust)?"
    r"|sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|januar|februar|märz|juni|juli"
    r"|oktober|dezember|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre"
    r"|novembre|décembre)\.?,?[ ]$",
    re.IGNORECASE,
)
_YEAR: Final = re.compile(r"(?:19|20)\d\d")
_UNIT_AFTER: Final = re.compile(
    r"[ ]?(?:ft|feet|in|inch|inches|cm|mm|km|kg|mg|lbs?|oz|ml|cl|gal|litres?|liters?"
    r"|GB|TB|MB|mAh|kWh|Hz)\b"
)
_FREE: Final = re.compile(
    r"\b(?:free|gratis|kostenlos|gratuit|gratuito|grátis|zdarma|darmo|бесплатно|ücretsiz)\W*$",
    re.IGNORECASE,
)
_NOT_THE_PRODUCT: Final = re.compile(
    r"shipping|delivery|returns|versand|lieferung|livraison|env[ií]o|spedizione|verzending"
    r"|dostawa|doprava|доставка",
    re.IGNORECASE,
)
# A number that cannot be thousands grouping because nothing or zero stands before the separator.
_DECIMAL_ONLY: Final = re.compile(r"0?([.,])\d+")
# One separator followed by exactly three digits: grouping in most places, decimals in a
# three-decimal currency.
_AMBIGUOUS: Final = re.compile(r"\d{1,3}([.,])\d{3}")

# Where prices are written with a decimal comma (1.226,50), by language, then by country.
_COMMA_LANGUAGES: Final = _words(
    "de fr es it nl pt tr pl cs sk sl hr sr bs mk bg ro hu ru uk be kk sv nb nn no da fi et lv "
    "lt el ca eu gl is id vi az ka hy sq lb"
)
_POINT_REGIONS: Final = _words("CH LI MX US PR GT HN NI PA SV DO PE")
_COMMA_COUNTRIES: Final = _words(
    "AT BE DE FR ES IT NL PT LU GR FI EE LV LT SK SI HR CY TR PL CZ HU RO BG RU UA BY KZ SE NO "
    "DK IS BR AR CL CO UY PY VE BO EC ID VN RS BA MK AL ME XK GE AZ AM MD"
)


@lru_cache(maxsize=1024)
def decimal_separator_for(*, domain: str | None = None, language: str | None = None) -> str | None:
    """The decimal separator ('.' or ',') a shop's locale writes, or None if unknown."""
    if language:
        base, region = split_language(language)
        if region in _POINT_REGIONS:
            return "."
        return "," if base in _COMMA_LANGUAGES else "."
    country = country_for_domain(domain) if domain else None
    if country is None:
        return None
    return "," if country in _COMMA_COUNTRIES else "."


def _normalise(text: str) -> str:
    """Plain spaces, ASCII separators and no invisible marks, so the regexes stay simple."""
    # str.split() also splits on NBSP, narrow NBSP (U+202F) and thin space (U+2009).
    text = " ".join(text.translate(_TRANSLATION).split())
    return _ABBREVIATION_DOT.sub(". ", text) if "." in text else text


class _Symbols:
    """Currency symbols of a text, indexed by where they start and end."""

    def __init__(self, found: list[CurrencyMatch]) -> None:
        self.found = found
        self._by_start = {s.start: s for s in found}
        self._by_end = {s.end: s for s in found}

    def beside(self, text: str, number: re.Match[str]) -> list[CurrencyMatch]:
        """Symbols touching `number` ('€ 12', '12,- kr'), and symbols touching those ('NZD $12')."""
        start, end = number.span()
        near = []
        for gap in range(_GAP + 1):
            before = self._by_end.get(start - gap)
            if before is not None and _SYMBOL_THEN_NUMBER.fullmatch(text, before.end, start):
                near.append(before)
            after = self._by_start.get(end + gap)
            if after is not None and _NUMBER_THEN_SYMBOL.fullmatch(text, end, after.start):
                near.append(after)
        for symbol in list(near):
            near += [n for n in self._neighbours(text, symbol) if n not in near]
        return near

    def _neighbours(self, text: str, symbol: CurrencyMatch) -> list[CurrencyMatch]:
        """Symbols at most a space before or after `symbol` ('NZD $')."""
        found = []
        for gap in (0, 1):
            before = self._by_end.get(symbol.start - gap)
            if before is not None and _BETWEEN_SYMBOLS.fullmatch(text, before.end, symbol.start):
                found.append(before)
            after = self._by_start.get(symbol.end + gap)
            if after is not None and _BETWEEN_SYMBOLS.fullmatch(text, symbol.end, after.start):
                found.append(after)
        return found


def _range_start(
    text: str, earlier: list[re.Match[str]], number: re.Match[str], near: list[CurrencyMatch]
) -> re.Match[str]:
    """The first end of a range whose currency follows its second end ('26 to 50 €')."""
    if not earlier or any(s.end <= number.start() for s in near):
        return number
    previous = earlier[-1]
    if _RANGE_JOIN.fullmatch(text, previous.end(), number.start()):
        return previous
    return number


def _is_noise(text: str, number: re.Match[str]) -> bool:
    """Tell whether a number with no currency beside it is a year or a measurement."""
    start = number.start()
    if _YEAR.fullmatch(number.group()) and _MONTH_BEFORE.search(text, max(0, start - 12), start):
        return True
    return bool(_UNIT_AFTER.match(text, number.end()))


def _candidates(text: str) -> list[re.Match[str]]:
    """Numbers that may be the price: not percentages, and after 'now' in 'was X now Y'."""
    was = _WAS.search(text)
    now = _NOW.search(text, was.end()) if was else None
    start = now.end() if now else 0
    return [n for n in _NUMBER.finditer(text, start) if not _PERCENT_AFTER.match(text, n.end())]


def _choose(text: str, symbols: _Symbols) -> tuple[re.Match[str] | None, list[CurrencyMatch]]:
    """The number to read as the price, and the currency symbols beside it."""
    numbers = _candidates(text)
    for i, number in enumerate(numbers):
        near = symbols.beside(text, number) if symbols.found else []
        if near:
            return _range_start(text, numbers[:i], number, near), near
    plain = [n for n in numbers if not _is_noise(text, n)]
    return (plain[0] if plain else None), []


def _pick_symbol(
    near: list[CurrencyMatch], everywhere: list[CurrencyMatch]
) -> CurrencyMatch | None:
    """The most telling symbol beside the number, else the first in the text."""
    if near:
        return max(near, key=lambda s: s.specificity)
    return everywhere[0] if everywhere else None


def _hint_symbol(hint: str | None) -> CurrencyMatch | None:
    """The first currency symbol in a separate hint text ('EUR', 'Price: $ 34.44')."""
    if not hint:
        return None
    found = find_currencies(_normalise(hint))
    return found[0] if found else None


def _currency(
    symbol: CurrencyMatch | None, hint: CurrencyMatch | None, context: str | None
) -> str | None:
    """ISO code of the symbol, settled by the hint or the shop's currency when ambiguous."""
    hint_iso = resolve(hint.symbol, context=context) if hint else None
    if symbol is None:
        return hint_iso or context
    if hint_iso is not None and hint_iso in symbol.symbol.candidates:
        return hint_iso
    return resolve(symbol.symbol, context=context)


def _decimal_separator(
    amount_text: str, currency: str | None, domain: str | None, language: str | None
) -> str | None:
    """Settle separators price-parser would read as grouping where they cannot be."""
    only = _DECIMAL_ONLY.fullmatch(amount_text)
    if only:
        return only.group(1)
    ambiguous = _AMBIGUOUS.fullmatch(amount_text)
    if ambiguous and currency in THREE_DECIMAL_CURRENCIES:
        sep = ambiguous.group(1)
        # On a page that writes decimal commas, "1.226" is still 1226 even in dinars.
        if sep == (decimal_separator_for(domain=domain, language=language) or "."):
            return sep
    return None


def _amount(
    text: str,
    number: re.Match[str],
    *,
    currency: str | None,
    domain: str | None,
    language: str | None,
    sep: str | None,
) -> Decimal | None:
    """Read the chosen number with price-parser; None unless a finite amount of at least 0."""
    cents = _EURO_CENTS.match(text, number.end())
    number_text = text[number.start() : cents.end() if cents else number.end()]
    if len(number_text) > _LONGEST_NUMBER:
        return None
    amount_text = extract_price_text(number_text)
    if amount_text is None:
        return None
    if sep is None:
        sep = _decimal_separator(amount_text, currency, domain, language)
    amount = parse_number(amount_text, sep)
    if amount is None or not amount.is_finite() or amount < 0:
        return None
    return amount


def _negative(text: str, start: int) -> bool:
    """Tell whether a minus sign is stuck to the price ("-5,00 €", "-$5"); "- $5" is a dash."""
    if start == 0 or text[start - 1] != "-":
        return False
    return start == 1 or not (text[start - 2].isalnum() or text[start - 2] in "-_")


def _free(text: str) -> Decimal | None:
    """Zero for a text ending in 'Free' that is not about shipping, else None."""
    if _FREE.search(text) and not _NOT_THE_PRODUCT.search(text):
        return Decimal(0)
    return None


def parse_price(
    text: str | None,
    *,
    currency_hint: str | None = None,
    language: str | None = None,
    domain: str | None = None,
    decimal_separator: str | None = None,
) -> ParsedPrice:
    """Read `text` such as '1.226,50 €' or 'CHF 1'226.50' into a `ParsedPrice`.

    `currency_hint` is a separate text that may hold the currency (a code such as 'EUR' or a
    nearby element's text); `domain` (host or URL) and `language` (a tag such as 'de-CH') are
    the shop's, used for ambiguous symbols and separators and as the currency of last resort;
    `decimal_separator` forces how the number is read.
    """
    context = currency_for(domain=domain, language=language) if domain or language else None
    hint = _hint_symbol(currency_hint)
    if not text:
        raw = hint.raw if hint else None
        return ParsedPrice(amount=None, currency=_currency(None, hint, context), currency_raw=raw)
    text = _normalise(text)
    symbols = _Symbols(find_currencies(text))
    number, near = _choose(text, symbols)
    symbol = _pick_symbol(near, symbols.found)
    currency = _currency(symbol, hint, context)
    raw = symbol.raw if symbol else (hint.raw if hint else None)
    if number is None:
        return ParsedPrice(amount=_free(text), currency=currency, currency_raw=raw)
    if _negative(text, min([number.start(), *(s.start for s in near)])):
        return ParsedPrice(amount=None, currency=currency, currency_raw=raw)
    amount = _amount(
        text, number, currency=currency, domain=domain, language=language, sep=decimal_separator
    )
    if amount is not None and symbol is not None and symbol.symbol.minor:
        amount = amount.scaleb(-2)  # pence or cents, in the currency's main unit
    return ParsedPrice(amount=amount, currency=currency, currency_raw=raw)
