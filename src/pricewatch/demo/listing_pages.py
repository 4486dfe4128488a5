"""Pages that lead to products: home, paginated categories, search, sitemap and JSON index."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote_plus
from xml.sax.saxutils import escape as xml_escape

from pricewatch.demo.catalog import PageKind, Product
from pricewatch.demo.categories import Category
from pricewatch.demo.layout import breadcrumbs, esc, page
from pricewatch.demo.product_pages import PageContext, product_card

PAGE_SIZE = 24
FEATURED_COUNT = 12


def _grid(products: Sequence[Product], ctx: PageContext) -> str:
    """Product cards in a grid."""
    cards = "".join(product_card(p, ctx) for p in products)
    return f'<ul class="cards product-grid">{cards}</ul>\n'


def _page_count(total: int) -> int:
    """Number of listing pages for `total` products (at least one, possibly empty)."""
    return max(1, -(-total // PAGE_SIZE))


def _pagination(ctx: PageContext, *, path: str, number: int, pages: int) -> tuple[str, str]:
    """Pagination links for the body and rel=prev/next links for the head.

    `path` may already carry a query string; pages after the first add `page=N`.
    """

    def href(n: int) -> str:
        """URL of listing page `n` (page 1 has no page parameter)."""
        if n == 1:
            return ctx.url(path)
        joiner = "&" if "?" in path else "?"
        return ctx.url(f"{path}{joiner}page={n}")

    links, head = [], []
    if number > 1:
        links.append(
            f'<a class="pagination__prev" rel="prev" href="{esc(href(number - 1))}">Previous</a>'
        )
        head.append(f'<link rel="prev" href="{esc(href(number - 1))}">\n')
    links.append(f'<span class="pagination__current">Page {number} of {pages}</span>')
    if number < pages:
        links.append(
            f'<a class="pagination__next" rel="next" href="{esc(href(number + 1))}">Next</a>'
        )
        head.append(f'<link rel="next" href="{esc(href(number + 1))}">\n')
    body = f'<nav class="pagination" aria-label="Pagination">{"".join(links)}</nav>\n'
    return body, "".join(head)


def _paged(
    ctx: PageContext, products: Sequence[Product], *, path: str, number: int
) -> tuple[str, str] | None:
    """Grid and pagination for page `number` of `products`; None when out of range."""
    pages = _page_count(len(products))
    if not 1 <= number <= pages:
        return None
    start = (number - 1) * PAGE_SIZE
    chunk = products[start : start + PAGE_SIZE]
    shown = (
        f'<p class="result-count">Showing {start + 1}–{start + len(chunk)} of {len(products)}</p>\n'
        if chunk
        else ""
    )
    nav, head = _pagination(ctx, path=path, number=number, pages=pages)
    return shown + _grid(chunk, ctx) + nav, head


def home_page(ctx: PageContext) -> str:
    """The front page: departments and featured products."""
    catalog = ctx.catalog
    departments = "".join(
        f'<li class="department"><a href="{ctx.url(f"/category/{c.slug}")}">{esc(c.name("en"))}'
        f"</a> <span>({len(catalog.in_category(c.slug))} products)</span></li>"
        for c in catalog.categories
    )
    body = (
        '<section class="hero"><h1>Everything you need, at prices that move</h1>'
        "<p>Laptops, phones, headphones, coffee machines and books from our own warehouse "
        "and selected partners.</p></section>\n"
        f'<section><h2>Departments</h2><ul class="departments">{departments}</ul></section>\n'
        f"<section><h2>Featured products</h2>{_grid(catalog.products[:FEATURED_COUNT], ctx)}"
        f'<p><a href="{ctx.url("/sitemap.xml")}">Sitemap</a></p></section>\n'
    )
    return page(base=ctx.base, lang="en", ui="en", title="Home", body=body, body_class="page-home")


def category_page(ctx: PageContext, category: Category, *, number: int) -> str | None:
    """Page `number` of a department listing, 24 products per page; None when out of range."""
    path = f"/category/{category.slug}"
    paged = _paged(ctx, ctx.catalog.in_category(category.slug), path=path, number=number)
    if paged is None:
        return None
    listing, head = paged
    title = category.name("en") + (f" – page {number}" if number > 1 else "")
    canonical = ctx.url(path if number == 1 else f"{path}?page={number}")
    head = f'<link rel="canonical" href="{esc(canonical)}">\n' + head
    body = (
        breadcrumbs(base=ctx.base, ui="en", trail=[(category.name("en"), None)])
        + f"<h1>{esc(category.name('en'))}</h1>\n"
        + listing
    )
    return page(
        base=ctx.base,
        lang="en",
        ui="en",
        title=title,
        head=head,
        body=body,
        body_class="page-category",
    )


def search_page(ctx: PageContext, *, query: str, number: int) -> str | None:
    """Search results for `query` (case-insensitive name match); None when out of range."""
    results = ctx.catalog.search(query)
    path = f"/search?q={quote_plus(query)}"
    paged = _paged(ctx, results, path=path, number=number)
    if paged is None:
        return None
    listing, head = paged
    if not query.strip():
        heading, listing = "Search", '<p class="no-results">Type a product name to search.</p>\n'
    elif not results:
        heading = f"No results for “{query}”"
        listing = f'<p class="no-results">No products match “{esc(query)}”.</p>\n'
    else:
        heading = f"{len(results)} results for “{query}”"
    body = (
        breadcrumbs(base=ctx.base, ui="en", trail=[("Search", None)])
        + f"<h1>{esc(heading)}</h1>\n"
        + listing
    )
    head = '<meta name="robots" content="noindex">\n' + head
    return page(
        base=ctx.base,
        lang="en",
        ui="en",
        title=heading,
        head=head,
        body=body,
        body_class="page-search",
    )


def cart_page(ctx: PageContext) -> str:
    """The (always empty) cart."""
    body = (
        breadcrumbs(base=ctx.base, ui="en", trail=[("Cart", None)])
        + "<h1>Your cart</h1>\n<p>Your cart is empty.</p>\n"
    )
    return page(base=ctx.base, lang="en", ui="en", title="Cart", body=body, body_class="page-cart")


def not_found_page(ctx: PageContext, *, path: str) -> str:
    """The body of a 404 answer: the shop frame with a search hint."""
    body = (
        '<section class="not-found"><h1>Page not found</h1>'
        f"<p>Sorry, we could not find <code>{esc(path)}</code>. The product may have been "
        "removed, or the link may be mistyped.</p>"
        f'<p><a href="{ctx.url("/")}">Back to the home page</a></p></section>\n'
    )
    return page(
        base=ctx.base, lang="en", ui="en", title="Page not found", body=body, body_class="page-404"
    )


def sitemap_xml(ctx: PageContext) -> str:
    """sitemap.xml listing the home page, the departments and every product."""
    paths = ["/", *(f"/category/{c.slug}" for c in ctx.catalog.categories)]
    paths += [p.url_path for p in ctx.catalog.products]
    urls = "".join(f"<url><loc>{xml_escape(ctx.url(p))}</loc></url>\n" for p in paths)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'
    )


def products_index(
    ctx: PageContext,
    *,
    kinds: Sequence[PageKind] | None = None,
    category: str | None = None,
    limit: int | None = None,
) -> str:
    """Machine-readable product list (id order, so kinds alternate) for tools and the CLI."""
    products = [
        p
        for p in ctx.catalog.products
        if (kinds is None or p.kind in kinds) and (category is None or p.category.slug == category)
    ]
    if limit is not None:
        products = products[:limit]
    items = [
        {
            "sku": p.sku,
            "name": p.name,
            "brand": p.brand,
            "gtin13": p.gtin,
            "category": p.category.slug,
            "kind": p.kind.value,
            "locale": p.locale.code,
            "currency": p.currency,
            "path": p.url_path,
            "url": ctx.url(p.url_path),
        }
        for p in products
    ]
    index = {
        "seed": ctx.catalog.seed,
        "period_seconds": ctx.catalog.period,
        "count": len(items),
        "products": items,
    }
    return json.dumps(index, ensure_ascii=False, indent=1) + "\n"


def robots_txt(ctx: PageContext) -> str:
    """robots.txt allowing everything and pointing at the sitemap."""
    return f"User-agent: *\nAllow: /\n\nSitemap: {ctx.url('/sitemap.xml')}\n"
