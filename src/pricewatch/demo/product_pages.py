"""Product pages in the shop's usual frame, one markup style per `PageKind`.

Every page shows exactly `Catalog.state(product, at=...)`: the price in the product's locale,
and its availability. What differs is where an extractor can find them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pricewatch.demo import amazon_like
from pricewatch.demo.catalog import Catalog, OfferState, PageKind, Product
from pricewatch.demo.layout import SHOP_NAME, breadcrumbs, esc, json_ld, page
from pricewatch.demo.locales import Locale
from pricewatch.demo.randomness import charm_price, unit_interval

_SELLERS = ("TechDeals", "MegaStore Outlet", "Quickbuy", "Le Comptoir", "Alpenhandel", "NordCart")
_REVIEWS: dict[str, tuple[tuple[str, int, str], ...]] = {
    "en": (
        ("Sam K.", 5, "Does exactly what it says. Delivery was quick."),
        ("Priya", 4, "Solid build, good value. Packaging could be better."),
        ("J. Ortega", 3, "Fine for the price, but the manual is thin."),
        ("Helen W.", 5, "Second one I buy, no complaints at all."),
    ),
    "fr": (
        ("Camille", 5, "Conforme à la description, livraison rapide."),
        ("Julien R.", 4, "Bonne qualité, bon rapport qualité-prix."),
        ("Nadia", 3, "Correct, mais la notice est succincte."),
        ("Marc D.", 5, "Deuxième achat, toujours aussi satisfait."),
    ),
    "de": (
        ("Lukas", 5, "Genau wie beschrieben, schnelle Lieferung."),
        ("Anna B.", 4, "Gute Verarbeitung, faires Preis-Leistungs-Verhältnis."),
        ("Jonas", 3, "In Ordnung, die Anleitung ist etwas knapp."),
        ("Petra S.", 5, "Schon das zweite Gerät, bin sehr zufrieden."),
    ),
}


@dataclass(frozen=True, slots=True)
class PageContext:
    """What every page needs: the absolute origin for links, the catalog, and the moment shown."""

    base: str
    catalog: Catalog
    at: float

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this shop."""
        return f"{self.base}{path}"

    def state(self, product: Product) -> OfferState:
        """`product`'s offer at the page's moment."""
        return self.catalog.state(product, at=self.at)

    def valid_until(self) -> str:
        """End of the year the current time bucket starts in (stable within a bucket)."""
        start = self.catalog.bucket(at=self.at) * self.catalog.period
        return f"{datetime.fromtimestamp(start, UTC).year}-12-31"


def render_product(product: Product, *, ctx: PageContext) -> str:
    """The HTML page of `product` as the shop serves it at `ctx.at`."""
    return _RENDERERS[product.kind](product, ctx)


def offer_payload(product: Product, state: OfferState) -> dict[str, Any]:
    """The offer as the JavaScript pages (and /api/offer/<sku>.json) deliver it."""
    loc = product.locale
    if state.in_stock:
        label = loc.text("in_stock")
        if state.stock_left is not None:
            label = loc.text("only_left", count=state.stock_left)
    else:
        label = loc.text("out_of_stock")
    return {
        "sku": product.sku,
        "price": f"{state.price:f}",
        "currency": state.currency,
        "display": loc.price(state.price),
        "was_display": loc.price(state.was_price) if state.was_price is not None else None,
        "available": state.in_stock,
        "availability": "InStock" if state.in_stock else "OutOfStock",
        "stock_label": label,
        "cta": loc.text("add_to_cart") if state.in_stock else loc.text("notify_me"),
    }


# --- shared fragments -----------------------------------------------------------------------


def _prop(enabled: bool, name: str) -> str:
    """An itemprop attribute when the page uses microdata, else nothing."""
    return f' itemprop="{name}"' if enabled else ""


def _gallery(product: Product, ctx: PageContext, *, microdata: bool) -> str:
    """Main image and thumbnails, all with absolute URLs on the shop."""
    main, *others = product.image_paths
    thumbs = "".join(
        f'<li><img src="{ctx.url(p)}" alt="" width="96" height="96" loading="lazy"></li>'
        for p in others
    )
    return (
        '<div class="product__gallery">'
        f'<img class="product__image" src="{ctx.url(main)}" alt="{esc(product.name)}" '
        f'width="600" height="600"{_prop(microdata, "image")}>'
        f'<ul class="thumbs">{thumbs}</ul></div>\n'
    )


