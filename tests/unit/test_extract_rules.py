"""General extraction rules on small hand-written pages: app state, titles, offers, stock."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pricewatch.adapters.scraping.extract import extract
from pricewatch.adapters.scraping.page import load_page, parse_json_leniently
from pricewatch.domain.snapshot import Availability

URL = "https://www.gadgetshop.example/item/kettle"


def page(body: str, *, head: str = "", lang: str = "en") -> str:
    return f'<html lang="{lang}"><head>{head}</head><body>{body}</body></html>'


def ld(data: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def next_data(data: Any) -> str:
    return f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(data)}</script>'


# --- embedded application state ------------------------------------------------------------


def test_next_data_product_matched_by_its_h1() -> None:
    state = {
        "props": {
            "pageProps": {
                "menu": [{"name": "Kettles", "price": 5}],
                "product": {
                    "id": 4471122,
                    "name": "Steel Kettle 1.7 L",
                    "ean": ["4006381333931"],
                    "offers": [
                        {"seller": "A", "price": 39.9, "currency": "EUR"},
                        {"seller": "B", "price": 35.5, "currency": "EUR"},
                    ],
                    "description": "x" * 300,
                },
            }
        }
    }
    snap = extract(page("<h1>Steel Kettle 1.7 L</h1>" + next_data(state)), URL)
    # The site's own first offer, not the cheapest of the list and not the menu entry.
    assert (snap.price, snap.currency) == (Decimal("39.9"), "EUR")
    assert (snap.reference, snap.gtin) == ("4471122", "4006381333931")
    assert snap.availability is Availability.IN_STOCK
    assert "app-state" in snap.fetch.notes[0]


def test_window_state_assignment_reads_the_selling_price_not_the_original() -> None:
    state = {
        "product": {
            "name": "Travel Backpack 30 L",
            "id": 99812,
            "hasStock": False,
            "price": {
                "originalPrice": {"text": "149,90", "value": 149.9},
                "sellingPrice": {"text": "118", "value": 118},
            },
            "filler": "y" * 300,
        }
    }
    script = f"<script>window.__PRODUCT_APP_STATE__ = {json.dumps(state)};</script>"
    html = page(script, head='<meta property="og:title" content="Travel Backpack 30 L | Shop">')
    snap = extract(html, "https://www.bags.example/travel-backpack-p-99812")
    assert snap.price == Decimal("118")
    assert snap.availability is Availability.OUT_OF_STOCK
    assert snap.title == "Travel Backpack 30 L"


def test_app_state_of_another_product_is_ignored() -> None:
    state = {"product": {"name": "Garden Hose 20 m", "id": 5551234, "price": 19.99}}
    html = page("<h1>Steel Kettle</h1>" + next_data({"pad": "z" * 300, **state}))
    snap = extract(html, URL)
    assert snap.price is None


def test_app_state_is_not_read_when_the_markup_has_a_price() -> None:
    product = {"@type": "Product", "name": "Steel Kettle", "offers": {"price": "25.00"}}
    state = {"product": {"name": "Steel Kettle", "price": 99.0, "pad": "z" * 300}}
    snap = extract(page("<h1>Steel Kettle</h1>" + ld(product) + next_data(state)), URL)
    assert snap.price == Decimal("25.00")
    assert "app-state" not in snap.fetch.notes[0]


# --- JSON-LD shapes ----------------------------------------------------------------------------


def test_json_ld_with_a_stray_closing_brace_is_still_read() -> None:
    assert parse_json_leniently('{"a": 1}\n}') == {"a": 1}
    assert parse_json_leniently('{"a": 1}{"b": 2}') == [{"a": 1}, {"b": 2}]
    body = '<script type="application/ld+json">{"@type": "Product", "name": "Fan"}}</script>'
    assert extract(page(body), URL).title == "Fan"


def test_product_inside_an_offer_of_a_page_element() -> None:
    data = {
        "@type": "WebPage",
        "mainEntity": {
            "@type": "WebPageElement",
            "offers": {
                "@type": "Offer",
                "itemOffered": [
                    {"@type": "Product", "name": "Book Set", "offers": {"price": "65.84"}}
                ],
            },
        },
    }
    snap = extract(page(ld(data)), URL)
    assert (snap.title, snap.price) == ("Book Set", Decimal("65.84"))


def test_several_offers_the_buy_box_price_wins() -> None:
    data = {
        "@type": "Product",
        "name": "Keyboard",
        "offers": {
            "@type": "AggregateOffer",
            "lowPrice": "159.00",
            "offers": [{"@type": "Offer", "price": "189.00", "url": URL}],
        },
    }
    body = (
        "<h1>Keyboard</h1><div class='buy'><span class='old-price'>189,00 €</span>"
        "<span class='price'>159,00 €</span><button class='add-to-cart'>Add to cart</button></div>"
    )
    assert extract(page(body, head=ld(data)), URL).price == Decimal("159.00")


def test_several_offers_without_a_shown_price_take_the_lowest_in_stock() -> None:
    offers = [
        {"@type": "Offer", "price": "9.00", "availability": "https://schema.org/OutOfStock"},
        {"@type": "Offer", "price": "12.00", "availability": "https://schema.org/InStock"},
        {"@type": "Offer", "price": "15.00", "availability": "https://schema.org/InStock"},
    ]
    data = {"@type": "Product", "name": "Duvet", "offers": offers}
    assert extract(page(ld(data)), URL).price == Decimal("12.00")


# --- titles ----------------------------------------------------------------------------------


def test_footnote_mark_in_the_h1_is_no_part_of_the_name() -> None:
    body = "<h1>Dustpan &amp; Brush Set<sup class='note'>1</sup> </h1>"
    assert extract(page(body), URL).title == "Dustpan & Brush Set"
    microdata = (
        "<div itemscope itemtype='https://schema.org/Product'>"
        "<h1 itemprop='name'>Spirit Level<sup>2</sup></h1></div>"
    )
    assert extract(page(microdata), URL).title == "Spirit Level"


def test_a_product_name_containing_the_shop_name_is_kept() -> None:
    head = '<meta property="og:title" content="GadgetShop Convex Mirror 30 cm">'
    snap = extract(page("<p>x</p>", head=head), URL)
    assert snap.title == "GadgetShop Convex Mirror 30 cm"


def test_shop_segment_and_buy_suffix_are_dropped_from_the_page_title() -> None:
    head = "<title>Relax Chair online kaufen | GadgetShop</title>"
    assert extract(page("<p>x</p>", head=head), URL).title == "Relax Chair"
    head = "<title>Steam Iron Fiyatı ve Özellikleri - GadgetShop</title>"
    assert extract(page("<p>x</p>", head=head), URL).title == "Steam Iron"


def test_a_header_block_inside_main_holds_the_product_name() -> None:
    body = "<main><div class='header'><h1>Ceiling Fan Eco 152</h1></div></main>"
    assert extract(page(body), URL).title == "Ceiling Fan Eco 152"


# --- stock -----------------------------------------------------------------------------------

_STALE_OUT_OF_STOCK = (
    "<div itemscope itemtype='http://schema.org/Product'><h1 itemprop='name'>Power Strip</h1>"
    "<div itemprop='offers' itemscope itemtype='http://schema.org/Offer'>"
    "<meta itemprop='price' content='4.99'><meta itemprop='priceCurrency' content='EUR'>"
    "<meta itemprop='availability' content='http://schema.org/OutOfStock'></div></div>"
)


def test_clickable_cart_and_in_stock_label_beat_a_stale_out_of_stock() -> None:
    body = (
        _STALE_OUT_OF_STOCK
        + "<div class='availability-box'><p><span>Online auf Lager</span> noch 3 Stück</p>"
        "<div class='availability-price'>€ 1.99 Versand, schnelle Lieferung heute</div></div>"
        "<button class='add-to-cart'>In den Warenkorb</button>"
    )
    snap = extract(page(body, lang="de"), "https://www.elektro.example/p/1")
    assert snap.availability is Availability.IN_STOCK
    assert "buy box says in stock" in " ".join(snap.fetch.notes)


def test_structured_out_of_stock_stays_without_an_in_stock_label() -> None:
    body = _STALE_OUT_OF_STOCK + "<button class='add-to-cart'>In den Warenkorb</button>"
    snap = extract(page(body, lang="de"), "https://www.elektro.example/p/1")
    assert snap.availability is Availability.OUT_OF_STOCK


# --- page lookups ----------------------------------------------------------------------------


def test_name_index_tokens_match_whole_class_names_only() -> None:
    html = page(
        "<div class='site-header x'>a</div><div class='headerless'>b</div><nav id='nav'>c</nav>"
    )
    found = load_page(html, URL).names.find_tokens("site-header", "nav")
    assert [e.text for e in found] == ["a", "c"]


def test_elements_by_tag_in_document_order() -> None:
    html = page("<input type='submit' value='a'><button>b</button><input value='c'>")
    loaded = load_page(html, URL)
    assert [e.tag for e in loaded.elements("button", "input")] == ["input", "button", "input"]
    assert [e.text for e in loaded.elements("button")] == ["b"]


# --- visible price -----------------------------------------------------------------------------


def test_a_price_box_holding_the_old_price_reads_the_selling_one() -> None:
    body = (
        "<h1>Mouse</h1><div class='product-price'><span class='old-price'>189 €</span>"
        "<span class='discount'>-16%</span> <span class='now'>159 €</span></div>"
        "<button class='add-to-cart'>Add to cart</button>"
    )
    assert extract(page(body), URL).price == Decimal("159")


def test_integer_and_decimal_parts_in_separate_elements() -> None:
    body = (
        "<h1>Towel</h1><span class='price-tag'><span class='integer-place'>10</span>"
        "<span class='decimal-place'>99</span><span class='currency'>€</span></span>"
    )
    assert extract(page(body, lang="fr"), "https://www.linge.example/p/1").price == Decimal("10.99")


def test_hidden_list_of_size_offers_is_not_the_shown_price() -> None:
    body = (
        "<h1>Bedspread</h1><div style='display: none'><span itemprop='price'>32.99</span></div>"
        "<div class='buy'><span class='price'>14,99 €</span>"
        "<button class='add-to-cart'>Add to cart</button></div>"
    )
    assert extract(page(body), URL).price == Decimal("14.99")


def test_microdata_name_list_takes_the_one_the_page_shows() -> None:
    body = (
        "<h1>Outdoor Boot</h1><div itemscope itemtype='http://schema.org/Product'>"
        "<meta itemprop='name' content='Outdoor Boot with laces and warm lining'>"
        "<meta itemprop='name' content='Outdoor Boot'>"
        "<div itemprop='offers' itemscope itemtype='http://schema.org/Offer'>"
        "<meta itemprop='price' content='39.99'></div></div>"
    )
    snap = extract(page(body), URL)
    assert (snap.title, snap.price) == ("Outdoor Boot", Decimal("39.99"))
