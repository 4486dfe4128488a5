"""The eBay adapter on small pages modelled on eBay's classic and current layouts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.page import Page, load_page
from pricewatch.adapters.scraping.stores.ebay import adapter
from pricewatch.domain.snapshot import Availability
from tests.store_corpus import corpus_misses

ITEM_URL = "https://www.ebay.com/itm/Portable-Luggage-Scale/311777636467"


def classic_page(
    *,
    title: str = "Portable Travel 50kg LCD Digital Hanging Luggage Scale",
    prefix: str = "Details about",
    price: str = '<span class="notranslate" id="prcIsum" itemprop="price">US $8.99</span>',
    extra: str = "",
    url: str = ITEM_URL,
    lang: str = "en",
) -> Page:
    """A classic ("vi") listing page with a Buy It Now box."""
    html = f"""<!doctype html><html lang="{lang}"><head><title>{title} | eBay</title></head>
    <body><div id="CenterPanelInternal">
      <h1 class="it-ttl" itemprop="name" id="itemTitle">
        <span class="g-hdn">{prefix} </span>{title}</h1>
      <div class="actPanel"><div class="u-cb">
        <div class="vi-price">{price}</div>
        <a role="button" id="binBtn_btn" class="btn btn-prim" href="#">Buy It Now</a>
      </div></div>
      {extra}
    </div></body></html>"""
    return load_page(html, url)


def current_page(body: str, *, url: str = ITEM_URL) -> Page:
    """A current ("x-"/"ux-") listing page."""
    html = f"""<!doctype html><html lang="en"><head><title>Listing | eBay</title></head>
    <body><div id="mainContent">{body}</div></body></html>"""
    return load_page(html, url)


def parse(page: Page) -> Fields:
    """Run the adapter, checking first that it claims the page."""
    assert adapter.matches(page)
    return adapter.parse(page)


@pytest.mark.parametrize(
    "host",
    [
        "www.ebay.com", "ebay.com", "m.ebay.com", "www.ebay.co.uk", "www.ebay.de", "www.ebay.fr",
        "www.ebay.es", "www.ebay.it", "www.ebay.nl", "www.ebay.com.au", "www.ebay.ca",
        "cafr.ebay.ca", "www.ebay.at", "www.ebay.ch", "befr.ebay.be", "www.ebay.ie",
        "www.ebay.pl",
    ],
)  # fmt: skip
def test_matches_every_ebay_site(host: str) -> None:
    assert adapter.matches(load_page("<html><body></body></html>", f"https://{host}/itm/1"))


@pytest.mark.parametrize("host", ["example.com", "ebay.example.com", "notebay.com"])
def test_does_not_match_other_hosts(host: str) -> None:
    assert not adapter.matches(load_page("<html><body></body></html>", f"https://{host}/itm/1"))


# --- title and reference ------------------------------------------------------------------


def test_title_without_the_hidden_prefix_or_the_original_title_link() -> None:
    extra_link = (
        '<span style="white-space: nowrap;"><span class="it-icon-pd">-</span>'
        '<a class="it-sttl" href="#">mostra il titolo originale</a></span>'
    )
    page = classic_page(
        title=f"NUOVI Pantaloncini Uomo Nike Logo{extra_link}",
        prefix="Dettagli su",
        url="https://www.ebay.it/itm/281732849736",
        lang="it",
    )
    assert parse(page).title == "NUOVI Pantaloncini Uomo Nike Logo"


def test_title_drops_trademark_signs() -> None:
    assert (
        parse(classic_page(title="LivingBasics® 1000W Cooker")).title == "LivingBasics 1000W Cooker"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://www.ebay.com/itm/Portable-Luggage-Scale/311777636467?hash=item4896",
        "https://www.ebay.com/itm/311777636467",
        "https://www.ebay.co.uk/itm/Nextbase-Dash-Cam-/311777636467",
    ],
)
def test_reference_is_the_item_number_of_the_url(url: str) -> None:
    assert parse(classic_page(url=url)).reference == "311777636467"


def test_reference_from_the_page_when_the_url_has_none() -> None:
    extra = '<div id="descItemNumber" class="iti-act-num">253639280508</div>'
    page = classic_page(extra=extra, url="https://www.ebay.com.au/product")
    assert parse(page).reference == "253639280508"


def test_reference_from_the_canonical_link() -> None:
    html = """<html><head><link rel="canonical"
      href="https://www.ebay.de/itm/adidas-Core-18-Kapuzenpullover-/143052381051"></head>
      <body><h1 id="itemTitle">adidas Core 18</h1>
      <span id="prcIsum" itemprop="price" content="24.95">EUR 24,95</span></body></html>"""
    assert parse(load_page(html, "https://www.ebay.de/product")).reference == "143052381051"


# --- price and currency -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "price", "expected", "currency"),
    [
        ("www.ebay.com", "US $136.00", "136.00", "USD"),
        ("www.ebay.com.au", "AU $99.95", "99.95", "AUD"),
        ("www.ebay.ca", "C $214.99", "214.99", "CAD"),
        ("www.ebay.co.uk", "£49.95", "49.95", "GBP"),
        ("www.ebay.de", "EUR 1.229,90", "1229.90", "EUR"),
        ("www.ebay.fr", "2,89 EUR", "2.89", "EUR"),
        ("www.ebay.ch", "CHF 1'226.50", "1226.50", "CHF"),
    ],
)
def test_buy_it_now_price_and_currency(host: str, price: str, expected: str, currency: str) -> None:
    element = f'<span class="notranslate" id="prcIsum" itemprop="price">{price}</span>'
    fields = parse(classic_page(price=element, url=f"https://{host}/itm/311777636467"))
    assert fields.price == Decimal(expected)
    assert fields.currency == currency


def test_machine_readable_content_settles_the_amount() -> None:
    element = (
        '<span id="prcIsum" itemprop="price" content="1299.0">EUR 1,299</span>'
        '<span itemprop="priceCurrency" content="EUR"></span>'
    )
    fields = parse(classic_page(price=element, url="https://www.ebay.de/itm/311777636467"))
    assert fields.price == Decimal("1299.0")
    assert fields.currency == "EUR"


def test_discounted_price_before_the_regular_one() -> None:
    element = (
        '<span id="mm-saleOrgPrc" class="vi-originalPrice">US $10.99</span>'
        '<span class="notranslate" id="mm-saleDscPrc">US $8.07</span>'
    )
    assert parse(classic_page(price=element)).price == Decimal("8.07")


def test_site_currency_conversion_is_the_price_and_the_listing_price_a_note() -> None:
    element = """<span class="notranslate" id="prcIsum" itemprop="price">US $8,99</span>
      <span itemprop="priceCurrency" content="USD"></span>
      <div id="prcIsumConv">Ongeveer <span id="convbinPrice">EUR 7,93<span>(inclusief
      verzendkosten)</span></span></div>"""
    page = classic_page(price=element, url="https://www.ebay.nl/itm/311777636467", lang="nl")
    fields = parse(page)
    assert fields.price == Decimal("7.93")
    assert fields.currency == "EUR"
    assert any("US $8,99" in note for note in fields.notes)


def test_auction_gives_the_current_bid_with_a_note() -> None:
    element = '<span class="notranslate" id="prcIsum_bidPrice" itemprop="price">US $10.50</span>'
    fields = parse(classic_page(price=element))
    assert fields.price == Decimal("10.50")
    assert any("auction" in note for note in fields.notes)


def test_auction_with_buy_it_now_takes_the_buy_it_now_price() -> None:
    element = (
        '<span id="prcIsum_bidPrice">US $10.50</span>'
        '<span class="notranslate" id="prcIsum" itemprop="price">US $25.00</span>'
    )
    fields = parse(classic_page(price=element))
    assert fields.price == Decimal("25.00")
    assert any("Buy It Now" in note for note in fields.notes)


def test_similar_items_prices_are_ignored() -> None:
    similar = """<div id="merch_html_100005"><h2>Similar sponsored items</h2>
      <ul><li><a href="/itm/123456789999">Other scale</a>
        <span class="bold">US $5.49</span></li></ul>
    </div>"""
    fields = parse(classic_page(price="", extra=similar))
    assert fields.price is None
    assert fields.title is not None


# --- availability and shipping ------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("10 available", Availability.IN_STOCK),
        ("Limited quantity available", Availability.IN_STOCK),
        ("Last one", Availability.IN_STOCK),
        ("Begrenzte Stückzahl verfügbar", Availability.IN_STOCK),
        ("7 disponible(s)", Availability.IN_STOCK),
        ("Out of stock", Availability.OUT_OF_STOCK),
        ("Ausverkauft", Availability.OUT_OF_STOCK),
    ],
)
def test_quantity_line(quantity: str, expected: Availability) -> None:
    extra = f'<span id="qtySubTxt">{quantity}</span>'
    assert parse(classic_page(extra=extra)).availability is expected


def test_ended_listing_is_out_of_stock() -> None:
    extra = """<div id="msgPanel" class="pnl"><div class="msgPad">
      <span class="msgTextAlign">This listing has ended. The seller has relisted this item
      or one like this.</span></div></div>"""
    assert parse(classic_page(extra=extra)).availability is Availability.OUT_OF_STOCK


def test_buy_button_alone_means_in_stock() -> None:
    assert parse(classic_page()).availability is Availability.IN_STOCK


@pytest.mark.parametrize(
    ("shipping", "expected"),
    [
        ("FREE", Decimal(0)),
        ("Gratis", Decimal(0)),
        ("US $78.45", Decimal("78.45")),
        ("GBP 9,99 (circa US $12.50)", Decimal("12.50")),
        ("See details", None),
    ],
)
def test_shipping_cost_in_the_price_currency(shipping: str, expected: Decimal | None) -> None:
    extra = f'<span id="fshippingCost" class="notranslate sh-cst">{shipping}</span>'
    assert parse(classic_page(extra=extra)).shipping_cost == expected


# --- item specifics, brand, category, images ----------------------------------------------


def test_item_specifics_brand_and_condition_name() -> None:
    extra = """<div class="itemAttr" id="viTabs_0_is"><table>
      <tr><td class="attrLabels">Condition:</td>
          <td><div aria-live="polite">New: <span id="vi-cond-addl-info">A brand-new,
              unused, unopened, undamaged item</span></div></td>
          <td class="attrLabels">Brand:</td>
          <td><h2 itemprop="brand"><span itemprop="name">FXR</span></h2></td></tr>
      <tr><td class="attrLabels">Model:</td><td><h2 itemprop="model">Helix Jacket</h2></td></tr>
    </table></div>"""
    fields = parse(classic_page(extra=extra))
    assert fields.specs == {"Condition": "New", "Brand": "FXR", "Model": "Helix Jacket"}
    assert fields.brand == "FXR"


def test_unbranded_is_not_a_brand() -> None:
    extra = """<div id="viTabs_0_is"><table><tr><td class="attrLabels">Brand:</td>
      <td><span>Unbranded</span></td></tr></table></div>"""
    assert parse(classic_page(extra=extra)).brand is None


def test_category_is_the_first_trail_without_the_see_more_link() -> None:
    extra = """<table><tr><td id="vi-VR-brumb-lnkLst"><table>
      <tr><td><ul itemtype="https://schema.org/BreadcrumbList">
        <li><a itemprop="item" href="/b/Home-Garden/11700"><span itemprop="name">Home &amp;
          Garden</span></a></li><li>&gt;</li>
        <li><a itemprop="item" href="/b/Augers/169164"><span itemprop="name">Augers</span></a></li>
        <li><span itemprop="name"><a href="/p/123">See more 52cc Auger</a></span></li>
      </ul></td></tr>
      <tr><td><ul><li><a itemprop="item" href="/b/Tools/631"><span>Tools</span></a></li></ul>
      </td></tr></table></td></tr></table>"""
    assert parse(classic_page(extra=extra)).category == "Home & Garden > Augers"


def test_main_image() -> None:
    extra = '<img id="icImg" src="https://i.ebayimg.com/images/g/xSAAAOSw/s-l500.jpg">'
    assert parse(classic_page(extra=extra)).images == [
        "https://i.ebayimg.com/images/g/xSAAAOSw/s-l500.jpg"
    ]


# --- current layout -----------------------------------------------------------------------

CURRENT = """
<div class="vim x-item-title"><h1 class="x-item-title__mainTitle">
  <span class="ux-textspans ux-textspans--BOLD">Beats Studio3 Wireless Headphones</span></h1></div>
