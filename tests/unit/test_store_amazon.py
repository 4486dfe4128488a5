"""The Amazon adapter on small pages modelled on Amazon's layouts, plus a corpus check."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.page import Page, load_page
from pricewatch.adapters.scraping.stores.amazon import adapter
from pricewatch.domain.snapshot import Availability
from tests.store_corpus import corpus_misses

CORE_PRICE = """
<div id="corePriceDisplay_desktop_feature_div">
  <div class="a-section">
    <span class="a-price aok-align-center priceToPay" data-a-size="xl">
      <span class="a-offscreen">{price}</span>
      <span aria-hidden="true">{visible}</span>
    </span>
  </div>
  <div class="a-section basisPrice"><span>List Price:</span>
    <span class="a-price a-text-price" data-a-strike="true">
      <span class="a-offscreen">{list_price}</span><span aria-hidden="true">{list_price}</span>
    </span>
  </div>
</div>
"""

CAROUSEL = """
<div id="sims-consolidated-1_feature_div"><h2>Customers who bought this item also bought</h2>
  <ol class="a-carousel"><li class="a-carousel-card">
    <a href="/dp/B000OTHER1">Another thing</a>
    <span class="a-price"><span class="a-offscreen">$12.34</span></span>
  </li></ol>
</div>
"""


def amazon_page(
    body: str,
    *,
    url: str = "https://www.amazon.com/Some-Product/dp/B0TESTASIN",
    lang: str = "en-us",
    head: str = "",
) -> Page:
    """A product page skeleton with `body` inside Amazon's `#dp` container."""
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>Amazon.com: Some product</title>{head}</head>"
        f'<body><div id="dp"><div id="dp-container">{body}</div></div></body></html>'
    )
    return load_page(html, url)


def title(text: str = "Instant Pot Duo 7-in-1 Electric Pressure Cooker") -> str:
    """The product title block."""
    return (
        f'<div id="title_feature_div"><h1 id="title">'
        f'<span id="productTitle">\n  {text}\n  </span></h1></div>'
    )


def parse(page: Page) -> Fields:
    """Run the adapter, checking first that it claims the page."""
    assert adapter.matches(page)
    return adapter.parse(page)


# --- matching -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "www.amazon.com", "amazon.com", "smile.amazon.com", "m.amazon.de", "www.amazon.co.uk",
        "www.amazon.fr", "www.amazon.it", "www.amazon.es", "www.amazon.nl", "www.amazon.ca",
        "www.amazon.com.au", "www.amazon.com.tr", "www.amazon.co.jp", "www.amazon.com.mx",
        "www.amazon.com.br", "www.amazon.in", "www.amazon.se", "www.amazon.pl",
        "www.amazon.com.be", "www.amazon.sg", "www.amazon.ae", "www.amazon.sa", "www.amazon.eg",
    ],
)  # fmt: skip
def test_matches_every_amazon_country_site(host: str) -> None:
    page = load_page("<html><body><p>hello</p></body></html>", f"https://{host}/dp/B0TESTASIN")
    assert adapter.matches(page)


@pytest.mark.parametrize(
    "host", ["example.com", "notamazon.com", "amazon.example.com", "s3.amazonaws.com"]
)
def test_does_not_match_other_hosts_without_amazon_markup(host: str) -> None:
    page = load_page(f"<html><body>{title()}</body></html>", f"https://{host}/p/1")
    assert not adapter.matches(page)


def test_matches_amazon_like_markup_on_another_host() -> None:
    body = title() + '<input type="hidden" id="ASIN" name="ASIN" value="B0NQOQMEIE">'
    page = load_page(f"<html><body>{body}</body></html>", "http://127.0.0.1:8000/p/1")
    assert adapter.matches(page)
    assert adapter.parse(page).reference == "B0NQOQMEIE"


def test_a_mention_of_the_ids_in_a_script_is_not_markup() -> None:
    script = '<script>var ids = ["productTitle", "ASIN"];</script>'
    page = load_page(f"<html><body>{script}</body></html>", "http://127.0.0.1:8000/p/1")
    assert not adapter.matches(page)


# --- title, reference ---------------------------------------------------------------------


