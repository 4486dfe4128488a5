"""The marketplace-style product page: the ids and classes store adapters look for on Amazon.

The structure (productTitle, corePrice_feature_div, a-price/a-offscreen, #availability,
input#ASIN, add-to-cart-button) is what matters; the wording and layout are the shop's own.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote_plus

from pricewatch.demo.catalog import OfferState, Product
from pricewatch.demo.categories import CATEGORIES
from pricewatch.demo.layout import esc
from pricewatch.demo.locales import Locale, marketplace_locale

MARKETPLACE_NAME = "Demo Marketplace"


def _price(loc: Locale, amount: Decimal, *, size: str = "xl", to_pay: bool = True) -> str:
    """An a-price block: screen-reader text in a-offscreen, then the split visible digits."""
    whole, fraction = loc.split(amount)
    symbol = f'<span class="a-price-symbol">{esc(loc.symbol)}</span>'
    digits = (
        f'<span class="a-price-whole">{esc(whole)}<span class="a-price-decimal">'
        f'{esc(loc.decimal)}</span></span><span class="a-price-fraction">{fraction}</span>'
    )
    visible = symbol + digits if loc.symbol_first else digits + symbol
    classes = "a-price aok-align-center priceToPay" if to_pay else "a-price"
    return (
        f'<span class="{classes}" data-a-size="{size}" '
        f'data-a-color="base"><span class="a-offscreen">{esc(loc.price(amount))}</span>'
        f'<span aria-hidden="true">{visible}</span></span>'
    )


def _list_price(loc: Locale, amount: Decimal) -> str:
    """The struck-through list price shown under the price during a sale."""
    return (
        '<div class="a-section a-spacing-small basisPrice"><span class="a-size-small '
        f'a-color-secondary">{esc(loc.text("market_list_price"))} </span>'
        '<span class="a-price a-text-price" data-a-size="s" data-a-strike="true" '
        f'data-a-color="secondary"><span class="a-offscreen">{esc(loc.price(amount))}</span>'
        f'<span aria-hidden="true">{esc(loc.price(amount))}</span></span></div>'
    )


def _availability(loc: Locale, state: OfferState) -> str:
    """The #availability block of the buy box."""
    if not state.in_stock:
        return (
            '<div id="availability" class="a-section a-spacing-base">'
            f'<span class="a-size-medium a-color-price">{esc(loc.text("market_unavailable"))}'
            f'</span><br><span class="a-size-base">{esc(loc.text("market_unavailable_note"))}'
            "</span></div>"
        )
    if state.stock_left is not None:
        text = loc.text("only_left", count=state.stock_left)
        return (
            '<div id="availability" class="a-section a-spacing-base">'
            f'<span class="a-size-medium a-color-price">{esc(text)}</span></div>'
        )
    return (
        '<div id="availability" class="a-section a-spacing-base">'
        f'<span class="a-size-medium a-color-success">{esc(loc.text("market_in_stock"))}'
        "</span></div>"
    )


def _buy_form(base: str, product: Product, loc: Locale, state: OfferState) -> str:
    """The add-to-cart form; sold-out products keep input#ASIN but lose the buttons."""
    buttons = ""
    if state.in_stock:
        buttons = (
            '<span id="submit.add-to-cart" class="a-button a-button-primary">'
            '<input id="add-to-cart-button" name="submit.add-to-cart" type="submit" '
            f'class="a-button-input" value="{esc(loc.text("market_add"))}"></span>'
            '<span id="submit.buy-now" class="a-button a-button-oneclick">'
            '<input id="buy-now-button" name="submit.buy-now" type="submit" '
            f'class="a-button-input" value="{esc(loc.text("market_buy_now"))}"></span>'
        )
    return (
        f'<form id="addToCart" method="post" action="{base}/cart/add">'
        f'<input type="hidden" id="ASIN" name="ASIN" value="{esc(product.sku)}">'
        f'<input type="hidden" name="merchantID" value="DEMO">{buttons}</form>'
    )


def _header(base: str, loc: Locale) -> str:
    """The marketplace's navigation bar."""
    departments = "".join(
        f'<a class="nav-a" href="{base}/category/{c.slug}">{esc(c.name(loc.ui))}</a>'
        for c in CATEGORIES
    )
    return (
        '<header id="navbar" class="nav-sprite-v1" role="navigation"><div id="nav-belt">'
        f'<a id="nav-logo-sprites" class="nav-logo-link" href="{base}/">{MARKETPLACE_NAME}</a>'
        f'<form id="nav-search-bar-form" action="{base}/search" method="get" role="search">'
        '<input type="text" id="twotabsearchtextbox" name="q" autocomplete="off">'
        '<input type="submit" id="nav-search-submit-button" value="Go"></form>'
        f'<a id="nav-cart" href="{base}/cart"><span id="nav-cart-count">0</span></a></div>'
        f'<div id="nav-main">{departments}</div></header>\n'
    )


def _related(base: str, related: list[tuple[Product, OfferState]]) -> str:
    """The "also bought" carousel, placed after the buy box as on the real thing."""
    cards = "".join(
        f'<li class="a-carousel-card"><a class="a-link-normal" href="{base}{p.url_path}">'
        f'<img src="{base}{p.image_paths[0]}" alt="" height="160">'
        f'<div class="p13n-sc-truncated">{esc(p.name)}</div></a>'
        f"{_price(marketplace_locale(p.locale), s.price, size='base', to_pay=False)}</li>"
        for p, s in related
    )
    return f'<ol class="a-carousel">{cards}</ol>'


