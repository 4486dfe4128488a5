"""The Cdiscount adapter on small pages modelled on Cdiscount's product sheet."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.page import Page, load_page
from pricewatch.adapters.scraping.stores.cdiscount import adapter
from pricewatch.domain.snapshot import Availability
from tests.store_corpus import corpus_misses

PRODUCT_URL = (
    "https://www.cdiscount.com/electromenager/aspirateurs-nettoyeurs/"
    "dyson-aspirateur-balai-v8-absolute/f-1101410-dys5025155031513.html"
)

PRICE_BLOCK = """
<div class="fTopPrice jsContent" id="fpBlocPrice">
  <form id="addForm">
    <input id="ProductFormData_ProductPostedForm_ProductId" type="hidden" value="DYS5025155031513">
    <div class="fpPriceBloc jsFpPriceBloc">
      {strike}
      <span class="fpPrice price jsMainPrice jsProductPrice" itemprop="price"
            content="{content}">{price}</span>
      <div class="fpLayer4x"><span class="fpLayerBlock4x" itemprop="price">97€18</span></div>
    </div>
  </form>
</div>
"""


def cdiscount_page(
    *,
    price: str = "379€99",
    content: str = "379.99",
    strike: str = "",
    stock: str = "",
    button: bool = True,
    extra: str = "",
    url: str = PRODUCT_URL,
    head: str = "",
) -> Page:
    """A product sheet with the given price block, stock line and extras."""
    add = '<input type="submit" value="Ajouter au panier" id="fpAddBsk">' if button else ""
    block = PRICE_BLOCK.format(price=price, content=content, strike=strike)
    html = f"""<!doctype html><html lang="fr"><head><title>Dyson V8 - Cdiscount</title>{head}
    </head><body><div id="main">
      <input type="hidden" id="TechFormProductId" value="dys5025155031513">
      <div id="fpZnPrdMain"><div class="fpDesCol">
        <h1 itemprop="name">    DYSON Aspirateur balai V8 ABSOLUTE NEW</h1>
        <span class="dn" itemprop="brand">DYSON</span>
        <a itemprop="image" href="https://i2.cdscdn.com/pdt2/5/1/3/1/700x700/dys50/rw/v8.jpg">x</a>
      </div>
      {block}
      <div id="fpStock"><div class="fpStock">{stock}</div></div>
      {add}
      </div>{extra}
    </div></body></html>"""
    return load_page(html, url)


def parse(page: Page) -> Fields:
    """Run the adapter, checking first that it claims the page."""
    assert adapter.matches(page)
    return adapter.parse(page)


@pytest.mark.parametrize("host", ["www.cdiscount.com", "cdiscount.com", "m.cdiscount.com"])
def test_matches_cdiscount(host: str) -> None:
    assert adapter.matches(load_page("<html></html>", f"https://{host}/f-1-abc.html"))


@pytest.mark.parametrize("host", ["example.com", "cdiscount.example.com", "www.fnac.com"])
def test_does_not_match_other_hosts(host: str) -> None:
    assert not adapter.matches(load_page("<html></html>", f"https://{host}/f-1-abc.html"))


def test_reads_the_product_sheet() -> None:
    fields = parse(cdiscount_page(stock="En Stock !"))
    assert fields.title == "DYSON Aspirateur balai V8 ABSOLUTE NEW"
    assert fields.price == Decimal("379.99")
    assert fields.currency == "EUR"
    assert fields.reference == "dys5025155031513"
    assert fields.availability is Availability.IN_STOCK
    assert fields.brand == "DYSON"
    assert fields.images == ["https://i2.cdscdn.com/pdt2/5/1/3/1/700x700/dys50/rw/v8.jpg"]


def test_price_text_with_euro_sign_as_decimal_mark() -> None:
    fields = parse(cdiscount_page(price="1 099€99", content=""))
    assert fields.price == Decimal("1099.99")


def test_struck_reference_price_and_instalments_are_ignored() -> None:
    strike = '<div class="fpBSStrikePrice"><p class="fpStriked">982,67 €</p></div>'
    assert parse(cdiscount_page(price="699€99", content="699.99", strike=strike)).price == (
        Decimal("699.99")
    )


def test_reference_from_the_canonical_link_before_the_form() -> None:
    head = (
        '<link rel="canonical" href="https://www.cdiscount.com/telephonie/op-mp/'
        'apple-iphone-x-gris-sideral-64go/f-1448839-iphonex64gogs.html">'
    )
    page = cdiscount_page(url="https://www.cdiscount.com/product", head=head)
    assert parse(page).reference == "iphonex64gogs"


def test_reference_from_the_hidden_product_id_without_a_product_url() -> None:
    page = cdiscount_page(url="https://www.cdiscount.com/product")
    assert parse(page).reference == "dys5025155031513"


@pytest.mark.parametrize(
    ("stock", "button", "expected"),
    [
        ("En Stock !", True, Availability.IN_STOCK),
        ("", True, Availability.IN_STOCK),
        ("Rupture de stock", False, Availability.OUT_OF_STOCK),
        ("Produit épuisé", False, Availability.OUT_OF_STOCK),
        ("Précommande : disponible à partir du 12/10", True, Availability.PREORDER),
        ("", False, None),
    ],
)
def test_availability(stock: str, button: bool, expected: Availability | None) -> None:
    assert parse(cdiscount_page(stock=stock, button=button)).availability is expected


def test_specs_category_and_free_delivery() -> None:
    extra = """
    <div id="bc"><nav><ul>
      <li class="bcBack jsBack"><a href="/l-1101410.html">Retour aux offres</a></li>
      <li><a href="https://www.cdiscount.com"><span>Accueil</span></a></li>
      <li><a href="/electromenager/v-110-0.html"><span>Electromenager</span></a></li>
      <li><a href="/electromenager/l-1101410.html"><span>Aspirateur balai</span></a></li>
    </ul></nav></div>
    <div id="fpShipping"><div class="fpShippingText">Livraison gratuite <span>(1)</span></div></div>
    <table class="fpDescTb fpDescTbPub"><tbody>
      <tr><th colspan="2">Informations générales sur le produit</th></tr>
      <tr><td>Marque</td><td><span><a href="/m-2826-dyson.html">DYSON</a></span> <br></td></tr>
      <tr><td>Capacité du collecteur</td><td>0,54 L <br></td></tr>
    </tbody></table>"""
    fields = parse(cdiscount_page(extra=extra))
    assert fields.specs == {"Marque": "DYSON", "Capacité du collecteur": "0,54 L"}
    assert fields.category == "Electromenager > Aspirateur balai"
    assert fields.shipping_cost == Decimal(0)


def test_blocked_page_gives_empty_fields() -> None:
    html = """<html><head><title>Cdiscount</title></head><body>
      <div class="captcha"><p>Veuillez confirmer que vous n'êtes pas un robot.</p>
      <iframe src="https://geo.captcha-delivery.com/captcha/?initialCid=x"></iframe></div>
      </body></html>"""
    page = load_page(html, PRODUCT_URL)
    assert adapter.matches(page)
    assert adapter.parse(page).is_empty()


# --- corpus -------------------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_accuracy(corpus_dir: Path) -> None:
    checked, misses = corpus_misses(corpus_dir, "cdiscount", adapter=adapter)
    assert checked > 0
    assert not misses