def test_title_is_the_product_title_without_trademark_signs() -> None:
    fields = parse(amazon_page(title("Crash™ Team Racing Nitro-Fueled (PS4)")))
    assert fields.title == "Crash Team Racing Nitro-Fueled (PS4)"


def test_kindle_title() -> None:
    body = '<h1 id="title"><span id="ebooksProductTitle">The Whole Truth</span></h1>'
    body += '<span id="kindle-price" class="a-color-price">$10.99</span>'
    assert parse(amazon_page(body)).title == "The Whole Truth"


def test_reference_is_the_asin_input_before_the_url() -> None:
    body = title() + '<input type="hidden" id="ASIN" name="ASIN" value="B00FLYWNYQ">'
    fields = parse(amazon_page(body, url="https://www.amazon.com/x/dp/B0OTHERXXX"))
    assert fields.reference == "B00FLYWNYQ"


def test_reference_from_the_canonical_link() -> None:
    head = '<link rel="canonical" href="https://www.amazon.de/Tassimo-Jacobs/dp/B0095FMJE6">'
    fields = parse(amazon_page(title(), url="https://www.amazon.de/product", head=head))
    assert fields.reference == "B0095FMJE6"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.amazon.com/gp/product/B014I8T0YQ?psc=1",
        "https://www.amazon.com/AmazonBasics-HDMI/dp/B014I8T0YQ/ref=sr_1_1",
    ],
)
def test_reference_from_the_page_url(url: str) -> None:
    assert parse(amazon_page(title(), url=url)).reference == "B014I8T0YQ"


def test_reference_from_a_data_asin_holder() -> None:
    body = title() + '<div id="averageCustomerReviews" data-asin="B07G9ZGL9X"></div>'
    fields = parse(amazon_page(body, url="https://www.amazon.com.au/product"))
    assert fields.reference == "B07G9ZGL9X"


def test_isbn_ten_is_a_valid_book_asin() -> None:
    body = title("Vegetable Perfection") + '<input id="ASIN" value="1849757097">'
    assert parse(amazon_page(body)).reference == "1849757097"


# --- price --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "lang", "price", "expected", "currency"),
    [
        ("https://www.amazon.com/dp/B0TESTASIN", "en-us", "$1,226.50", "1226.50", "USD"),
        ("https://www.amazon.de/dp/B0TESTASIN", "de-de", "1.226,50 €", "1226.50", "EUR"),
        ("https://www.amazon.fr/dp/B0TESTASIN", "fr-fr", "1 226,50 €", "1226.50", "EUR"),
        ("https://www.amazon.co.uk/dp/B0TESTASIN", "en-gb", "£64.99", "64.99", "GBP"),
        ("https://www.amazon.com.tr/dp/B0TESTASIN", "tr-tr", "128,90 TL", "128.90", "TRY"),
        ("https://www.amazon.com.au/dp/B0TESTASIN", "en-au", "$46.34", "46.34", "AUD"),
        ("https://www.amazon.ca/dp/B0TESTASIN", "en-ca", "CDN$ 7.48", "7.48", "CAD"),
        ("https://www.amazon.co.jp/dp/B0TESTASIN", "ja-jp", "￥2,480", "2480", "JPY"),
    ],
)  # fmt: skip
def test_core_price_in_several_locales(
    url: str, lang: str, price: str, expected: str, currency: str
) -> None:
    block = CORE_PRICE.format(price=price, visible=price, list_price="9.999,00")
    fields = parse(amazon_page(title() + block, url=url, lang=lang))
    assert fields.price == Decimal(expected)
    assert fields.currency == currency


def test_price_from_the_visible_parts_when_the_screen_reader_text_is_empty() -> None:
    visible = (
        '<span class="a-price-symbol">$</span><span class="a-price-whole">99'
        '<span class="a-price-decimal">.</span></span><span class="a-price-fraction">95</span>'
    )
    block = CORE_PRICE.format(price=" ", visible=visible, list_price="$109.99")
    fields = parse(amazon_page(title() + block))
    assert fields.price == Decimal("99.95")


def test_struck_list_price_is_never_the_price() -> None:
    block = """
    <div id="corePrice_feature_div">
      <span class="a-price a-text-price" data-a-strike="true">
        <span class="a-offscreen">$109.99</span></span>
      <span class="a-price"><span class="a-offscreen">$99.95</span></span>
    </div>"""
    assert parse(amazon_page(title() + block)).price == Decimal("99.95")