<div class="x-price-section">
  <div class="x-bin-price"><div class="x-price-primary" data-testid="x-price-primary">
    <span class="ux-textspans">{price}</span></div>
    {approx}
  </div>
</div>
<div class="x-quantity__availability"><span class="ux-textspans">{quantity}</span></div>
<div class="ux-labels-values ux-labels-values--shipping">
  <div class="ux-labels-values__labels"><span class="ux-textspans">Shipping:</span></div>
  <div class="ux-labels-values__values"><span class="ux-textspans--BOLD">{shipping}</span></div>
</div>
<div class="ux-layout-section__textual-display ux-layout-section__textual-display--itemId">
  <span class="ux-textspans ux-textspans--SECONDARY">eBay item number:</span>
  <span class="ux-textspans ux-textspans--BOLD">303117084799</span></div>
<div class="ux-layout-section-evo">
  <dl class="ux-labels-values">
    <dt class="ux-labels-values__labels"><span>Brand</span></dt>
    <dd class="ux-labels-values__values"><span>Beats by Dr. Dre</span></dd></dl>
</div>
"""


def current(
    *,
    price: str = "C $214.99",
    approx: str = "",
    quantity: str = "More than 10 available",
    shipping: str = "Free",
) -> str:
    """The current layout's listing blocks."""
    return CURRENT.format(price=price, approx=approx, quantity=quantity, shipping=shipping)


