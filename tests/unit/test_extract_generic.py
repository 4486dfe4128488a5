"""The generic layers on small hand-written pages: JSON-LD, microdata, OpenGraph, DOM rules."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from pricewatch.adapters.scraping.extract import extract
from pricewatch.domain.snapshot import Availability

URL = "https://shop.example.fr/p/123"


def page(body: str, *, head: str = "", lang: str = "en") -> str:
    return f'<html lang="{lang}"><head>{head}</head><body>{body}</body></html>'


def ld(data: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_json_ld_product_with_offer_object() -> None:
    html = page(
        "<h1>Kettle</h1>",
        head=ld(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "Kettle",
                "sku": "K-1",
                "image": ["/img/a.jpg", "/img/a.jpg", "https://cdn.example/b.jpg"],
                "offers": {
                    "@type": "Offer",
                    "price": "19.90",
                    "priceCurrency": "EUR",
                    "availability": "https://schema.org/InStock",
                },
            }
        ),
    )
    snap = extract(html, URL)
    assert (snap.title, snap.price, snap.currency) == ("Kettle", Decimal("19.90"), "EUR")
    assert snap.availability is Availability.IN_STOCK
    assert snap.reference == "K-1"
    assert snap.images == ("https://shop.example.fr/img/a.jpg", "https://cdn.example/b.jpg")
    assert "layers: json-ld" in snap.fetch.notes[0]


def test_json_ld_type_list_capitalised_offers_and_graph() -> None:
    data = {
        "@graph": [
            {"@type": "WebSite"},
            {
                "@type": ["Product", "Thing"],
                "name": "Lamp",
                "Offers": [
                    {
                        "@type": "Offer",
                        "price": 12,
                        "priceCurrency": "USD",
                        "availability": "OutOfStock",
                    }
                ],
            },
        ]
    }
    snap = extract(page("", head=ld(data)), URL)
    assert (snap.price, snap.currency, snap.availability) == (
        Decimal("12"),
        "USD",
        Availability.OUT_OF_STOCK,
    )


def test_aggregate_offer_low_price_and_price_specification_list() -> None:
    aggregate = {
        "@type": "Product",
        "name": "Phone",
        "offers": {"@type": "AggregateOffer", "lowPrice": "1,226.50", "priceCurrency": "GBP"},
    }
    assert extract(page("", head=ld(aggregate)), URL).price == Decimal("1226.50")
    spec = {
        "@type": "Product",
        "name": "Phone",
        "offers": {
            "@type": "Offer",
            "priceSpecification": [
                {
                    "@type": "UnitPriceSpecification",
                    "priceType": "https://schema.org/ListPrice",
                    "price": 99,
                },
                {"@type": "UnitPriceSpecification", "price": "79.5", "priceCurrency": "EUR"},
            ],
        },
    }
    snap = extract(page("", head=ld(spec)), URL)
    assert (snap.price, snap.currency) == (Decimal("79.5"), "EUR")


def test_json_ld_float_prices_stay_exact() -> None:
    raw = (
        '<script type="application/ld+json">{"@type":"Product","name":"X",'
        '"offers":{"price":0.1,"priceCurrency":"EUR"}}</script>'
    )
    assert extract(page("", head=raw), URL).price == Decimal("0.1")


def test_product_group_reads_the_variant_of_the_url() -> None:
    data = {
        "@type": "ProductGroup",
        "name": "Shirt",
        "hasVariant": [
            {
                "@type": "Product",
                "sku": "S-RED",
                "offers": {"price": "10.00", "priceCurrency": "EUR"},
            },
            {
                "@type": "Product",
                "sku": "S-BLUE",
                "offers": {"price": "12.00", "priceCurrency": "EUR"},
            },
        ],
    }
    snap = extract(page("", head=ld(data)), "https://shop.example.fr/shirt?variant=S-BLUE")
    assert (snap.reference, snap.price, snap.title) == ("S-BLUE", Decimal("12.00"), "Shirt")


def test_related_products_in_json_ld_lose_to_the_h1_product() -> None:
    related = {
        "@type": "Product",
        "name": "Other thing",
        "offers": {"price": "5", "priceCurrency": "EUR"},
    }
    own = {
        "@type": "Product",
        "name": "Real thing",
        "offers": {"price": "50", "priceCurrency": "EUR"},
    }
    snap = extract(page("<h1>Real thing</h1>", head=ld(related) + ld(own)), URL)
    assert snap.price == Decimal("50")


def test_broken_json_ld_is_an_error_not_a_crash() -> None:
    html = page(
        '<h1>Thing</h1><span class="price">9,99 €</span><button class="add-to-cart">Add</button>',
        head='<script type="application/ld+json">{"@type": "Product", </script>',
        lang="fr",
    )
    snap = extract(html, URL)
    assert snap.fetch.errors
    assert "json-ld" in snap.fetch.errors[0]
    assert snap.price == Decimal("9.99")


def test_microdata_with_itemref_and_meta_content() -> None:
    body = (
        '<div itemscope itemtype="https://schema.org/Product" itemref="offer">'
        '<h1 itemprop="name">Drill</h1><meta itemprop="sku" content="D-9"></div>'
        '<div id="offer" itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        '<meta itemprop="price" content="89.00"><meta itemprop="priceCurrency" content="EUR">'
        '<link itemprop="availability" href="https://schema.org/InStock"></div>'
    )
    snap = extract(page(body), URL)
    assert (snap.title, snap.reference, snap.price) == ("Drill", "D-9", Decimal("89.00"))
    assert snap.availability is Availability.IN_STOCK


def test_carousel_microdata_is_never_the_product() -> None:
    body = (
        '<h1>Main TV</h1><section class="related-products">'
        '<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">Other TV</span>'
        '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        '<meta itemprop="price" content="2699.99"><meta itemprop="availability" '
        'content="https://schema.org/SoldOut"></div></div></section>'
        '<meta itemprop="price" content="2499.99">'
        '<button class="add-to-cart">Add to cart</button>'
    )
    snap = extract(page(body), URL)
    assert (snap.title, snap.price, snap.availability) == (
        "Main TV",
        Decimal("2499.99"),
        Availability.IN_STOCK,
    )


@pytest.mark.parametrize(
    "label", ["Esgotado", "Out of stock", "Indisponible", "Nicht verfügbar", "Agotado"]
)
def test_visible_out_of_stock_beats_json_ld_in_stock(label: str) -> None:
    data = {
        "@type": "Product",
        "name": "Sofa",
        "offers": {
            "price": "300",
            "priceCurrency": "EUR",
            "availability": "https://schema.org/InStock",
        },
    }
    body = f'<h1>Sofa</h1><div class="product-availability">{label}</div>'
    snap = extract(page(body, head=ld(data)), URL)
    assert snap.availability is Availability.OUT_OF_STOCK


def test_unavailable_add_to_cart_block_beats_json_ld() -> None:
    data = {
        "@type": "Product",
        "name": "TV",
        "offers": {
            "price": "783.57",
            "priceCurrency": "EUR",
            "availability": "http://schema.org/InStock",
        },
    }
    body = '<h1>TV</h1><div class="add-to-cart add-to-cart--unavailability"></div>'
    assert extract(page(body, head=ld(data)), URL).availability is Availability.OUT_OF_STOCK


def test_opengraph_product_tags() -> None:
    head = (
        '<meta property="og:title" content="Blu-ray | FYE">'
        '<meta property="product:price:amount" content="17.99">'
        '<meta property="product:price:currency" content="USD">'
        '<meta property="product:availability" content="in stock">'
        '<meta property="product:retailer_item_id" content="fye.123">'
        '<meta property="og:image" content="/a.jpg"><meta property="og:image" content="/b.jpg">'
    )
    snap = extract(page("", head=head), "https://www.fye.com/x")
    assert (snap.title, snap.price, snap.currency) == ("Blu-ray", Decimal("17.99"), "USD")
    assert (snap.availability, snap.reference) == (Availability.IN_STOCK, "fye.123")
    assert snap.images == ("https://www.fye.com/a.jpg", "https://www.fye.com/b.jpg")


def test_heuristic_price_near_the_buy_button_ignores_old_prices() -> None:
    body = (
        '<header class="site-header"><span class="price">0,00 €</span></header>'
        '<h1>Mixer</h1><div class="buybox"><span class="old-price">99,00 €</span>'
        '<span class="price">1.226,50 €</span>'
        '<button class="add-to-cart">Ajouter au panier</button>'
        '</div><div class="recommendations"><span class="price">5,00 €</span></div>'
    )
    snap = extract(page(body, lang="fr"), "https://www.shop.fr/mixer")
    assert snap.price == Decimal("1226.50")
    assert snap.availability is Availability.IN_STOCK


def test_title_drops_the_site_name_and_variant_tail() -> None:
    head = (
        "<title>Corn Broom | Canadian Tire</title>"
        '<meta property="og:site_name" content="Canadian Tire">'
    )
    assert extract(page("", head=head), "https://www.canadiantire.ca/p").title == "Corn Broom"
    data = {
        "@type": "Product",
        "name": "Sweatshirt - mid grey",
        "offers": {"price": 5, "priceCurrency": "EUR"},
    }
    assert extract(page("<h1>Sweatshirt</h1>", head=ld(data)), URL).title == "Sweatshirt"


def test_reference_from_the_canonical_url_when_no_sku() -> None:
    head = '<link rel="canonical" href="https://www.etsy.com/listing/279237258/purple-dress">'
    data = {"@type": "Product", "name": "Dress", "offers": {"price": 5, "priceCurrency": "USD"}}
    assert (
        extract(page("", head=head + ld(data)), "https://www.etsy.com/x").reference == "279237258"
    )


def test_small_text_page_stock_sentence() -> None:
    body = "<div>price: $10.99</div><div>Out of stock</div>"
    assert extract(page(body), "https://example.com/p").availability is Availability.OUT_OF_STOCK
