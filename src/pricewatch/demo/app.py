"""Request routing of the demo shop, independent of the HTTP server that feeds it."""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from pricewatch.demo import listing_pages
from pricewatch.demo.catalog import Catalog, PageKind, Product
from pricewatch.demo.layout import STYLESHEET, esc
from pricewatch.demo.product_pages import PageContext, offer_payload, render_product
from pricewatch.demo.special_pages import (
    StreamedBody,
    captcha_page,
    garbage_bytes,
    huge_page,
    solid_png,
)

_log = logging.getLogger("pricewatch.demo")

HTML = "text/html; charset=utf-8"
JSON = "application/json"
MEGABYTE = 1024 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class ShopOptions:
    """Behaviour of the special pages (slow, flaky, huge, redirects, garbage)."""

    flaky_failures: int = 2
    slow_default_seconds: float = 5.0
    slow_max_seconds: float = 30.0
    huge_bytes: int = 20 * MEGABYTE
    huge_max_bytes: int = 256 * MEGABYTE
    redirect_max: int = 30
    garbage_bytes: int = 64 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    """What routing needs from an HTTP request."""

    method: str
    path: str
    query: Mapping[str, str]
    base: str


@dataclass(frozen=True, slots=True)
class Response:
    """Status, headers and a body that is either bytes or streamed."""

    status: int
    content_type: str
    body: bytes | StreamedBody = b""
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def length(self) -> int:
        """Exact Content-Length of the body."""
        return self.body.length if isinstance(self.body, StreamedBody) else len(self.body)

    def chunks(self) -> Iterator[bytes]:
        """The body in the pieces it should be written in."""
        if isinstance(self.body, StreamedBody):
            yield from self.body.chunks()
        elif self.body:
            yield self.body