def _brand_line(product: Product, *, microdata: bool) -> str:
    """The "by Brand" line above the title."""
    loc = product.locale
    name = esc(product.brand)
    if microdata:
        name = (
            '<span itemprop="brand" itemscope itemtype="https://schema.org/Brand">'
            f'<span itemprop="name">{name}</span></span>'
        )
    return f'<p class="product__brand">{loc.text("by_brand", brand=name)}</p>\n'


def _rating(product: Product, *, microdata: bool) -> str:
    """Average rating and review count."""
    loc = product.locale
    if product.review_count == 0:
        return ""
    rating = loc.text("rating", rating=str(product.rating).replace(".", loc.decimal))
    count = loc.text("review_count", count=product.review_count)
    if microdata:
        return (
            '<p class="product__rating" itemprop="aggregateRating" itemscope '
            'itemtype="https://schema.org/AggregateRating">'
            f'<meta itemprop="ratingValue" content="{product.rating}">'
            f'<meta itemprop="reviewCount" content="{product.review_count}">'
            f'★ {esc(rating)} · <a href="#reviews">{esc(count)}</a></p>\n'
        )
    return f'<p class="product__rating">★ {esc(rating)} · <a href="#reviews">{esc(count)}</a></p>\n'


def _stock(loc: Locale, state: OfferState) -> str:
    """The availability line of a buy box."""
    if not state.in_stock:
        return f'<p class="stock stock--out">{esc(loc.text("out_of_stock"))}</p>\n'
    text = loc.text("in_stock")
    if state.stock_left is not None:
        text = loc.text("only_left", count=state.stock_left)
    return f'<p class="stock stock--in">{esc(text)}</p>\n'


def _call_to_action(ctx: PageContext, product: Product, state: OfferState) -> str:
    """Add-to-cart form when the product can be bought, a disabled alert button otherwise."""
    loc = product.locale
    if not state.in_stock:
        return f'<button class="btn" type="button" disabled>{esc(loc.text("notify_me"))}</button>\n'
    return (
        f'<form class="add-to-cart-form" action="{ctx.url("/cart/add")}" method="post">'
        f'<input type="hidden" name="sku" value="{esc(product.sku)}">'
        '<input type="number" name="qty" value="1" min="1" max="9" aria-label="Quantity">'
        f'<button class="btn add-to-cart" type="submit">{esc(loc.text("add_to_cart"))}</button>'
        "</form>\n"
    )


def _was(loc: Locale, state: OfferState) -> str:
    """The crossed-out regular price and discount badge during a sale, else nothing."""
    if state.was_price is None:
        return ""
    percent = round((1 - state.price / state.was_price) * 100)
    return (
        f'<s class="price price--was">{esc(loc.price(state.was_price))}</s> '
        f'<span class="badge badge--sale">{esc(loc.text("sale"))} −{percent} %</span>'
    )


def _buy_box(
    ctx: PageContext,
    product: Product,
    state: OfferState,
    *,
    microdata: bool = False,
    was_first: bool = False,
    lead: str = "",
    ld_in_stock: bool | None = None,
) -> str:
    """Price, availability and add-to-cart: the part of a page shoppers read."""
    loc = product.locale
    shown = esc(loc.price(state.price))
    offer_attrs = ""
    hidden = ""
    if microdata:
        offer_attrs = ' itemprop="offers" itemscope itemtype="https://schema.org/Offer"'
        status = "InStock" if state.in_stock else "OutOfStock"
        hidden = (
            f'<meta itemprop="priceCurrency" content="{state.currency}">'
            f'<link itemprop="availability" href="https://schema.org/{status}">'
            '<link itemprop="itemCondition" href="https://schema.org/NewCondition">\n'
        )
        current = (
            f'<span class="price price--current" itemprop="price" '
            f'content="{state.price:f}">{shown}</span>'
        )
    else:
        current = f'<span class="price price--current">{shown}</span>'
    if lead:
        current = f'<span class="price-lead">{esc(lead)}</span> {current}'
    was = _was(loc, state)
    prices = f"{was} {current}" if was_first else f"{current} {was}"
    return (
        f'<section class="buy-box" id="buy-box"{offer_attrs}>\n{hidden}'
        f'<div class="price-block">{prices.strip()}</div>\n'
        f'<p class="tax-note">{esc(loc.text("tax_note"))}</p>\n'
        f"{_stock(loc, state)}{_call_to_action(ctx, product, state)}"
        f'<p class="delivery">{esc(loc.text("delivery"))}</p>\n'
        "</section>\n"
    )


