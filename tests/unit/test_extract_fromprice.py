"""The "from" price policy on small hand-written pages.

A product with several variants at different prices and none selected is priced at its lowest
("from") price, but only where the page says explicitly that it shows one: a from-price flag or
value in its app state, or a visible "from" label right before the displayed price.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pricewatch.adapters.scraping.extract import extract

URL = "https://www.homeshop.example/p/relax-bed-frame"


def ld_offer(price: str, **product: Any) -> str:
    data = {
        "@context": "https://schema.org/",
        "@type": "Product",
        "name": "Relax bed frame",
        **product,
        "offers": {"@type": "Offer", "price": price, "priceCurrency": "EUR"},
    }
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def variants_state(*, flag: dict[str, Any], skus: tuple[str, ...] = ("RB-70", "RB-80")) -> str:
    """A JS-assigned app state: two variants at different prices, display info with `flag`."""
    state = [
        {
            "ProductId": "5007",
            "Variants": [
                {"Sku": skus[0], "PriceDisplay": {"FormattedPrice": "811,40 €"}},
                {"Sku": skus[1], "PriceDisplay": {"FormattedPrice": "431,20 €"}},
            ],
            "WebInfo": {
                "PriceDisplay": {
                    **flag,
                    "PriceBefore": 709.5,
                    "FormattedPrice": "431,20 €",
                }
            },
        }
    ]
    return f"<script>var productVariants = {json.dumps(state)};</script>"


def page(head: str, body: str = "<h1>Relax bed frame</h1>") -> str:
    return f'<html lang="fr"><head>{head}</head><body>{body}</body></html>'


def test_app_state_flag_prices_the_product_from_its_lowest_variant() -> None:
    html = page(ld_offer("811.40") + variants_state(flag={"ShowPriceFrom": True}))
    snapshot = extract(html, URL)
    assert snapshot.price == Decimal("431.20")
    assert any("from price" in note for note in snapshot.fetch.notes)


def test_other_flag_spellings_count() -> None:
    for flag in ({"isFromPrice": True}, {"display_from_price": "true"}):
        html = page(ld_offer("811.40") + variants_state(flag=flag))
        assert extract(html, URL).price == Decimal("431.20"), flag


def test_a_from_price_value_is_used_as_it_is() -> None:
    state = {"product": {"name": "Relax bed frame", "priceFrom": 399.0}}
    html = page(ld_offer("811.40") + f"<script>window.pdp = {json.dumps(state)};</script>")
    assert extract(html, URL).price == Decimal("399.00")


def test_a_false_flag_changes_nothing() -> None:
    html = page(ld_offer("811.40") + variants_state(flag={"ShowPriceFrom": False}))
    assert extract(html, URL).price == Decimal("811.40")


def test_variants_without_a_from_signal_keep_the_offer_price() -> None:
    html = page(ld_offer("811.40") + variants_state(flag={"ShowDiscount": True}))
    assert extract(html, URL).price == Decimal("811.40")


def test_an_offer_naming_a_variant_keeps_its_price() -> None:
    html = page(ld_offer("811.40", sku="RB-70") + variants_state(flag={"ShowPriceFrom": True}))
    assert extract(html, URL).price == Decimal("811.40")


def test_an_offer_sku_that_names_no_variant_does_not_block_the_policy() -> None:
    html = page(ld_offer("811.40", sku="5007-X") + variants_state(flag={"ShowPriceFrom": True}))
    assert extract(html, URL).price == Decimal("431.20")


def test_a_variant_in_the_url_keeps_the_offer_price() -> None:
    html = page(ld_offer("811.40") + variants_state(flag={"ShowPriceFrom": True}))
    assert extract(html, URL + "?variant=RB-70").price == Decimal("811.40")


def test_a_from_price_above_the_offer_price_is_ignored() -> None:
    state = {"product": {"priceFrom": 999}}
    html = page(ld_offer("811.40") + f"<script>window.pdp = {json.dumps(state)};</script>")
    assert extract(html, URL).price == Decimal("811.40")


BUY_BOX = """
<h1>Relax bed frame</h1>
<div class="product-price-container">
  <span class="price-from"{hidden}>{label}</span>
  <span class="product-price">431,20 €</span>
</div>
<button class="add-to-cart">Ajouter au panier</button>
"""


def test_a_visible_from_label_before_the_displayed_price() -> None:
    for label in ("à partir de", "From", "ab", "desde", "a partire da", "vanaf"):
        body = BUY_BOX.format(label=label, hidden="")
        snapshot = extract(page(ld_offer("811.40"), body), URL)
        assert snapshot.price == Decimal("431.20"), label


def test_a_hidden_from_label_is_no_signal() -> None:
    body = BUY_BOX.format(label="à partir de", hidden=' style="display:none"')
    assert extract(page(ld_offer("811.40"), body), URL).price == Decimal("811.40")


def test_a_price_without_a_from_label_is_no_signal() -> None:
    body = BUY_BOX.format(label="Prix", hidden="")
    assert extract(page(ld_offer("811.40"), body), URL).price == Decimal("811.40")


def test_a_visible_label_does_not_override_an_identified_offer() -> None:
    body = BUY_BOX.format(label="à partir de", hidden="")
    html = page(ld_offer("811.40", sku="RB-70"), body)
    assert extract(html, URL).price == Decimal("811.40")
