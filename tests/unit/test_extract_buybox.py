"""Buy-box rules on small hand-written pages: stock signals, other products, labelled ids."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from pricewatch.adapters.scraping.extract import extract
from pricewatch.domain.snapshot import Availability

URL = "https://www.gadgetshop.example/p/steel-kettle-ktl-00042"


def page(body: str, *, head: str = "", lang: str = "en", body_class: str = "") -> str:
    return (
        f'<html lang="{lang}"><head><title>Steel Kettle | Gadget Shop</title>{head}</head>'
        f'<body class="{body_class}"><main>{body}</main></body></html>'
    )


def ld(data: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def buy_box(inner: str, *, price: str = "$42.99") -> str:
    return (
        '<article class="product"><h1>Steel Kettle 1.7 L</h1>'
        f'<section class="buy-box" id="buy-box"><span class="price">{price}</span>{inner}</section>'
        "</article>"
    )


ADD_TO_CART = '<form action="/cart/add"><button type="submit">Add to cart</button></form>'
CAROUSEL_CARDS = (
    '<ul class="cards"><li><a href="/p/a">Kettle A</a><span class="price">$19.00</span></li>'
    '<li><a href="/p/b">Kettle B</a><span class="price">$25.00</span>'
    '<span class="stock">Out of stock</span></li></ul>'
)


# --- stock read from the buy box --------------------------------------------------------------


def test_a_buy_box_container_is_not_an_add_to_cart_button() -> None:
    # "buy-box" names the container of the offer; its out-of-stock label decides.
    html = page(
        buy_box(
            '<p class="tax-note">Price includes VAT</p>'
            '<p class="stock stock--out">Out of stock</p>'
            '<button class="btn" type="button" disabled>Email me when available</button>'
            '<p class="delivery">Delivered in 2-4 working days</p>'
        )
    )
    snap = extract(html, URL)
    assert (snap.price, snap.availability) == (Decimal("42.99"), Availability.OUT_OF_STOCK)


def test_an_in_stock_buy_box_stays_in_stock() -> None:
    html = page(buy_box('<p class="stock stock--in">In stock</p>' + ADD_TO_CART))
    assert extract(html, URL).availability is Availability.IN_STOCK


def test_visible_out_of_stock_beats_structured_in_stock() -> None:
    product = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Steel Kettle 1.7 L",
        "sku": "KTL-00042",
        "offers": {
            "@type": "Offer",
            "price": "42.99",
            "priceCurrency": "USD",
            "availability": "https://schema.org/InStock",
        },
    }
    html = page(
        buy_box(
            '<p class="stock stock--out">Nicht vorrätig</p>'
            '<button type="button" disabled>Benachrichtigen, wenn verfügbar</button>'
        ),
        head=ld(product),
        lang="de",
    )
    snap = extract(html, URL)
    assert snap.availability is Availability.OUT_OF_STOCK
    assert "buy box says out of stock; structured data said in stock" in snap.fetch.notes


@pytest.mark.parametrize(
    "label",
    [
        "Email me when available",
        "Notify me when it's back in stock",
        "M'alerter du retour en stock",
        "Benachrichtigen, wenn verfügbar",
        "Avísame cuando esté disponible",
    ],
)
def test_a_notify_me_control_without_add_to_cart_is_out_of_stock(label: str) -> None:
    html = page(buy_box(f'<button type="button">{label}</button>'))
    assert extract(html, URL).availability is Availability.OUT_OF_STOCK


def test_a_price_alert_is_no_stock_signal() -> None:
    html = page(buy_box('<button type="button">Notify me when the price drops</button>'))
    assert extract(html, URL).availability is Availability.IN_STOCK


def test_a_hidden_notify_me_template_is_no_stock_signal() -> None:
    html = page(buy_box('<div hidden><button type="button">Email me when available</button></div>'))
    assert extract(html, URL).availability is Availability.IN_STOCK


def test_a_clickable_add_to_cart_outweighs_a_notify_me_for_other_sizes() -> None:
    html = page(buy_box(ADD_TO_CART + '<button type="button">Notify me when available</button>'))
    assert extract(html, URL).availability is Availability.IN_STOCK


def test_a_greyed_out_add_to_cart_alone_is_not_out_of_stock() -> None:
    # Shops render the button disabled until their scripts (or a size choice) enable it.
    html = page(buy_box('<button class="add-to-cart" type="submit" disabled>Add to cart</button>'))
    assert extract(html, URL).availability is Availability.IN_STOCK


def test_a_disabled_out_of_stock_button_is_out_of_stock() -> None:
    html = page(buy_box('<button class="add-to-cart" type="submit" disabled>Sold out</button>'))
    assert extract(html, URL).availability is Availability.OUT_OF_STOCK


# --- blocks of other products --------------------------------------------------------------


def test_a_carousel_before_the_buy_box_is_ignored_even_when_the_body_is_named_so() -> None:
    carousel = f'<section class="carousel"><h2>Customers also viewed</h2>{CAROUSEL_CARDS}</section>'
    html = page(
        carousel + buy_box('<p class="stock">In stock</p>' + ADD_TO_CART, price="$28.99"),
        body_class="page-product kind-carousel",
    )
    snap = extract(html, URL)
    assert (snap.price, snap.currency) == (Decimal("28.99"), "USD")
    assert snap.availability is Availability.IN_STOCK


@pytest.mark.parametrize(
    "block",
    [
        f'<section aria-label="You may also like">{CAROUSEL_CARDS}</section>',
        f"<section><h2>Customers also viewed</h2>{CAROUSEL_CARDS}</section>",
        f"<div><h3>Les clients ont aussi consulté</h3>{CAROUSEL_CARDS}</div>",
        f"<aside><h2>Ähnliche Produkte</h2>{CAROUSEL_CARDS}</aside>",
    ],
)
def test_prices_in_blocks_labelled_or_headed_as_other_products_are_ignored(block: str) -> None:
    # No class names to go by: the block's aria-label or heading says what it holds.
    shown = page("<article><h1>Steel Kettle 1.7 L</h1></article>" + block)
    assert extract(shown, URL).price is None
    priced = page(
        block + '<article><h1>Steel Kettle 1.7 L</h1><p class="price">$31.50</p></article>'
    )
    assert extract(priced, URL).price == Decimal("31.50")


def test_a_wrapper_holding_the_product_is_not_a_block_of_others() -> None:
    html = page(
        '<div class="product-grid">'
        + buy_box('<p class="stock">In stock</p>' + ADD_TO_CART, price="$12.00")
        + "</div>"
    )
    assert extract(html, URL).price == Decimal("12.00")


# --- the reference the page shows under a label --------------------------------------------


@pytest.mark.parametrize(
    ("specs", "reference"),
    [
        (
            '<table><tr><th scope="row">Item number</th>'
            "<td><span>KTL-00042</span></td></tr></table>",
            "KTL-00042",
        ),
        ("<dl><dt>Artikelnummer:</dt><dd>1070699</dd></dl>", "1070699"),
        (
            '<div><span class="item-number-label">Item No.</span>'
            '<span class="item-number-value">61131_105548</span></div>',
            "61131_105548",
        ),
        ('<p class="prd-code">Product code: 182835</p>', "182835"),
        ("<table><tr><th>Référence</th><td>PI922SA09-C12</td></tr></table>", "PI922SA09-C12"),
        (
            '<div class="product-data-label"><strong>SKU</strong>:</div>'
            '<div class="product-data-value">6331929 </div>',
            "6331929",
        ),
    ],
)
def test_a_labelled_reference_beats_the_url_guess(specs: str, reference: str) -> None:
    html = page(buy_box(ADD_TO_CART) + specs)
    assert extract(html, URL).reference == reference


def url_guess() -> str | None:
    """The reference read from the URL when the page shows none."""
    return extract(page(buy_box(ADD_TO_CART)), URL).reference


def test_without_a_labelled_reference_the_url_guess_stays() -> None:
    html = page(buy_box(ADD_TO_CART) + "<table><tr><th>Weight</th><td>1.2 kg</td></tr></table>")
    assert extract(html, URL).reference == url_guess() != "1.2"


@pytest.mark.parametrize(
    "specs",
    [
        "<table><tr><th>SKU</th><td>see the size table</td></tr></table>",
        '<section class="related"><table><tr><th>SKU</th><td>OTHER-77</td></tr></table></section>',
        "<table hidden><tr><th>SKU</th><td>HIDDEN-77</td></tr></table>",
    ],
)
def test_labels_without_an_id_or_outside_the_product_are_ignored(specs: str) -> None:
    html = page(buy_box(ADD_TO_CART) + specs)
    assert extract(html, URL).reference == url_guess()


def test_a_structured_sku_beats_a_labelled_one() -> None:
    product = {"@type": "Product", "name": "Steel Kettle 1.7 L", "sku": "KTL-42-EU"}
    html = page(
        buy_box(ADD_TO_CART) + "<table><tr><th>Item number</th><td>KTL-00042</td></tr></table>",
        head=ld(product),
    )
    assert extract(html, URL).reference == "KTL-42-EU"
