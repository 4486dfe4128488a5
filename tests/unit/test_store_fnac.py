"""The Fnac adapter on small pages modelled on Fnac's product page."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.page import Page, load_page
from pricewatch.adapters.scraping.stores.fnac import adapter
from pricewatch.domain.snapshot import Availability
from tests.store_corpus import corpus_misses

PRODUCT_URL = "https://www.fnac.com/Blender-Moulinex-Freshboost-LM181D10-800-W-Noir/a12697511/w-4"

HEADER = """
<section class="f-productHeader js-articleHeader">
  <ul class="f-breadcrumb">
    <li class="f-breadcrumb-item"><a class="f-breadcrumb-link" href="https://www.fnac.com/">Accueil</a></li>
    <li class="f-breadcrumb-item"><a class="f-breadcrumb-link"
        href="https://www.fnac.com/Maison-Electromenager/s1">Maison, Electroménager</a></li>
    <li class="f-breadcrumb-item"><a class="f-breadcrumb-link"
        href="https://www.fnac.com/Preparation-culinaire/s2">Préparation culinaire</a></li>
  </ul>
  <h1 class="f-productHeader-Title">
    Blender Moulinex Freshboost LM181D10 800 W Noir
  </h1>
  <div class="f-productHeader-subTitle">
    <a class="f-productHeader-subTitleLink" href="https://www.fnac.com/Robot/f2108/w-4">Robot</a>
    <span class="f-productHeader-subTitleLabel"><a
        href="https://www.fnac.com/Moulinex/m66727/w-4">Moulinex</a></span>
  </div>
  <span class="f-stars" data-prid="12697511" data-referecencegu="9116585">4 avis</span>
</section>
"""

OFFERS = """
<section class="f-productOffers js-articleOffers">
  <ul class="f-productOffers-tabs">
    <li class="f-productOffers-tab f-productOffers-tab--selected">Prix Fnac
      <span class="f-productOffers-tabLabel--price"> 99<sup>€99</sup></span></li>
    <li class="f-productOffers-tab">8 neufs dès
      <span class="f-productOffers-tabLabel--price">85<sup>€44</sup></span></li>
  </ul>
  <ul class="f-productOffers-contents">
    <li class="isActive"><div class="f-productOffers-content f-productOffers-fnac js-fnacBuyBox">
      <div class="f-priceBox">
        {old}
        <span class="f-priceBox-price f-priceBox-price--reco checked">{price}</span>
      </div>
      <div class="f-buyBox js-ProductBuy"><div class="f-buyBox-infos">
        <div class="f-buyBox-availability {status}"><p>{stock}</p></div>
        <p class="f-buyBox-shipping">{shipping}</p></div>
        {buttons}
      </div>
      <div class="f-buyBox js-ProductBuy"><div class="f-buyBox-infos">
        <div class="f-shopBox-availability f-buyBox-availabilityStatus-default"><p>En magasin</p>
        </div></div></div>
    </div></li>
    <li><div class="f-productOffers-content f-productOffers-mp">
      <span class="f-priceBox-price checked">85<sup>€44</sup></span></div></li>
  </ul>
