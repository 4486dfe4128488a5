"""Locale-aware price parsing: amounts as exact Decimals, currencies as ISO 4217 codes.

Decisions pinned here: garbage ("", "call us", "N/A") gives amount None; "Free" as the price
itself gives Decimal(0), while "Free shipping" gives None; a minus sign stuck to the price gives
None (never a negative amount); with no locale hint an ambiguous `1,226`/`1.226` is read the way
price-parser reads it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from price_parser import Price

from pricewatch.adapters.scraping.currency import (
    currency_for,
    find_currencies,
    lookup_symbol,
    to_iso,
)
from pricewatch.adapters.scraping.price import ParsedPrice, decimal_separator_for, parse_price


def amount_of(text: str, **kwargs: str) -> Decimal | None:
    """The amount `parse_price` reads from `text`."""
    return parse_price(text, **kwargs).amount


# --- the examples from the issue -------------------------------------------------------------


def test_european_format_with_euro_sign() -> None:
    assert parse_price("1.226,50 €") == ParsedPrice(Decimal("1226.50"), "EUR", "€")


def test_us_format_with_dollar_sign() -> None:
    assert parse_price("$1,226.50") == ParsedPrice(Decimal("1226.50"), "USD", "$")


@pytest.mark.parametrize("space", [" ", "\u00a0", "\u202f", "\u2009"])
def test_space_grouping_with_every_kind_of_space(space: str) -> None:
    assert amount_of(f"1{space}226,50") == Decimal("1226.50")
    assert parse_price(f"1{space}226,50{space}€").currency == "EUR"


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("CHF 1'226.50", "CHF"),
        ("CHF 1’226.50", "CHF"),
        ("1’226.50 CHF", "CHF"),
        ("Fr. 1'226.50", "Fr."),
    ],
)
def test_swiss_apostrophe_grouping(text: str, raw: str) -> None:
    assert parse_price(text) == ParsedPrice(Decimal("1226.50"), "CHF", raw)


def test_swiss_dash_for_no_cents() -> None:
    assert parse_price("CHF 1'226.–") == ParsedPrice(Decimal(1226), "CHF", "CHF")
    assert amount_of("1.226,-") == Decimal(1226)


def test_typographic_apostrophe_alone_takes_the_swiss_shop_currency() -> None:
    assert parse_price("1’226.50", domain="www.galaxus.ch") == ParsedPrice(
        Decimal("1226.50"), "CHF", None
    )


# --- ambiguous separators --------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "de-DE", "fr-FR", "es", "it", "nl-NL", "tr"])
def test_point_with_three_digits_is_grouping_on_comma_decimal_pages(language: str) -> None:
    assert amount_of("1.226", language=language) == Decimal(1226)
    assert amount_of("1.226 €", language=language) == Decimal(1226)


@pytest.mark.parametrize(
    "domain", ["amazon.de", "www.fnac.fr", "elcorteingles.es", "amazon.it", "bol.nl", "x.com.tr"]
)
def test_point_with_three_digits_is_grouping_on_comma_decimal_domains(domain: str) -> None:
    assert amount_of("1.226", domain=domain) == Decimal(1226)


@pytest.mark.parametrize(
    ("text", "kwargs", "currency"),
    [
        ("1.226 KD", {}, "KWD"),
        ("KWD 1.226", {}, "KWD"),
        ("1.226 BD", {}, "BHD"),
        ("OMR 1.226", {}, "OMR"),
        ("1.226 د.ك", {}, "KWD"),
        ("1.226", {"currency_hint": "KWD"}, "KWD"),
        ("1.226", {"domain": "www.xcite.com.kw"}, "KWD"),
        ("1.226", {"language": "ar-BH"}, "BHD"),
    ],
)
def test_point_with_three_digits_is_decimal_in_three_decimal_currencies(
    text: str, kwargs: dict[str, str], currency: str
) -> None:
    assert parse_price(text, **kwargs).amount == Decimal("1.226")
    assert parse_price(text, **kwargs).currency == currency


def test_comma_decimal_page_wins_over_three_decimal_currency() -> None:
    assert amount_of("1.226 KD", language="de") == Decimal(1226)


@pytest.mark.parametrize("language", ["en", "en-US", "en-GB"])
def test_comma_with_three_digits_is_grouping_on_english_pages(language: str) -> None:
    assert amount_of("1,226", language=language) == Decimal(1226)
    assert amount_of("$1,226", language=language) == Decimal(1226)


@pytest.mark.parametrize(
    "text", ["1,226", "1.226", "12,99", "12.99", "1.234,5", "1,234.5", "140.000"]
)
def test_without_hints_ambiguous_numbers_follow_price_parser(text: str) -> None:
    assert amount_of(text) == Price.fromstring(text).amount


def test_explicit_decimal_separator_is_obeyed() -> None:
    assert amount_of("140.000", decimal_separator=",") == Decimal(140000)
    assert amount_of("140.000", decimal_separator=".") == Decimal("140.000")
    assert amount_of("1.226 KD", decimal_separator=",") == Decimal(1226)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.226", "0.226"),  # price-parser reads 226: nothing is grouped after a zero
        ("0,50 €", "0.50"),
        ("$.75", "0.75"),
        ("Rs.1,299.50", "1299.50"),  # the dot closes "Rs", it is not a decimal point
        ("١٬٢٢٦٫٥٠ د.إ", "1226.50"),  # Arabic-Indic digits and separators
        ("￥１，２２６", "1226"),  # full-width digits and comma
        ("1.198,- kr", "1198"),
        ("$119. 95", "119.95"),
    ],
)
def test_separators_price_parser_misreads(text: str, expected: str) -> None:
    assert amount_of(text) == Decimal(expected)


def test_decimal_separator_for_locales() -> None:
    assert decimal_separator_for(language="de") == ","
    assert decimal_separator_for(language="de-CH") == "."
    assert decimal_separator_for(language="en-GB") == "."
    assert decimal_separator_for(domain="www.fnac.fr") == ","
    assert decimal_separator_for(domain="amazon.co.uk") == "."
    assert decimal_separator_for(domain="example.com") is None
    assert decimal_separator_for() is None


# --- currency from symbol, code, hint, domain and language ------------------------------------


@pytest.mark.parametrize(
    ("symbol", "iso"),
    [
        ("$", "USD"),
        ("US$", "USD"),
        ("€", "EUR"),
        ("£", "GBP"),
        ("¥", "JPY"),
        ("zł", "PLN"),
        ("zl", "PLN"),
        ("Kč", "CZK"),
        ("Lei", "RON"),
        ("lei", "RON"),
        ("лв", "BGN"),
        ("руб", "RUB"),
        ("руб.", "RUB"),
        ("₽", "RUB"),
        ("₺", "TRY"),
        ("TL", "TRY"),
        ("R$", "BRL"),
        ("CHF", "CHF"),
        ("Fr.", "CHF"),
        ("KD", "KWD"),
        ("₹", "INR"),
        ("Rs", "INR"),
        ("A$", "AUD"),
        ("AU$", "AUD"),
        ("C$", "CAD"),
        ("CA$", "CAD"),
        ("NZ$", "NZD"),
        ("HK$", "HKD"),
        ("S$", "SGD"),
        ("R", "ZAR"),
        ("Ft", "HUF"),
        ("eur", "EUR"),
        ("KShs", "KES"),
        ("so'm", "UZS"),
        ('ש"ח', "ILS"),
        ("د.ع", "IQD"),
    ],
)
def test_symbols_map_to_iso_codes(symbol: str, iso: str) -> None:
    assert to_iso(symbol) == iso


def test_unknown_and_non_iso_symbols_have_no_code() -> None:
    assert to_iso("kr") is None  # SEK, NOK, DKK or ISK: needs a domain or language
    assert to_iso("₿") is None  # bitcoin has no ISO 4217 code
    assert lookup_symbol("Preis") is None


@pytest.mark.parametrize(
    ("domain", "iso"),
    [
        ("amazon.com.au", "AUD"),
        ("amazon.ca", "CAD"),
        ("www.amazon.com.mx", "MXN"),
        ("amazon.com", "USD"),
        ("amazon.de", "USD"),  # the euro is not a dollar: the bare sign stays USD
    ],
)
def test_dollar_sign_takes_the_shop_dollar(domain: str, iso: str) -> None:
    assert parse_price("$1,226.50", domain=domain) == ParsedPrice(Decimal("1226.50"), iso, "$")


@pytest.mark.parametrize(
    ("kwargs", "iso"),
    [
        ({"domain": "www.prisjakt.se"}, "SEK"),
        ({"domain": "komplett.no"}, "NOK"),
        ({"domain": "https://www.elgiganten.dk/product/1"}, "DKK"),
        ({"language": "sv-SE"}, "SEK"),
        ({"language": "nb"}, "NOK"),
        ({"language": "da"}, "DKK"),
        ({"currency_hint": "NOK"}, "NOK"),
        ({}, None),
        ({"domain": "amazon.de"}, None),  # kr cannot be EUR: unknown rather than wrong
    ],
)
def test_krona_krone_by_domain_language_or_hint(kwargs: dict[str, str], iso: str | None) -> None:
    parsed = parse_price("1 299 kr", **kwargs)
    assert parsed == ParsedPrice(Decimal(1299), iso, "kr")


def test_yen_sign_is_yuan_in_china() -> None:
    assert parse_price("¥ 1,226", domain="jd.com").currency == "CNY"
    assert parse_price("¥ 1,226", language="zh-CN").currency == "CNY"
    assert parse_price("¥ 1,226").currency == "JPY"


def test_iso_code_beside_a_dollar_sign_wins() -> None:
    assert parse_price("NZD $12.50").currency == "NZD"
    assert parse_price("SGD$123").currency == "SGD"
    assert parse_price("$12.50 USD", domain="amazon.ca").currency == "USD"


def test_currency_from_hint_when_the_text_has_none() -> None:
    assert parse_price("19,99", currency_hint="EUR") == ParsedPrice(Decimal("19.99"), "EUR", "EUR")
    assert parse_price("19.99", currency_hint="Price: £ 19.99").currency == "GBP"
    assert parse_price(None, currency_hint="Kč") == ParsedPrice(None, "CZK", "Kč")


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [("150 GBp", "1.50", "GBP"), ("GBX 1,234", "12.34", "GBP"), ("99¢", "0.99", "USD")],
)
def test_minor_units_are_converted_to_the_main_unit(text: str, amount: str, currency: str) -> None:
    assert parse_price(text).amount == Decimal(amount)
    assert parse_price(text).currency == currency


def test_text_currency_beats_the_hint() -> None:
    assert parse_price("£54.17", currency_hint="USD").currency == "GBP"


@pytest.mark.parametrize(
    ("kwargs", "iso"),
    [
        ({"domain": "amazon.de"}, "EUR"),
        ({"domain": "allegro.pl"}, "PLN"),
        ({"language": "pl"}, "PLN"),
        ({"language": "de-CH"}, "CHF"),
        ({"domain": "example.com", "language": "cs"}, "CZK"),
        ({"domain": "example.com"}, None),
        ({"language": "en"}, None),
    ],
)
def test_currency_from_domain_or_language_when_nothing_else_tells(
    kwargs: dict[str, str], iso: str | None
) -> None:
    assert parse_price("19,99", **kwargs) == ParsedPrice(Decimal("19.99"), iso, None)


@pytest.mark.parametrize(
    ("domain", "iso"),
    [
        ("amazon.co.uk", "GBP"),
        ("amazon.com.au", "AUD"),
        ("amazon.com", "USD"),
        ("smile.amazon.com", "USD"),
        ("ebay.de", "EUR"),
        ("ebay.com", "USD"),
        ("www.ebay.co.uk", "GBP"),
        ("amazon.co.jp", "JPY"),
        ("amazon.com.br", "BRL"),
        ("https://www.Amazon.FR:443/dp/B0001?x=1", "EUR"),
        ("cdiscount.com", "EUR"),
        ("shop.example.eu", "EUR"),
        ("tienda.com.co", "COP"),  # .co under .com is Colombia
        ("startup.co", None),  # a vanity .co is not
        ("gadgets.io", None),
        ("example.com", None),
        ("localhost", None),
    ],
)
def test_currency_for_domain(domain: str, iso: str | None) -> None:
    assert currency_for(domain=domain) == iso


@pytest.mark.parametrize(
    ("language", "iso"),
    [
        ("de", "EUR"),
        ("de-CH", "CHF"),
        ("de_AT", "EUR"),
        ("fr-CA", "CAD"),
        ("pt-BR", "BRL"),
        ("pt", None),
        ("en", None),
        ("en-GB", "GBP"),
        ("es-MX", "MXN"),
        ("zh", "CNY"),
        ("zh-Hant", None),
        ("zh-Hant-TW", "TWD"),
        ("ja", "JPY"),
    ],
)
def test_currency_for_language(language: str, iso: str | None) -> None:
    assert currency_for(language=language) == iso


def test_domain_comes_before_language() -> None:
    assert currency_for(domain="amazon.co.uk", language="de") == "GBP"
    assert currency_for(domain="example.com", language="de") == "EUR"


def test_weak_symbols_need_a_number_beside_them() -> None:
    assert [m.raw for m in find_currencies("R 1 299")] == ["R"]
    assert find_currencies("Rated R for violence") == []
    assert find_currencies("Try it now") == []
    assert find_currencies("AMD Ryzen 5") == []
    assert [m.raw for m in find_currencies("TRY 50")] == ["TRY"]
    assert [m.raw for m in find_currencies("kr")] == ["kr"]


def test_unit_abbreviations_are_not_currencies() -> None:
    assert parse_price("16.00 ft").amount is None  # feet, not forint ("Ft")
    assert parse_price("16.000 Ft") == ParsedPrice(Decimal(16000), "HUF", "Ft")


# --- garbage, free, negative, huge ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   ", "call us", "N/A", "Call for price", "40% OFF", "Free shipping", "July, 2004"],
)
def test_garbage_has_no_amount(text: str) -> None:
    assert parse_price(text).amount is None


def test_none_text_has_no_amount() -> None:
    assert parse_price(None) == ParsedPrice(None, None, None)


@pytest.mark.parametrize("text", ["Free", "FREE!", "Price: Free", "gratis", "Kostenlos"])
def test_free_is_zero(text: str) -> None:
    assert parse_price(text).amount == Decimal(0)


@pytest.mark.parametrize("text", ["-5,00 €", "−5 €", "-$5.00", "€ -5"])
def test_negative_amounts_are_refused(text: str) -> None:
    assert parse_price(text).amount is None


def test_a_dash_before_the_price_is_not_a_minus() -> None:
    assert amount_of("- $44.99") == Decimal("44.99")


def test_huge_numbers_stay_exact() -> None:
    assert amount_of("$1,000,000,000,000.01") == Decimal("1000000000000.01")
    digits = "9" * 40
    assert amount_of(f"{digits}.99 €") == Decimal(f"{digits}.99")


def test_absurdly_long_numbers_are_refused_quickly() -> None:
    assert amount_of("1" * 100_000) is None
    assert amount_of("1," * 50_000 + " €") is None


@pytest.mark.parametrize(
    "text",
    ["1.226,50 €", "$1,226.50", "nan", "NaN €", "inf", "Infinity $", "1e400", "-0", "0", "Free"],
)
def test_amount_is_always_a_finite_non_negative_decimal(text: str) -> None:
    amount = parse_price(text).amount
    assert amount is None or (isinstance(amount, Decimal) and amount.is_finite() and amount >= 0)
    assert not isinstance(amount, float)


# --- prices inside other text ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("Now only 19,99 € incl. VAT", "19.99", "EUR"),
        ("From $5.00 to $9.00", "5.00", "USD"),
        ("From 26 to 50 €", "26", "EUR"),
        ("5 - 9 €", "5", "EUR"),
        ("3 Ausgaben für nur 14,85 EUR", "14.85", "EUR"),
        ("2 x 19,99 €", "19.99", "EUR"),
        ("Was $120.00 Now $60.00", "60.00", "USD"),
        ("-20% 79,99 €", "79.99", "EUR"),
        ("50 - $2.00 100 - $2.75", "2.00", "USD"),
        ("Size 42 cm, 19.99", "19.99", None),
        ("US$:12.99", "12.99", "USD"),
        ("22000.00元/台", "22000.00", "CNY"),
        ("Цена: 1 890 руб.", "1890", "RUB"),
        ("2963yen", "2963", "JPY"),
    ],
)
def test_price_inside_text(text: str, amount: str, currency: str | None) -> None:
    parsed = parse_price(text)
    assert (parsed.amount, parsed.currency) == (Decimal(amount), currency)