def test_only_a_list_price_gives_no_price() -> None:
    block = """
    <div id="corePriceDisplay_desktop_feature_div">
      <span class="a-price a-text-price" data-a-strike="true">
        <span class="a-offscreen">$109.99</span></span>
    </div>"""
    assert parse(amazon_page(title() + block)).price is None


def test_carousel_price_is_ignored() -> None:
    fields = parse(amazon_page(title() + CAROUSEL))
    assert fields.price is None
    assert fields.title is not None


def test_classic_deal_price_wins_over_struck_our_price() -> None:
    body = (
        title()
        + """
    <div id="price"><table>
      <tr><td>Prix :</td><td><span id="priceblock_ourprice"
          class="a-color-secondary priceBlockBuyingPriceString a-text-strike">75,99 €</span>
      </td></tr>
      <tr><td>Prix de l'offre :</td><td><span id="priceblock_dealprice"
          class="a-size-medium a-color-price priceBlockDealPriceString">64,59 €</span></td></tr>
    </table></div>"""
    )
    fields = parse(amazon_page(body, url="https://www.amazon.fr/dp/B07NSH38J6", lang="fr-fr"))
    assert fields.price == Decimal("64.59")
    assert fields.currency == "EUR"


def test_classic_list_price_row_of_the_price_table_is_ignored() -> None:
    body = (
        title()
        + """
    <div id="price"><table>
      <tr><td>List Price:</td>
        <td><span class="priceBlockStrikePriceString a-text-strike">$199.99</span></td></tr>
      <tr><td>Price:</td>
        <td><span id="priceblock_ourprice" class="a-color-price">$142.90</span></td></tr>
    </table></div>"""
    )
    assert parse(amazon_page(body)).price == Decimal("142.90")


def test_superscript_price_without_decimal_mark() -> None:
    body = (
        title()
        + """
    <span id="priceblock_ourprice" class="a-color-base priceToPayPadding">
      <span class="price-info-superscript">£</span><span class="price-large">34</span>
      <span class="price-info-superscript">99</span>
    </span>"""
    )
    fields = parse(amazon_page(body, url="https://www.amazon.co.uk/dp/B07L4F8LJW", lang="en-gb"))
    assert fields.price == Decimal("34.99")
    assert fields.currency == "GBP"


def test_price_range_takes_the_low_end_with_a_note() -> None:
    body = title() + '<span id="priceblock_ourprice" class="a-color-price">$45.37 - $90.00</span>'
    fields = parse(amazon_page(body))
    assert fields.price == Decimal("45.37")
    assert any("range" in note for note in fields.notes)


def test_kindle_price_row_in_the_buy_box() -> None:
    body = """
    <h1 id="title"><span id="ebooksProductTitle">Platform Revolution</span></h1>
    <div id="buybox"><table><tr class="kindle-price">
      <td>Kindle-prijs:</td>
      <td class="a-color-price a-size-medium">EUR 10,88
        <p class="ebooks-price-savings">Bespaar EUR 8,48 (44%)</p></td>
    </tr></table>
    <input type="submit" id="one-click-button" value="Nu kopen met 1-Click"></div>"""
    fields = parse(amazon_page(body, url="https://www.amazon.nl/dp/B00ZAT8VS4", lang="nl-nl"))
    assert fields.price == Decimal("10.88")
    assert fields.currency == "EUR"
    assert fields.availability is Availability.IN_STOCK


def test_no_buy_box_takes_the_only_offer_with_a_note() -> None:
    body = (
        title()
        + """
    <div id="availability"><span>Available from these sellers.</span></div>
    <div id="unqualifiedBuyBox"><div class="a-text-center">
      <a href="/gp/offer-listing/B07FTHCPDP">1 new</a>
      from <span class="a-color-price">$179.00</span>
    </div></div>"""
    )
    fields = parse(amazon_page(body, url="https://www.amazon.com.au/dp/B07FTHCPDP"))
    assert fields.price == Decimal("179.00")
    assert fields.currency == "AUD"
    assert fields.availability is Availability.IN_STOCK
    assert fields.notes