def _bullets(product: Product) -> str:
    """Key facts as a short list under the buy box."""
    items = "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in product.specs[2:6])
    return f'<ul class="product__bullets">{items}</ul>\n'


def _description(product: Product, *, microdata: bool) -> str:
    """The description section."""
    paragraphs = "".join(f"<p>{esc(p)}</p>" for p in product.description)
    return (
        f'<section class="product__description" id="description">'
        f"<h2>{esc(product.locale.text('description'))}</h2>"
        f"<div{_prop(microdata, 'description')}>{paragraphs}</div></section>\n"
    )


def _specs(product: Product, *, microdata: bool) -> str:
    """The specifications table, ending with the item number and EAN."""
    loc = product.locale
    sku_cell = f"<span{_prop(microdata, 'sku')}>{esc(product.sku)}</span>"
    gtin_cell = f"<span{_prop(microdata, 'gtin13')}>{product.gtin}</span>"
    rows = [f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in product.specs]
    rows.append(f'<tr><th scope="row">{esc(loc.text("item_number"))}</th><td>{sku_cell}</td></tr>')
    rows.append(f'<tr><th scope="row">{esc(loc.text("gtin"))}</th><td>{gtin_cell}</td></tr>')
    return (
        '<section class="product__specs" id="specs">'
        f"<h2>{esc(loc.text('specifications'))}</h2>"
        f'<table class="specs"><tbody>{"".join(rows)}</tbody></table></section>\n'
    )


def _reviews(product: Product) -> str:
    """Two short customer reviews, picked by product id."""
    pool = _REVIEWS[product.locale.ui]
    picks = (pool[product.id % len(pool)], pool[(product.id + 1) % len(pool)])
    items = "".join(
        f'<li class="review"><p class="review__stars">{"★" * stars}{"☆" * (5 - stars)}</p>'
        f'<p class="review__author">{esc(author)}</p><p>{esc(text)}</p></li>'
        for author, stars, text in picks
    )
    return (
        f'<section class="product__reviews" id="reviews">'
        f"<h2>{esc(product.locale.text('reviews'))}</h2><ul>{items}</ul></section>\n"
    )


def _article(
    product: Product,
    ctx: PageContext,
    *,
    buy_box: str,
    microdata: bool = False,
    before_buy_box: str = "",
) -> str:
    """The product block: gallery, title, rating, buy box, facts, description, specs, reviews."""
    scope = ' itemscope itemtype="https://schema.org/Product"' if microdata else ""
    return (
        f'<article class="product" id="product" data-sku="{esc(product.sku)}"{scope}>\n'
        f"{_gallery(product, ctx, microdata=microdata)}"
        '<div class="product__summary">\n'
        f"{_brand_line(product, microdata=microdata)}"
        f'<h1 class="product__title"{_prop(microdata, "name")}>{esc(product.name)}</h1>\n'
        f"{_rating(product, microdata=microdata)}{before_buy_box}{buy_box}{_bullets(product)}"
        "</div>\n"
        f"{_description(product, microdata=microdata)}{_specs(product, microdata=microdata)}"
        f"{_reviews(product)}</article>\n"
    )


def _shop_page(
    product: Product, ctx: PageContext, *, body: str, head: str = "", kind_class: str = ""
) -> str:
    """`body` framed as a product page: canonical link, description meta, breadcrumbs."""
    loc = product.locale
    trail = [
        (product.category.name(loc.ui), f"/category/{product.category.slug}"),
        (product.name, None),
    ]
    meta = (
        f'<meta name="description" content="{esc(product.description[0])}">\n'
        f'<link rel="canonical" href="{ctx.url(product.url_path)}">\n'
    )
    return page(
        base=ctx.base,
        lang=loc.lang,
        ui=loc.ui,
        title=product.name,
        head=meta + head,
        body=breadcrumbs(base=ctx.base, ui=loc.ui, trail=trail) + body,
        body_class=f"page-product {kind_class}".strip(),
    )


# --- JSON-LD --------------------------------------------------------------------------------