def render(
    product: Product,
    state: OfferState,
    *,
    base: str,
    related: list[tuple[Product, OfferState]],
) -> str:
    """The complete marketplace page of `product` showing `state`."""
    loc = marketplace_locale(product.locale)
    url = f"{base}{product.url_path}"
    category = product.category.name(loc.ui)
    rating = loc.text("rating", rating=str(product.rating).replace(".", loc.decimal))
    ratings = loc.text("market_ratings", count=f"{product.review_count:,}".replace(",", loc.group))
    bullets = "".join(
        f'<li><span class="a-list-item"> {esc(k)} : {esc(v)} </span></li>'
        for k, v in product.specs[1:6]
    )
    details_rows = "".join(
        f'<tr><th class="a-color-secondary a-size-base prodDetSectionEntry">{esc(k)}</th>'
        f'<td class="a-size-base prodDetAttrValue">{esc(v)}</td></tr>'
        for k, v in (*product.specs, ("ASIN", product.sku), ("EAN", product.gtin))
    )
    thumbs = "".join(
        f'<li class="a-spacing-small item"><img src="{base}{p}" alt="" width="40"></li>'
        for p in product.image_paths
    )
    list_price = _list_price(loc, state.was_price) if state.was_price is not None else ""
    return (
        "<!doctype html>\n"
        f'<html lang="{esc(loc.lang)}" class="a-no-js">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(MARKETPLACE_NAME)}: {esc(product.name)} : {esc(category)}</title>\n"
        f'<meta name="description" content="{esc(product.name)}">\n'
        f'<link rel="canonical" href="{url}">\n'
        f'<link rel="stylesheet" href="{base}/static/shop.css">\n</head>\n'
        f'<body class="a-m-{loc.ui} a-aui_72554-c">\n{_header(base, loc)}'
        f'<div id="dp" class="{product.category.slug} {loc.code}"><div id="dp-container">\n'
        '<div id="wayfinding-breadcrumbs_feature_div"><ul class="a-unordered-list a-horizontal">'
        f'<li><span class="a-list-item"><a class="a-link-normal a-color-tertiary" '
        f'href="{base}/category/{product.category.slug}">{esc(category)}</a></span></li>'
        '<li class="a-breadcrumb-divider"><span class="a-list-item">›</span></li>'
        f'<li><span class="a-list-item"><a class="a-link-normal a-color-tertiary" '
        f'href="{base}/search?q={quote_plus(product.brand)}">{esc(product.brand)}</a></span></li>'
        "</ul></div>\n"
        '<div id="leftCol"><div id="imageBlock"><div id="imgTagWrapperId" class="imgTagWrapper">'
        f'<img id="landingImage" alt="{esc(product.name)}" src="{base}{product.image_paths[0]}" '
        f'data-old-hires="{base}{product.image_paths[0]}"></div>'
        f'<ul id="altImages" class="a-unordered-list a-nostyle">{thumbs}</ul></div></div>\n'
        '<div id="centerCol">\n<div id="title_feature_div"><h1 id="title" '
        'class="a-size-large a-spacing-none"><span id="productTitle" class="a-size-large '
        f'product-title-word-break">\n        {esc(product.name)}\n       </span></h1></div>\n'
        f'<div id="bylineInfo_feature_div"><a id="bylineInfo" class="a-link-normal" '
        f'href="{base}/search?q={quote_plus(product.brand)}">'
        f"{esc(loc.text('visit_store', brand=product.brand))}</a></div>\n"
        f'<div id="averageCustomerReviews"><span id="acrPopover" title="{esc(rating)}">'
        f'<span class="a-icon-alt">{esc(rating)}</span></span> '
        f'<a id="acrCustomerReviewLink" href="#customerReviews"><span id="acrCustomerReviewText" '
        f'class="a-size-base">{esc(ratings)}</span></a></div>\n<hr>\n'
        '<div id="corePrice_feature_div" class="celwidget" data-feature-name="corePrice">'
        f'<div class="a-section a-spacing-micro">{_price(loc, state.price)}</div>'
        f"{list_price}</div>\n"
        '<div id="feature-bullets" class="a-section a-spacing-medium">'
        f"<h2>{esc(loc.text('about_item'))}</h2>"
        f'<ul class="a-unordered-list a-vertical a-spacing-mini">{bullets}</ul></div>\n'
        "</div>\n"
        '<div id="rightCol"><div id="buybox"><div id="desktop_buybox" class="a-box">'
        f'<div id="apex_offerDisplay_desktop">{_price(loc, state.price, size="l")}</div>'
        f"{_availability(loc, state)}{_buy_form(base, product, loc, state)}"
        f'<div id="merchant-info" class="a-section">{MARKETPLACE_NAME}</div>'
        "</div></div></div>\n"
        f'<div id="prodDetails"><h2>{esc(loc.text("market_details"))}</h2>'
        '<table id="productDetails_techSpec_section_1" class="a-keyvalue prodDetTable">'
        f"<tbody>{details_rows}</tbody></table></div>\n"
        '<div id="productDescription_feature_div"><div id="productDescription" '
        f'class="a-section a-spacing-small"><p><span>{esc(" ".join(product.description))}'
        "</span></p></div></div>\n"
        f'<div id="sims-consolidated-1_feature_div"><h2>{esc(loc.text("market_also_bought"))}'
        f"</h2>{_related(base, related)}</div>\n"
        '<div id="customerReviews"></div>\n'
        "</div></div>\n"
        f'<footer id="navFooter"><a href="{base}/help/terms-of-sale">Conditions of use</a> '
        f'<a href="{base}/help/privacy-policy">Privacy notice</a> '
        f"<span>© {MARKETPLACE_NAME}, a fictional marketplace for pricewatch tests</span>"
        "</footer>\n</body>\n</html>\n"
    )