def test_used_offer_price_only_when_nothing_new_is_offered() -> None:
    used = """
    <div id="usedBuySection"><span class="a-text-bold">Buy used</span>
      <span class="a-color-price offer-price">£4.45</span></div>"""
    new = '<div id="buyNewSection"><span class="a-color-price offer-price">£12.99</span></div>'
    url = "https://www.amazon.co.uk/dp/1849757097"
    both = parse(amazon_page(title() + f'<div id="buybox">{used}{new}</div>', url=url))
    assert both.price == Decimal("12.99")
    only_used = parse(amazon_page(title() + f'<div id="buybox">{used}</div>', url=url))
    assert only_used.price == Decimal("4.45")
    assert any("used" in note for note in only_used.notes)


# --- availability -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("In Stock.", Availability.IN_STOCK),
        ("Only 3 left in stock - order soon.", Availability.IN_STOCK),
        ("Currently unavailable. We don't know when or if this item will be back in stock.",
         Availability.OUT_OF_STOCK),
        ("Temporarily out of stock.", Availability.OUT_OF_STOCK),
        ("En stock.", Availability.IN_STOCK),
        ("Actuellement indisponible.", Availability.OUT_OF_STOCK),
        ("Auf Lager.", Availability.IN_STOCK),
        ("Nur noch 5 auf Lager", Availability.IN_STOCK),
        ("Derzeit nicht verfügbar.", Availability.OUT_OF_STOCK),
        ("Disponibilità immediata.", Availability.IN_STOCK),
        ("Non disponibile.", Availability.OUT_OF_STOCK),
        ("Disponible.", Availability.IN_STOCK),
        ("No disponible.", Availability.OUT_OF_STOCK),
        ("Op voorraad.", Availability.IN_STOCK),
        ("Momenteel niet verkrijgbaar.", Availability.OUT_OF_STOCK),
        ("Stokta var.", Availability.IN_STOCK),
        ("Stokta yok.", Availability.OUT_OF_STOCK),
        ("This item will be released on June 21, 2019. Pre-order now.", Availability.PREORDER),
        ("Cet article paraîtra le 21 juin 2019. Précommandez-le dès maintenant.",
         Availability.PREORDER),
        ("Dieser Artikel erscheint am 21. Juni 2019. Jetzt vorbestellbar.", Availability.PREORDER),
        ("Usually dispatched within 1 to 2 months.", Availability.IN_STOCK),
    ],
)  # fmt: skip
def test_availability_text_in_several_languages(text: str, expected: Availability) -> None:
    body = title() + f'<div id="availability"><span class="a-size-medium">{text}</span></div>'
    assert parse(amazon_page(body)).availability is expected


def test_availability_script_text_is_ignored() -> None:
    body = title() + (
        '<div id="availability"><script>var msg = "Currently unavailable";</script>'
        "<span>In Stock</span></div>"
    )
    assert parse(amazon_page(body)).availability is Availability.IN_STOCK


def test_buy_buttons_mean_in_stock_when_there_is_no_message() -> None:
    body = title() + '<input id="add-to-cart-button" type="submit" title="Add to Shopping Cart">'
    assert parse(amazon_page(body)).availability is Availability.IN_STOCK


def test_pre_order_button() -> None:
    body = title() + '<input id="add-to-cart-button" title="Pre-order this item today">'
    assert parse(amazon_page(body)).availability is Availability.PREORDER


def test_out_of_stock_block() -> None:
    body = title() + '<div id="outOfStock"><span>Ce produit n\'est plus proposé.</span></div>'
    assert parse(amazon_page(body)).availability is Availability.OUT_OF_STOCK


def test_no_signal_leaves_availability_unknown() -> None:
    assert parse(amazon_page(title())).availability is None


# --- brand, images, specs, category, shipping ---------------------------------------------