</section>
"""

BUTTONS = (
    '<div class="f-buyBox-buttons"><a class="ff-button js-ProductBuy-add" '
    'href="https://secure.fnac.com/basket/add?productId=12697511">Ajouter au panier</a></div>'
)


def fnac_page(
    *,
    price: str = "99<sup>€99</sup>",
    old: str = '<span class="f-priceBox-price f-priceBox-price--old">129<sup>€99</sup></span>',
    status: str = "f-buyBox-availabilityStatus-available",
    stock: str = "Plus que <span>3 en stock</span>",
    shipping: str = "Livraison <span class='f-buyBox-deliveryPrice'>gratuite</span>",
    buttons: str = BUTTONS,
    extra: str = "",
    json_ld: str = "",
    url: str = PRODUCT_URL,
) -> Page:
    """A Fnac product page with the header, the offers block and extras."""
    offers = OFFERS.format(
        price=price, old=old, status=status, stock=stock, shipping=shipping, buttons=buttons
    )
    html = f"""<!doctype html><html lang="fr"><head><title>Blender - Fnac.com</title>{json_ld}
    </head><body>{HEADER}
    <img class="f-productVisuals-mainMedia js-ProductVisuals-imagePreview"
         src="https://static.fnac-static.com/multimedia/Images/FR/MDM/86/81/85/blender.jpg">
    {offers}{extra}</body></html>"""
    return load_page(html, url)


def parse(page: Page) -> Fields:
    """Run the adapter, checking first that it claims the page."""
    assert adapter.matches(page)
    return adapter.parse(page)


@pytest.mark.parametrize(
    "host", ["www.fnac.com", "fnac.com", "www.fnac.be", "www.fnac.es", "www.fnac.pt", "www.fnac.ch"]
)
def test_matches_fnac_sites(host: str) -> None:
    assert adapter.matches(load_page("<html></html>", f"https://{host}/a1/w-4"))


@pytest.mark.parametrize("host", ["example.com", "fnac-static.com", "www.cdiscount.com"])
def test_does_not_match_other_hosts(host: str) -> None:
    assert not adapter.matches(load_page("<html></html>", f"https://{host}/a1/w-4"))


def test_reads_the_fnac_offer() -> None:
    fields = parse(fnac_page())
    assert fields.title == "Blender Moulinex Freshboost LM181D10 800 W Noir"
    assert fields.price == Decimal("99.99")
    assert fields.currency == "EUR"
    assert fields.availability is Availability.IN_STOCK
    assert fields.shipping_cost == Decimal(0)
    assert fields.brand == "Moulinex"
    assert fields.category == "Maison, Electroménager > Préparation culinaire"
    assert fields.images == [
        "https://static.fnac-static.com/multimedia/Images/FR/MDM/86/81/85/blender.jpg"
    ]


def test_former_price_and_marketplace_price_are_ignored() -> None:
    old = '<span class="f-priceBox-price f-priceBox-price--old">249<sup>€90</sup></span>'
    assert parse(fnac_page(old=old, price="99<sup>€99</sup>")).price == Decimal("99.99")


def test_price_with_thousands() -> None:
    assert parse(fnac_page(price="1 299<sup>€99</sup>", old="")).price == Decimal("1299.99")


def test_reference_is_the_article_number_of_the_json_ld() -> None:
    json_ld = (
        '<script type="application/ld+json">{"@context": "http://schema.org/", "@type": '
        '"Product", "name": "Blender", "sku": "9116585", "prid": 12697511}</script>'
    )
    assert parse(fnac_page(json_ld=json_ld)).reference == "9116585"


def test_reference_from_the_markup_without_json_ld() -> None:
    assert parse(fnac_page()).reference == "9116585"


@pytest.mark.parametrize(
    ("status", "stock", "buttons", "expected"),
    [
        ("f-buyBox-availabilityStatus-available", "En stock en ligne", BUTTONS,
         Availability.IN_STOCK),
        ("f-buyBox-availabilityStatus-unavailable", "Indisponible en ligne", "",
         Availability.OUT_OF_STOCK),
        ("", "Stock épuisé", "", Availability.OUT_OF_STOCK),
        ("", "Précommande : disponible le 12 octobre", BUTTONS, Availability.PREORDER),
        ("", "", BUTTONS, Availability.IN_STOCK),
        ("", "", "", None),
    ],
)  # fmt: skip
def test_availability(status: str, stock: str, buttons: str, expected: Availability | None) -> None:
    fields = parse(fnac_page(status=status, stock=stock, buttons=buttons))
    assert fields.availability is expected


def test_delivery_from_a_minimum_is_not_a_shipping_cost() -> None:
    fields = parse(fnac_page(shipping="Livraison à partir de 4€99"))
    assert fields.shipping_cost is None


def test_characteristics_are_specs() -> None:
    extra = """<section id="Characteristics"><div class="characteristicsStrate__lists">
      <dl class="characteristicsStrate__list">
        <div class="characteristicsStrate__item">
          <dt class="characteristicsStrate__term">Puissance</dt>
          <dd class="characteristicsStrate__definition"><p>800 W</p></dd></div>
        <div class="characteristicsStrate__item">
          <dt class="characteristicsStrate__term">Couleur</dt>
          <dd class="characteristicsStrate__definition"><p>Noir</p></dd></div>
      </dl></div></section>"""
    assert parse(fnac_page(extra=extra)).specs == {"Puissance": "800 W", "Couleur": "Noir"}


def test_blocked_page_gives_empty_fields() -> None:
    html = """<html><head><title>fnac.com</title></head><body>
      <p>Please enable JS and disable any ad blocker</p>
      <script src="https://ct.captcha-delivery.com/c.js"></script></body></html>"""
    page = load_page(html, PRODUCT_URL)
    assert adapter.matches(page)
    assert adapter.parse(page).is_empty()


# --- corpus -------------------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_accuracy(corpus_dir: Path) -> None:
    checked, misses = corpus_misses(corpus_dir, "fnac", adapter=adapter)
    assert checked > 0
    assert not misses
