"""The shop's page frame: head, header with search and navigation, breadcrumbs, footer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape

from pricewatch.demo.categories import CATEGORIES
from pricewatch.demo.locales import ui_text

SHOP_NAME = "Demo Shop"

STYLESHEET = """\
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#1d232b}
a{color:#0b5cad}.site-header{display:flex;gap:1rem;align-items:center;padding:.7rem 1.5rem;
background:#14213d;color:#fff}.site-header a{color:#fff}.logo{font-weight:700;font-size:1.3rem;
text-decoration:none}.search{flex:1;display:flex}.search input{flex:1;padding:.4rem}
.main-nav ul{display:flex;gap:1.2rem;list-style:none;margin:0;padding:.5rem 1.5rem;
background:#e9edf3}.promo{margin:0;padding:.3rem 1.5rem;background:#fca311;font-size:.85rem}
main{max-width:1180px;margin:0 auto;padding:1rem 1.5rem}.breadcrumbs ol{display:flex;gap:.4rem;
list-style:none;padding:0;font-size:.85rem}.breadcrumbs li+li:before{content:"›";margin-right:.4rem}
.product{display:grid;grid-template-columns:1fr 1fr;gap:2rem}.product__gallery img{max-width:100%;
height:auto}.thumbs{display:flex;gap:.5rem;list-style:none;padding:0}.buy-box{border:1px solid #ccd;
border-radius:8px;padding:1rem;margin:1rem 0}.price--current{font-size:1.8rem;font-weight:700}
.price--was{color:#777;margin-left:.5rem}.badge{background:#c1121f;color:#fff;padding:0 .4rem;
border-radius:4px}.stock--in{color:#2b8a3e}.stock--out{color:#c1121f;font-weight:600}
.btn{padding:.6rem 1.2rem;border:0;border-radius:6px;background:#fca311;font-weight:600}
.btn[disabled]{background:#ccc}.specs th{text-align:left;padding-right:1rem}
.product__description,.product__specs,.product__reviews{grid-column:1/-1}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:1rem;
list-style:none;padding:0}.card{border:1px solid #e1e4ea;border-radius:8px;padding:.6rem}
.card img{width:100%;height:auto}.card .price{font-weight:700}.carousel .cards{display:flex;
overflow-x:auto}.carousel .card{min-width:180px}.pagination{display:flex;gap:1rem}
.site-footer{margin-top:3rem;padding:1.5rem;background:#14213d;color:#ccd}
.site-footer a{color:#ccd}.footer-cols{display:flex;gap:3rem}.skeleton{height:5rem;
background:linear-gradient(90deg,#eee,#f8f8f8,#eee)}
"""


def esc(text: object) -> str:
    """HTML-escape `text` for element content and quoted attributes."""
    return escape(str(text), quote=True)


def json_ld(data: object) -> str:
    """A JSON-LD script element; "</" is escaped so the JSON cannot close the script early."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/ld+json">{body}</script>'


def header(*, base: str, ui: str) -> str:
    """Site header: logo, search form, cart link, department navigation and promo strip."""
    nav = "".join(
        f'<li><a href="{base}/category/{c.slug}">{esc(c.name(ui))}</a></li>' for c in CATEGORIES
    )
    return (
        '<header class="site-header">'
        f'<a class="logo" href="{base}/">{SHOP_NAME}</a>'
        f'<form class="search" action="{base}/search" method="get" role="search">'
        f'<input type="search" name="q" placeholder="{esc(ui_text(ui, "search_placeholder"))}" '
        f'aria-label="{esc(ui_text(ui, "search"))}">'
        f'<button type="submit">{esc(ui_text(ui, "search"))}</button></form>'
        f'<a class="cart-link" href="{base}/cart">{esc(ui_text(ui, "cart"))} (0)</a>'
        "</header>\n"
        f'<nav class="main-nav" aria-label="Departments"><ul>{nav}</ul></nav>\n'
        '<p class="promo">Free returns within 30 days · Secure payment · Customer service 7/7</p>\n'
    )


def footer(*, base: str) -> str:
    """Site footer with help and company links."""
    help_links = ("Shipping", "Returns", "Order tracking", "Contact us")
    about_links = ("About us", "Careers", "Press", "Privacy policy", "Terms of sale")

    def column(title: str, names: Sequence[str]) -> str:
        """One footer column of links."""
        items = "".join(
            f'<li><a href="{base}/help/{esc(n.lower().replace(" ", "-"))}">{esc(n)}</a></li>'
            for n in names
        )
        return f"<section><h4>{esc(title)}</h4><ul>{items}</ul></section>"

    return (
        '<footer class="site-footer"><div class="footer-cols">'
        f"{column('Help', help_links)}{column('Company', about_links)}</div>"
        f'<p class="legal">© 2024 {SHOP_NAME}: a fictional store serving test pages for '
        "pricewatch. Prices include VAT where applicable.</p></footer>\n"
    )


def breadcrumbs(*, base: str, ui: str, trail: Sequence[tuple[str, str | None]]) -> str:
    """Breadcrumb navigation from Home through `trail` (label, path-or-None for the current)."""
    items = [f'<li><a href="{base}/">{esc(ui_text(ui, "home"))}</a></li>']
    for text, path in trail:
        if path is None:
            items.append(f'<li aria-current="page">{esc(text)}</li>')
        else:
            items.append(f'<li><a href="{base}{path}">{esc(text)}</a></li>')
    return f'<nav class="breadcrumbs" aria-label="Breadcrumb"><ol>{"".join(items)}</ol></nav>\n'


def page(
    *,
    base: str,
    lang: str,
    ui: str,
    title: str,
    body: str,
    head: str = "",
    body_class: str = "",
) -> str:
    """A complete HTML document in the shop's frame."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)} | {SHOP_NAME}</title>\n"
        f'<link rel="stylesheet" href="{base}/static/shop.css">\n'
        f"{head}</head>\n"
        f'<body class="{esc(body_class)}">\n'
        f"{header(base=base, ui=ui)}"
        f'<main id="main">\n{body}</main>\n'
        f"{footer(base=base)}"
        "</body>\n</html>\n"
    )