@pytest.mark.parametrize(
    ("byline", "brand"),
    [
        ("Visit the Instant Pot Store", "Instant Pot"),
        ("Brand: AmazonBasics", "AmazonBasics"),
        ("Marque : Igloohome", "Igloohome"),
        ("Marke: Vogelgaleria", "Vogelgaleria"),
        ("Besuche den Victrola-Store", "Victrola"),
        ("Visita la tienda de Cecotec", "Cecotec"),
        ("Visita lo Store di Michael Kors", "Michael Kors"),
        ("Visiter la boutique Boss", "Boss"),
        ("Waterpik", "Waterpik"),
        ("by ACTIVISION", "ACTIVISION"),
    ],
)
def test_brand_from_the_byline_link(byline: str, brand: str) -> None:
    body = title() + f'<a id="bylineInfo" class="a-link-normal" href="/stores/x">{byline}</a>'
    assert parse(amazon_page(body)).brand == brand


def test_book_author_byline_is_not_a_brand() -> None:
    body = title() + '<div id="bylineInfo"><span>by Mat Follas (Author)</span></div>'
    assert parse(amazon_page(body)).brand is None


def test_brand_row_of_the_details_wins_over_a_storefront_byline() -> None:
    body = (
        title()
        + """
    <a id="bylineInfo" href="/Amazon-Renewed/b">Visit the Amazon Renewed Store</a>
    <table id="productDetails_techSpec_section_1">
      <tr><th>Brand Name</th><td>Samsung</td></tr>
    </table>"""
    )
    assert parse(amazon_page(body)).brand == "Samsung"


def test_largest_dynamic_image_without_old_hires() -> None:
    sizes = {
        "https://m.media-amazon.com/images/I/71a._SX300_.jpg": [300, 300],
        "https://m.media-amazon.com/images/I/71a._SX679_.jpg": [679, 679],
        "https://m.media-amazon.com/images/I/71a._SX425_.jpg": [425, 425],
    }
    attribute = json.dumps(sizes).replace('"', "&quot;")
    body = title() + (
        f'<div id="imgTagWrapperId"><img id="landingImage" src="data:image/gif;base64,R0lGOD" '
        f'data-a-dynamic-image="{attribute}"></div>'
    )
    assert parse(amazon_page(body)).images == [
        "https://m.media-amazon.com/images/I/71a._SX679_.jpg"
    ]


def test_old_hires_image_first() -> None:
    body = title() + (
        '<img id="landingImage" src="https://m.media-amazon.com/images/I/71b._SX300_.jpg" '
        'data-old-hires="https://m.media-amazon.com/images/I/71b._SL1500_.jpg">'
    )
    assert parse(amazon_page(body)).images == [
        "https://m.media-amazon.com/images/I/71b._SL1500_.jpg"
    ]


def test_specs_from_tables_and_detail_bullets() -> None:
    body = (
        title()
        + """
    <table id="productDetails_techSpec_section_1">
      <tr><th class="prodDetSectionEntry"> Item Weight </th><td> 650 Grams </td></tr>
      <tr><th>Colour</th><td>White</td></tr>
    </table>
    <div id="detailBullets_feature_div"><ul>
      <li><span class="a-list-item"><span class="a-text-bold">Fabricant\u200f : \u200e</span>
        <span>Igloohome</span></span></li>
      <li><span class="a-list-item"><span class="a-text-bold">ASIN\u200f : \u200e</span>
        <span>B07G8CVQNK</span></span></li>
    </ul></div>"""
    )
    specs = parse(amazon_page(body)).specs
    assert specs == {
        "Item Weight": "650 Grams",
        "Colour": "White",
        "Fabricant": "Igloohome",
        "ASIN": "B07G8CVQNK",
    }


def test_category_from_the_breadcrumbs() -> None:
    body = (
        title()
        + """
    <div id="wayfinding-breadcrumbs_feature_div"><ul>
      <li><span><a href="/kitchen">Home &amp; Kitchen</a></span></li><li>›</li>
      <li><span><a href="/small">Small Appliances</a></span></li>
    </ul></div>"""
    )
    assert parse(amazon_page(body)).category == "Home & Kitchen > Small Appliances"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("& FREE Delivery in the UK. Delivery Details", Decimal(0)),
        ("Kostenlose Lieferung. Details", Decimal(0)),
        ("& FREE UK Delivery on orders dispatched by Amazon over £20.", None),
        ("GRATIS-Versand für Bestellungen ab EUR 29", None),
        ("+ £4.49 delivery", Decimal("4.49")),
    ],
)
def test_shipping_message(message: str, expected: Decimal | None) -> None:
    body = title() + f'<span id="price-shipping-message">{message}</span>'
    fields = parse(amazon_page(body, url="https://www.amazon.co.uk/dp/B0TESTASIN"))
    assert fields.shipping_cost == expected