def html_response(status: int, text: str, *, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """An HTML response that caches nowhere (prices change)."""
    return Response(
        status=status,
        content_type=HTML,
        body=text.encode(),
        headers=(("Cache-Control", "no-cache"), *headers),
    )


def _int_param(query: Mapping[str, str], name: str, *, default: int) -> int | None:
    """Integer query parameter `name`, `default` when absent, None when malformed."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def _float_param(query: Mapping[str, str], name: str, *, default: float) -> float:
    """Float query parameter `name`, `default` when absent, malformed, NaN or infinite."""
    try:
        value = float(query.get(name, default))
    except ValueError:
        return default
    return value if math.isfinite(value) else default


class ShopApp:
    """Maps requests to pages. Thread-safe: the only mutable state is the flaky counters."""

    def __init__(self, *, catalog: Catalog, options: ShopOptions, stopping: threading.Event):
        self.catalog = catalog
        self.options = options
        self.stopping = stopping
        self._flaky_lock = threading.Lock()
        self._flaky_counts: dict[str, int] = {}
        self._garbage = garbage_bytes(seed=catalog.seed, size=options.garbage_bytes)
        self._images = {
            c.slug: solid_png(width=240, height=240, rgb=c.color) for c in catalog.categories
        }
        self._captcha_image = solid_png(width=200, height=70, rgb=(200, 200, 200))
        self._exact: dict[str, Callable[[Request, PageContext], Response]] = {
            "/": self._home,
            "/search": self._search,
            "/sitemap.xml": self._sitemap,
            "/products.json": self._products_json,
            "/robots.txt": self._robots,
            "/cart": self._cart,
            "/robot-check": self._captcha,
            "/slow": self._slow,
            "/huge": self._huge,
            "/garbage": self._garbage_page,
            "/redirect-loop": self._redirect_loop,
            "/static/shop.css": self._stylesheet,
        }
        self._prefixed: tuple[tuple[str, Callable[[Request, PageContext, str], Response]], ...] = (
            ("/category/", self._category),
            ("/flaky/", self._flaky),
            ("/redirect/", self._redirect),
            ("/img/", self._image),
            ("/api/offer/", self._api_offer),
        )

    def handle(self, request: Request) -> Response:
        """The response to `request`; never raises (errors become a 500 page)."""
        try:
            return self._route(request)
        except Exception:
            _log.exception("demo shop failed on %s", request.path)
            return html_response(500, "<!DOCTYPE html><title>Error</title><h1>Server error</h1>")

    def reset_flaky(self) -> None:
        """Forget how often each flaky page was requested."""
        with self._flaky_lock:
            self._flaky_counts.clear()

    def _route(self, request: Request) -> Response:
        """Dispatch on the path: fixed pages, product pages, then prefixed families."""
        ctx = PageContext(base=request.base, catalog=self.catalog, at=self.catalog.now())
        if request.method == "POST":
            return self._post(request, ctx)
        exact = self._exact.get(request.path)
        if exact is not None:
            return exact(request, ctx)
        product = self.catalog.by_path(request.path)
        if product is not None:
            return html_response(200, render_product(product, ctx=ctx))
        for prefix, handler in self._prefixed:
            if request.path.startswith(prefix):
                return handler(request, ctx, request.path[len(prefix) :])
        return self._not_found(request, ctx)

    def _post(self, request: Request, ctx: PageContext) -> Response:
        """Add-to-cart forms land on the cart; nothing else accepts POST."""
        if request.path == "/cart/add":
            return html_response(303, "", headers=(("Location", ctx.url("/cart")),))
        return html_response(
            405, "<!DOCTYPE html><title>405</title>", headers=(("Allow", "GET, HEAD"),)
        )

    def _not_found(self, request: Request, ctx: PageContext) -> Response:
        """A real 404 with the shop's HTML frame."""
        return html_response(404, listing_pages.not_found_page(ctx, path=request.path))

    def _product_for(self, request: Request) -> Product:
        """The product a special page shows: `?sku=` if known, else the first product."""
        chosen = self.catalog.by_sku(request.query.get("sku", ""))
        return chosen if chosen is not None else self.catalog.products[0]

    # --- listings -------------------------------------------------------------------------

    def _home(self, request: Request, ctx: PageContext) -> Response:
        """Front page."""
        return html_response(200, listing_pages.home_page(ctx))

    def _category(self, request: Request, ctx: PageContext, slug: str) -> Response:
        """Department listing, `?page=N`."""
        category = self.catalog.category(slug)
        number = _int_param(request.query, "page", default=1)
        if category is None or number is None:
            return self._not_found(request, ctx)
        text = listing_pages.category_page(ctx, category, number=number)
        return self._not_found(request, ctx) if text is None else html_response(200, text)

    def _search(self, request: Request, ctx: PageContext) -> Response:
        """Search results, `?q=...&page=N`."""
        number = _int_param(request.query, "page", default=1)
        text = None
        if number is not None:
            text = listing_pages.search_page(ctx, query=request.query.get("q", ""), number=number)
        return self._not_found(request, ctx) if text is None else html_response(200, text)

    def _sitemap(self, request: Request, ctx: PageContext) -> Response:
        """sitemap.xml."""
        body = listing_pages.sitemap_xml(ctx).encode()
        return Response(status=200, content_type="application/xml; charset=utf-8", body=body)

    def _products_json(self, request: Request, ctx: PageContext) -> Response:
        """JSON product index, filtered by `?kind=a,b`, `?category=` and `?limit=`."""
        kinds = None
        if request.query.get("kind"):
            try:
                kinds = [PageKind(k) for k in request.query["kind"].split(",")]
            except ValueError:
                return Response(status=400, content_type=JSON, body=b'{"error": "unknown kind"}')
        limit = _int_param(request.query, "limit", default=-1)
        text = listing_pages.products_index(
            ctx,
            kinds=kinds,
            category=request.query.get("category") or None,
            limit=None if limit is None or limit < 0 else limit,
        )
        return Response(status=200, content_type=JSON, body=text.encode())

    def _robots(self, request: Request, ctx: PageContext) -> Response:
        """robots.txt."""
        body = listing_pages.robots_txt(ctx).encode()
        return Response(status=200, content_type="text/plain; charset=utf-8", body=body)

    def _cart(self, request: Request, ctx: PageContext) -> Response:
        """The cart page."""
        return html_response(200, listing_pages.cart_page(ctx))

    def _stylesheet(self, request: Request, ctx: PageContext) -> Response:
        """The shop's CSS."""
        return Response(
            status=200,
            content_type="text/css; charset=utf-8",
            body=STYLESHEET.encode(),
            headers=(("Cache-Control", "max-age=86400"),),
        )

    def _image(self, request: Request, ctx: PageContext, name: str) -> Response:
        """Placeholder product images (`<sku>-<n>.png`), coloured by category."""
        if name == "captcha.png":
            body = self._captcha_image
        else:
            sku = name.removesuffix(".png").rpartition("-")[0].upper()
            product = self.catalog.by_sku(sku) if name.endswith(".png") else None
            if product is None:
                return self._not_found(request, ctx)
            body = self._images[product.category.slug]
        return Response(
            status=200,
            content_type="image/png",
            body=body,
            headers=(("Cache-Control", "max-age=86400"),),
        )

    def _api_offer(self, request: Request, ctx: PageContext, name: str) -> Response:
        """The offer JSON that half of the JavaScript pages fetch."""
        product = (
            self.catalog.by_sku(name.removesuffix(".json")) if name.endswith(".json") else None
        )
        if product is None:
            return Response(status=404, content_type=JSON, body=b'{"error": "not found"}')
        payload = offer_payload(product, ctx.state(product))
        return Response(
            status=200,
            content_type=JSON,
            body=json.dumps(payload, ensure_ascii=False).encode(),
            headers=(("Cache-Control", "no-store"),),
        )

    # --- hostile pages --------------------------------------------------------------------

    def _captcha(self, request: Request, ctx: PageContext) -> Response:
        """Robot check, HTTP 200 (as marketplaces often send) or 503 with `?status=503`."""
        status = 503 if request.query.get("status") == "503" else 200
        return html_response(status, captcha_page(base=ctx.base))

    def _slow(self, request: Request, ctx: PageContext) -> Response:
        """A product page sent after `?delay=` seconds (capped); shutdown cuts the wait short."""
        default = self.options.slow_default_seconds
        delay = min(
            max(_float_param(request.query, "delay", default=default), 0.0),
            self.options.slow_max_seconds,
        )
        if self.stopping.wait(delay):
            return html_response(503, "<!DOCTYPE html><title>Shutting down</title>")
        page = render_product(self._product_for(request), ctx=ctx)
        return html_response(200, page, headers=(("X-Demo-Delay", f"{delay:g}"),))

    def _flaky(self, request: Request, ctx: PageContext, key: str) -> Response:
        """503 with Retry-After: 1 for the first `?fail=` (default 2) requests per key, then 200."""
        failures = _int_param(request.query, "fail", default=self.options.flaky_failures)
        failures = self.options.flaky_failures if failures is None else max(0, failures)
        with self._flaky_lock:
            seen = self._flaky_counts.get(key, 0) + 1
            self._flaky_counts[key] = seen
        if seen <= failures:
            body = (
                '<!DOCTYPE html><html lang="en"><head><title>Service unavailable</title></head>'
                "<body><h1>Service temporarily unavailable</h1><p>Please try again in a moment."
                "</p></body></html>"
            )
            return html_response(503, body, headers=(("Retry-After", "1"),))
        return html_response(200, render_product(self._product_for(request), ctx=ctx))

    def _huge(self, request: Request, ctx: PageContext) -> Response:
        """A product page padded to `?mb=` megabytes (default 20, capped) and streamed."""
        size = int(
            _float_param(request.query, "mb", default=self.options.huge_bytes / MEGABYTE) * MEGABYTE
        )
        size = min(max(size, 0), self.options.huge_max_bytes)
        page = render_product(self._product_for(request), ctx=ctx)
        body = huge_page(page, size=size, should_stop=self.stopping.is_set)
        return Response(
            status=200, content_type=HTML, body=body, headers=(("Cache-Control", "no-cache"),)
        )

    def _garbage_page(self, request: Request, ctx: PageContext) -> Response:
        """Binary noise served as text/html."""
        return Response(status=200, content_type=HTML, body=self._garbage)

    def _redirect(self, request: Request, ctx: PageContext, rest: str) -> Response:
        """`/redirect/N`: N hops (alternating absolute and relative) ending on a product page.

        `?to=/path` picks the destination, `?status=301|302|303|307|308` the code.
        """
        try:
            hops = int(rest)
        except ValueError:
            return self._not_found(request, ctx)
        if not 1 <= hops <= self.options.redirect_max:
            return self._not_found(request, ctx)
        target = request.query.get("to", "")
        custom = target.startswith("/") and not target.startswith("//")
        status = _int_param(request.query, "status", default=302)
        status = status if status in _REDIRECT_STATUSES else 302
        if hops == 1:
            location = target if custom else self.catalog.products[0].url_path
        else:
            params = [f"status={status}"] if status != 302 else []
            params += [f"to={quote(target)}"] if custom else []
            location = f"/redirect/{hops - 1}" + ("?" + "&".join(params) if params else "")
        if hops % 2 == 0:
            location = ctx.url(location)
        body = f'<!DOCTYPE html><title>Moved</title><p>Moved to <a href="{esc(location)}">here</a>.'
        return html_response(status, body, headers=(("Location", location),))

    def _redirect_loop(self, request: Request, ctx: PageContext) -> Response:
        """A page that redirects to itself forever."""
        return html_response(302, "", headers=(("Location", ctx.url("/redirect-loop")),))