def test_current_layout_reads_every_field() -> None:
    fields = parse(current_page(current(), url="https://www.ebay.ca/product"))
    assert fields.title == "Beats Studio3 Wireless Headphones"
    assert fields.price == Decimal("214.99")
    assert fields.currency == "CAD"
    assert fields.availability is Availability.IN_STOCK
    assert fields.shipping_cost == Decimal(0)
    assert fields.reference == "303117084799"
    assert fields.brand == "Beats by Dr. Dre"


def test_current_layout_conversion() -> None:
    approx = (
        '<div class="x-price-approx"><span class="ux-textspans--SECONDARY">Approximately</span>'
        '<span class="ux-textspans--BOLD">EUR 7.93</span></div>'
    )
    page = current_page(current(price="US $8.99", approx=approx), url="https://www.ebay.nl/itm/1")
    fields = parse(page)
    assert (fields.price, fields.currency) == (Decimal("7.93"), "EUR")


def test_current_layout_auction() -> None:
    body = current().replace("x-bin-price", "x-bid-price")
    fields = parse(current_page(body))
    assert fields.price == Decimal("214.99")
    assert any("auction" in note for note in fields.notes)


def test_current_layout_ended_listing() -> None:
    status = (
        '<div class="d-statusmessage"><div class="ux-message__content">This listing was ended'
        " by the seller because the item is no longer available.</div></div>"
    )
    fields = parse(current_page(status + current(quantity="")))
    assert fields.availability is Availability.OUT_OF_STOCK


# --- pages that are not listings ----------------------------------------------------------


def test_captcha_page_gives_empty_fields() -> None:
    html = """<html><head><title>Security Measure</title></head><body>
      <h1>Please verify yourself to continue</h1>
      <form id="captcha_form" action="/splashui/captcha_submit" method="post">
        <div id="captcha_loading"></div><button id="submitBtn">Continue</button>
      </form></body></html>"""
    page = load_page(html, "https://www.ebay.com/itm/311777636467")
    assert adapter.matches(page)
    fields = adapter.parse(page)
    assert fields.is_empty()


# --- corpus -------------------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_accuracy(corpus_dir: Path) -> None:
    checked, misses = corpus_misses(corpus_dir, "ebay", adapter=adapter)
    assert checked > 0
    assert not misses