def test_current_delivery_block_price() -> None:
    body = title() + (
        '<div id="mir-layout-DELIVERY_BLOCK-slot-PRIMARY_DELIVERY_MESSAGE_LARGE">'
        '<span data-csa-c-delivery-price="FREE" data-csa-c-delivery-condition="">'
        "FREE delivery <b>Tuesday, June 18</b></span></div>"
    )
    assert parse(amazon_page(body)).shipping_cost == Decimal(0)


# --- pages that are not product pages -----------------------------------------------------


def test_captcha_page_gives_empty_fields() -> None:
    html = """<html><head><title>Amazon.com</title></head><body>
      <h4>Enter the characters you see below</h4>
      <p>Sorry, we just need to make sure you're not a robot.</p>
      <form method="get" action="/errors/validateCaptcha">
        <img src="https://images-na.ssl-images-amazon.com/captcha/abc/Captcha_xyz.jpg">
        <input id="captchacharacters" name="field-keywords" type="text">
        <button type="submit">Continue shopping</button>
      </form></body></html>"""
    page = load_page(html, "https://www.amazon.com/dp/B0TESTASIN")
    assert adapter.matches(page)
    fields = adapter.parse(page)
    assert fields.is_empty()
    assert fields.price is None
    assert fields.availability is None


def test_empty_document_gives_empty_fields() -> None:
    page = load_page("<html></html>", "https://www.amazon.com/")
    assert adapter.parse(page).is_empty()


# --- corpus -------------------------------------------------------------------------------

# Pages where the corpus records a convention this adapter deliberately does not follow:
# the midpoint of a "low - high" price range (the page shows no such price; the adapter
# keeps the low end and notes the range), and "in stock" for a page saying "Pre-order now".
POLICY_DIFFERENCES = {
    ("it/amazon_1.html.gz", "price"),
    ("us/amazon_4.html.gz", "price"),
    ("uk/amazon_2.html.gz", "availability"),
}


@pytest.mark.corpus
def test_corpus_accuracy(corpus_dir: Path) -> None:
    checked, misses = corpus_misses(corpus_dir, "amazon", adapter=adapter, skip=POLICY_DIFFERENCES)
    assert checked > 0
    assert not misses


@pytest.mark.corpus
def test_corpus_policy_differences_behave_as_documented(corpus_dir: Path) -> None:
    folder = corpus_dir / "inprice_parser"
    results: dict[str, Any] = {}
    for name, host in (
        ("it/amazon_1.html.gz", "amazon.it"),
        ("uk/amazon_2.html.gz", "amazon.co.uk"),
    ):
        page = load_page(
            gzip.decompress((folder / name).read_bytes()), f"https://www.{host}/product"
        )
        results[name] = adapter.parse(page)
    assert results["it/amazon_1.html.gz"].price == Decimal("13.89")
    assert any("range" in note for note in results["it/amazon_1.html.gz"].notes)
    assert results["uk/amazon_2.html.gz"].availability is Availability.PREORDER


@pytest.mark.corpus
@pytest.mark.parametrize("folder", ["metascraper_amazon", "thereyouwish"])
def test_corpus_current_layout_pages(corpus_dir: Path, folder: str) -> None:
    """Newer Amazon pages: title, ASIN and (where recorded) the price."""
    misses = []
    for line in (corpus_dir / folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "amazon." not in (record.get("domain") or ""):
            continue
        html = gzip.decompress((corpus_dir / folder / record["file"]).read_bytes())
        fields = parse(load_page(html, f"https://{record['domain']}/product"))
        expected = {"title": record["title"], "reference": record["reference"]}
        got: dict[str, Any] = {"title": fields.title, "reference": fields.reference}
        if record.get("price"):
            expected["price"], got["price"] = Decimal(record["price"]), fields.price
        if got != expected:
            misses.append(f"{record['file']}: {got} != {expected}")
    assert not misses