def _ld_availability(in_stock: bool, *, flavor: int) -> str:
    """schema.org availability, spelled the three ways real pages spell it."""
    name = "InStock" if in_stock else "OutOfStock"
    return ("https://schema.org/", "http://schema.org/", "")[flavor % 3] + name


def _ld_amount(amount: Decimal, *, flavor: int) -> str | float:
    """A JSON-LD price: a string on some pages, a JSON number on others."""
    return f"{amount:f}" if flavor % 2 == 0 else float(amount)


def _ld_offer(
    ctx: PageContext, product: Product, amount: Decimal, *, in_stock: bool
) -> dict[str, Any]:
    """A schema.org Offer for `amount`."""
    return {
        "@type": "Offer",
        "url": ctx.url(product.url_path),
        "priceCurrency": product.currency,
        "price": _ld_amount(amount, flavor=product.flavor),
        "availability": _ld_availability(in_stock, flavor=product.flavor),
        "itemCondition": "https://schema.org/NewCondition",
        "priceValidUntil": ctx.valid_until(),
        "seller": {"@type": "Organization", "name": SHOP_NAME},
    }


def _ld_product(ctx: PageContext, product: Product, *, offers: dict[str, Any]) -> dict[str, Any]:
    """A schema.org Product with its identifiers, images, rating and `offers`."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "@id": ctx.url(product.url_path) + "#product",
        "name": product.name,
        "sku": product.sku,
        "gtin13": product.gtin,
        "mpn": product.model,
        "brand": {"@type": "Brand", "name": product.brand},
        "category": product.category.name(product.locale.ui),
        "image": [ctx.url(p) for p in product.image_paths],
        "description": product.description[0],
        "url": ctx.url(product.url_path),
    }
    if product.review_count:
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": str(product.rating),
            "reviewCount": product.review_count,
        }
    data["offers"] = offers
    return data


def _ld_breadcrumbs(ctx: PageContext, product: Product) -> dict[str, Any]:
    """A schema.org BreadcrumbList matching the visible breadcrumbs."""
    ui = product.locale.ui
    trail = [
        (product.locale.text("home"), ctx.url("/")),
        (product.category.name(ui), ctx.url(f"/category/{product.category.slug}")),
        (product.name, ctx.url(product.url_path)),
    ]
    return {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": i, "name": name, "item": url}
            for i, (name, url) in enumerate(trail, start=1)
        ],
    }


def _ld_scripts(ctx: PageContext, product: Product, main: dict[str, Any]) -> str:
    """`main` and breadcrumbs as separate scripts, or (odd flavors) one `@graph`."""
    crumbs = _ld_breadcrumbs(ctx, product)
    if product.flavor % 2 == 0:
        return json_ld(main) + "\n" + json_ld(crumbs) + "\n"
    site = {"@type": "WebSite", "name": SHOP_NAME, "url": ctx.url("/")}
    nodes = [site, main, crumbs]
    graph = [{k: v for k, v in node.items() if k != "@context"} for node in nodes]
    return json_ld({"@context": "https://schema.org", "@graph": graph}) + "\n"


# --- one renderer per kind ------------------------------------------------------------------


def _jsonld_page(product: Product, ctx: PageContext) -> str:
    """(a) JSON-LD Product with a single Offer, plus the visible buy box."""
    state = ctx.state(product)
    offer = _ld_offer(ctx, product, state.price, in_stock=state.in_stock)
    head = _ld_scripts(ctx, product, _ld_product(ctx, product, offers=offer))
    body = _article(product, ctx, buy_box=_buy_box(ctx, product, state))
    return _shop_page(product, ctx, body=body, head=head, kind_class="kind-jsonld")


def _seller_prices(product: Product, state: OfferState) -> list[Decimal]:
    """Marketplace offers for an AggregateOffer page, lowest (the page's price) first."""
    count = 3 + product.flavor % 4
    others = [
        charm_price(
            state.price
            * Decimal(str(round(1.02 + 0.06 * i + 0.05 * unit_interval(product.id, i), 3))),
            ending=product.price_ending,
        )
        for i in range(1, count)
    ]
    return [state.price, *sorted(max(p, state.price) for p in others)]


def _aggregate_page(product: Product, ctx: PageContext) -> str:
    """(a') JSON-LD AggregateOffer over several sellers; the visible price is "From <low>"."""
    loc = product.locale
    state = ctx.state(product)
    prices = _seller_prices(product, state)
    offers = {
        "@type": "AggregateOffer",
        "priceCurrency": product.currency,
        "lowPrice": _ld_amount(prices[0], flavor=product.flavor),
        "highPrice": _ld_amount(prices[-1], flavor=product.flavor),
        "offerCount": len(prices),
        "availability": _ld_availability(state.in_stock, flavor=product.flavor),
    }
    head = _ld_scripts(ctx, product, _ld_product(ctx, product, offers=offers))
    sellers = (SHOP_NAME, *_SELLERS)
    rows = "".join(
        f"<tr><td>{esc(sellers[i % len(sellers)])}</td>"
        f'<td class="offer-price">{esc(loc.price(p))}</td>'
        f"<td>{esc(loc.text('condition_new'))}</td></tr>"
        for i, p in enumerate(prices)
    )
    table = (
        f'<section class="offers"><h2>{esc(loc.text("offers", count=len(prices)))}</h2>'
        f'<table class="offers-table"><thead><tr><th>{esc(loc.text("seller"))}</th>'
        f"<th>{esc(loc.text('price'))}</th><th></th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>\n"
    )
    buy_box = _buy_box(ctx, product, state, lead=loc.text("from")) + table
    body = _article(product, ctx, buy_box=buy_box)
    return _shop_page(product, ctx, body=body, head=head, kind_class="kind-aggregate")


def _variant_property(product: Product, label: str) -> dict[str, str]:
    """The schema.org property a variant differs by."""
    slug = product.category.slug
    if slug in ("headphones", "coffee-machines"):
        return {"color": label}
    if slug == "books":
        return {"bookFormat": f"https://schema.org/{label}"}
    return {"size": label}


def _group_page(product: Product, ctx: PageContext) -> str:
    """(a'') JSON-LD ProductGroup with variants; the first (cheapest) variant is selected."""
    loc = product.locale
    state = ctx.state(product)
    prices = ctx.catalog.variant_prices(product, state)
    variants = [
        {
            "@type": "Product",
            "sku": v.sku,
            "name": f"{product.name} ({v.label})",
            "image": ctx.url(product.image_paths[0]),
            **_variant_property(product, v.label),
            "offers": _ld_offer(ctx, product, p, in_stock=state.in_stock)
            | {"url": ctx.url(f"{product.url_path}?variant={v.sku}")},
        }
        for v, p in zip(product.variants, prices, strict=True)
    ]
    group = {
        "@context": "https://schema.org",
        "@type": "ProductGroup",
        "name": product.name,
        "productGroupID": product.sku,
        "brand": {"@type": "Brand", "name": product.brand},
        "description": product.description[0],
        "url": ctx.url(product.url_path),
        "variesBy": [f"https://schema.org/{axis}" for axis in _variant_property(product, "")],
        "hasVariant": variants,
    }
    head = _ld_scripts(ctx, product, group)
    options = "".join(
        f'<li><label><input type="radio" name="variant" value="{esc(v.sku)}"'
        f"{' checked' if i == 0 else ''}> {esc(v.label)} "
        f'<span class="variant-price">{esc(loc.price(p))}</span></label></li>'
        for i, (v, p) in enumerate(zip(product.variants, prices, strict=True))
    )
    selector = (
        f'<fieldset class="variants"><legend>{esc(loc.text("choose", axis=product.variant_axis))}'
        f'</legend><ul class="variant-list">{options}</ul></fieldset>\n'
    )
    body = _article(product, ctx, buy_box=_buy_box(ctx, product, state), before_buy_box=selector)
    return _shop_page(product, ctx, body=body, head=head, kind_class="kind-group")


def _price_spec_page(product: Product, ctx: PageContext) -> str:
    """(a''') JSON-LD Offer whose price sits only in priceSpecification (with a ListPrice)."""
    state = ctx.state(product)
    spec: list[dict[str, Any]] = [
        {
            "@type": "UnitPriceSpecification",
            "price": _ld_amount(state.price, flavor=product.flavor),
            "priceCurrency": product.currency,
            "valueAddedTaxIncluded": True,
        }
    ]
    if state.was_price is not None:
        spec.append(
            {
                "@type": "UnitPriceSpecification",
                "priceType": "https://schema.org/ListPrice",
                "price": _ld_amount(state.was_price, flavor=product.flavor),
                "priceCurrency": product.currency,
            }
        )
    offer = _ld_offer(ctx, product, state.price, in_stock=state.in_stock)
    del offer["price"], offer["priceCurrency"]
    offer["priceSpecification"] = spec if len(spec) > 1 else spec[0]
    head = _ld_scripts(ctx, product, _ld_product(ctx, product, offers=offer))
    body = _article(product, ctx, buy_box=_buy_box(ctx, product, state))
    return _shop_page(product, ctx, body=body, head=head, kind_class="kind-price-spec")


def _microdata_page(product: Product, ctx: PageContext) -> str:
    """(b) schema.org microdata in the markup, no JSON-LD."""
    state = ctx.state(product)
    buy_box = _buy_box(ctx, product, state, microdata=True)
    body = _article(product, ctx, buy_box=buy_box, microdata=True)
    return _shop_page(product, ctx, body=body, kind_class="kind-microdata")


def _opengraph_page(product: Product, ctx: PageContext) -> str:
    """(d) OpenGraph and product: meta tags (og:price on odd flavors); no schema.org."""
    loc = product.locale
    state = ctx.state(product)
    ns = "product" if product.flavor % 2 == 0 else "og"
    tags = [
        ("og:type", "product"),
        ("og:site_name", SHOP_NAME),
        ("og:locale", loc.og_locale),
        ("og:title", product.name),
        ("og:description", product.description[0]),
        ("og:url", ctx.url(product.url_path)),
        ("og:image", ctx.url(product.image_paths[0])),
        ("product:brand", product.brand),
        ("product:retailer_item_id", product.sku),
        ("product:condition", "new"),
        (f"{ns}:price:amount", f"{state.price:f}"),
        (f"{ns}:price:currency", state.currency),
        ("product:availability", "in stock" if state.in_stock else "out of stock"),
    ]
    head = "".join(f'<meta property="{k}" content="{esc(v)}">\n' for k, v in tags)
    body = _article(product, ctx, buy_box=_buy_box(ctx, product, state))
    return _shop_page(product, ctx, body=body, head=head, kind_class="kind-opengraph")


def _plain_page(product: Product, ctx: PageContext) -> str:
    """(e) No structured data at all: visible price (sale price after the old one) and button."""
    state = ctx.state(product)
    buy_box = _buy_box(ctx, product, state, was_first=True)
    body = _article(product, ctx, buy_box=buy_box)
    return _shop_page(product, ctx, body=body, kind_class="kind-plain")


_JS_RENDER = """\
(function () {
  "use strict";
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text) { node.textContent = text; }
    return node;
  }
  function render(offer) {
    var box = document.getElementById("buy-box");
    box.textContent = "";
    var prices = el("div", "price-block");
    prices.appendChild(el("span", "price price--current", offer.display));
    if (offer.was_display) {
      prices.appendChild(document.createTextNode(" "));
      prices.appendChild(el("s", "price price--was", offer.was_display));
    }
    box.appendChild(prices);
    box.appendChild(el("p", offer.available ? "stock stock--in" : "stock stock--out",
                       offer.stock_label));
    var button = el("button", offer.available ? "btn add-to-cart" : "btn", offer.cta);
    button.type = "button";
    button.disabled = !offer.available;
    box.appendChild(button);
    box.classList.remove("buy-box--loading");
    box.setAttribute("data-ready", "true");
  }
  function decode(text) {
    var bytes = Uint8Array.from(atob(text), function (c) { return c.charCodeAt(0); });
    return JSON.parse(new TextDecoder().decode(bytes));
  }
  function load() {
    var inline = document.getElementById("offer-data");
    if (inline) {
      render(decode(inline.textContent.trim()));
      return;
    }
    var url = document.getElementById("buy-box").getAttribute("data-offer-url");
    fetch(url, {headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(render);
  }
  document.addEventListener("DOMContentLoaded", function () { setTimeout(load, 120); });
})();
"""


def _js_page(product: Product, ctx: PageContext) -> str:
    """(f) Price and stock exist only after JavaScript runs: base64 blob or fetched JSON."""
    loc = product.locale
    state = ctx.state(product)
    if product.flavor % 2 == 0:
        # Base64 keeps every digit of the price out of the static HTML.
        blob = json.dumps(offer_payload(product, state), ensure_ascii=False).encode()
        encoded = base64.b64encode(blob).decode()
        data = f'<script id="offer-data" type="text/plain">{encoded}</script>\n'
        offer_url = ""
    else:
        data = ""
        offer_url = f' data-offer-url="{ctx.url(f"/api/offer/{product.sku}.json")}"'
    buy_box = (
        f'<section class="buy-box buy-box--loading" id="buy-box" aria-live="polite"{offer_url}>'
        f'<div class="skeleton" aria-label="{esc(loc.text("loading"))}"></div>'
        f"<noscript><p>{esc(loc.text('enable_js'))}</p></noscript></section>\n"
    )
    head = (
        f'<meta property="og:title" content="{esc(product.name)}">\n'
        f'<meta property="og:image" content="{ctx.url(product.image_paths[0])}">\n'
    )
    body = _article(product, ctx, buy_box=buy_box) + data + f"<script>\n{_JS_RENDER}</script>\n"
    return _shop_page(product, ctx, body=body, head=head, kind_class="kind-js")


def product_card(product: Product, ctx: PageContext) -> str:
    """A listing card: image, name link and current price (with the old one during a sale)."""
    state = ctx.state(product)
    was = _was(product.locale, state)
    sold_out = (
        ""
        if state.in_stock
        else (f' <span class="card__stock">{esc(product.locale.text("out_of_stock"))}</span>')
    )
    return (
        f'<li class="card" data-sku="{esc(product.sku)}"><a href="{ctx.url(product.url_path)}">'
        f'<img src="{ctx.url(product.image_paths[0])}" alt="" width="180" height="180" '
        f'loading="lazy"><span class="card__title">{esc(product.name)}</span></a>'
        f'<div class="price-block"><span class="price">{esc(product.locale.price(state.price))}'
        f"</span>{' ' + was if was else ''}{sold_out}</div></li>"
    )


def carousel(products: list[Product], ctx: PageContext, *, title: str) -> str:
    """A strip of product cards with their current prices."""
    cards = "".join(product_card(p, ctx) for p in products)
    return (
        f'<section class="carousel" aria-label="{esc(title)}"><h2>{esc(title)}</h2>'
        f'<ul class="cards">{cards}</ul></section>\n'
    )


def _carousel_first_page(product: Product, ctx: PageContext) -> str:
    """(g) No structured data, and a carousel of other products' prices before the buy box."""
    state = ctx.state(product)
    strip = carousel(ctx.catalog.related(product), ctx, title=product.locale.text("also_viewed"))
    body = strip + _article(product, ctx, buy_box=_buy_box(ctx, product, state))
    return _shop_page(product, ctx, body=body, kind_class="kind-carousel")


def _stock_conflict_page(product: Product, ctx: PageContext) -> str:
    """(h) JSON-LD claims InStock while the visible buy box says out of stock (believe the box)."""
    state = ctx.state(product)
    offer = _ld_offer(ctx, product, state.price, in_stock=True)
    head = _ld_scripts(ctx, product, _ld_product(ctx, product, offers=offer))
    body = _article(product, ctx, buy_box=_buy_box(ctx, product, state))
    return _shop_page(product, ctx, body=body, head=head, kind_class="kind-stock-conflict")


def _amazon_like_page(product: Product, ctx: PageContext) -> str:
    """(c) The marketplace layout (see `amazon_like`)."""
    related = [(p, ctx.state(p)) for p in ctx.catalog.related(product)]
    return amazon_like.render(product, ctx.state(product), base=ctx.base, related=related)


_RENDERERS: dict[PageKind, Callable[[Product, PageContext], str]] = {
    PageKind.JSONLD: _jsonld_page,
    PageKind.JSONLD_AGGREGATE: _aggregate_page,
    PageKind.JSONLD_GROUP: _group_page,
    PageKind.JSONLD_PRICE_SPEC: _price_spec_page,
    PageKind.MICRODATA: _microdata_page,
    PageKind.AMAZON_LIKE: _amazon_like_page,
    PageKind.OPENGRAPH: _opengraph_page,
    PageKind.PLAIN: _plain_page,
    PageKind.JS_RENDERED: _js_page,
    PageKind.CAROUSEL_FIRST: _carousel_first_page,
    PageKind.STOCK_CONFLICT: _stock_conflict_page,
}
