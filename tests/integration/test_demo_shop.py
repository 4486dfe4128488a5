"""The demo shop over real HTTP on 127.0.0.1: page kinds, determinism, hostile pages, listings."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from lxml import html as lxml_html

from pricewatch.demo import (
    Catalog,
    DemoShop,
    ManualClock,
    PageKind,
    Product,
    ShopOptions,
    running_demo_shop,
    serve_forever,
)
from pricewatch.demo.locales import LOCALES, marketplace_locale
from pricewatch.domain import Availability

SEED = 1234
PRODUCTS = 120
MEGABYTE = 1024 * 1024
HTML_TYPE = "text/html; charset=utf-8"
PRICE_PATTERNS = {
    "en-US": r"\$\d{1,3}(,\d{3})*\.\d{2}",
    "en-GB": r"£\d{1,3}(,\d{3})*\.\d{2}",
    "fr-FR": "\\d{1,3}(\u202f\\d{3})*,\\d{2}\u00a0€",
    "de-DE": "\\d{1,3}(\\.\\d{3})*,\\d{2}\u00a0€",
    "de-CH": "CHF\u00a0\\d{1,3}('\\d{3})*\\.\\d{2}",
}


@pytest.fixture(scope="module")
def shop() -> Iterator[DemoShop]:
    """A small shop on a frozen clock, so expected states cannot move under a test."""
    options = ShopOptions(flaky_failures=2, slow_max_seconds=2.0)
    with running_demo_shop(
        seed=SEED, product_count=PRODUCTS, clock=ManualClock(), options=options
    ) as running:
        yield running


@pytest.fixture(scope="module")
def client(shop: DemoShop) -> Iterator[httpx.Client]:
    """A keep-alive client on the module's shop."""
    with httpx.Client(base_url=shop.base_url, timeout=10.0) as http:
        yield http


def _page(client: httpx.Client, product: Product) -> tuple[httpx.Response, Any]:
    """GET a product page and parse it."""
    response = client.get(product.url_path)
    assert response.status_code == 200, product.url_path
    return response, _parse(response.content)


def _parse(content: bytes) -> Any:
    """An lxml document (typed Any: lxml's XPath results are a wide union)."""
    return lxml_html.fromstring(content)


def _json_ld_nodes(doc: Any) -> list[dict[str, Any]]:
    """Every top-level JSON-LD node of a page, @graph flattened."""
    nodes: list[dict[str, Any]] = []
    for script in doc.xpath('//script[@type="application/ld+json"]'):
        data = json.loads(script.text)
        nodes.extend(data.get("@graph", [data]))
    return nodes


def _ld_price(node: dict[str, Any]) -> tuple[Decimal, str]:
    """The price and availability a JSON-LD Product or ProductGroup node gives."""
    if node["@type"] == "ProductGroup":
        node = node["hasVariant"][0]
    offer = node["offers"]
    if offer["@type"] == "AggregateOffer":
        return Decimal(str(offer["lowPrice"])), offer["availability"]
    if "priceSpecification" in offer:
        specs = offer["priceSpecification"]
        specs = specs if isinstance(specs, list) else [specs]
        unit = next(s for s in specs if "priceType" not in s)
        return Decimal(str(unit["price"])), offer["availability"]
    return Decimal(str(offer["price"])), offer["availability"]


def _select(doc: Any, css: str) -> list[Any]:
    """Elements matching a small CSS subset (tag#id.class, descendants), via XPath.

    lxml's cssselect needs the cssselect package, which is not a dependency.
    """
    steps = []
    for token in css.split():
        tag, *parts = re.split(r"(?=[#.])", token)
        tests = [
            f'@id="{p[1:]}"'
            if p.startswith("#")
            else f'contains(concat(" ", normalize-space(@class), " "), " {p[1:]} ")'
            for p in parts
        ]
        steps.append((tag or "*") + "".join(f"[{t}]" for t in tests))
    return list(doc.xpath("//" + "//".join(steps)))


def _text(doc: Any, css: str) -> str:
    """Text of the first element matching `css`, ASCII whitespace collapsed (no-break kept)."""
    return re.sub(r"[ \t\r\n]+", " ", _select(doc, css)[0].text_content()).strip()


# --- every product page ---------------------------------------------------------------------


def test_catalog_covers_every_kind_locale_and_category(shop: DemoShop) -> None:
    catalog = shop.catalog
    assert len(catalog) == PRODUCTS
    assert {p.kind for p in catalog.products} == set(PageKind)
    assert {p.locale.code for p in catalog.products} == {loc.code for loc in LOCALES}
    assert {p.category.slug for p in catalog.products} == {c.slug for c in catalog.categories}
    assert len({p.sku for p in catalog.products}) == PRODUCTS
    assert len({p.url_path for p in catalog.products}) == PRODUCTS


def test_every_gtin_has_a_valid_check_digit(shop: DemoShop) -> None:
    for product in shop.catalog.products:
        digits = [int(d) for d in product.gtin]
        assert len(digits) == 13
        total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
        assert (10 - total % 10) % 10 == digits[12], product.gtin


def test_every_product_page_shows_its_state(shop: DemoShop, client: httpx.Client) -> None:
    for product in shop.catalog.products:
        response, doc = _page(client, product)
        assert response.headers["content-type"] == HTML_TYPE
        assert doc.get("lang") == product.locale.lang
        assert product.name in doc.findtext(".//title")
        state = shop.state(product)
        shown = (
            marketplace_locale(product.locale)
            if product.kind is PageKind.AMAZON_LIKE
            else product.locale
        ).price(state.price)
        if product.kind is PageKind.JS_RENDERED:
            continue
        assert shown in response.text, (product.kind, product.url_path)
        for image in doc.xpath("//img/@src"):
            assert image.startswith(shop.base_url + "/")


def test_locale_price_formats() -> None:
    amount = Decimal("1226.50")
    assert [loc.price(amount) for loc in LOCALES] == [
        "$1,226.50",
        "1\u202f226,50\u00a0€",
        "1.226,50\u00a0€",
        "£1,226.50",
        "CHF\u00a01'226.50",
    ]
    french = next(loc for loc in LOCALES if loc.lang == "fr")
    assert marketplace_locale(french).price(amount) == "1.226,50\u00a0€"


def test_buy_box_prices_follow_the_page_locale(shop: DemoShop, client: httpx.Client) -> None:
    for product in shop.catalog.of_kind(PageKind.PLAIN):
        _, doc = _page(client, product)
        shown = _text(doc, "#buy-box .price--current")
        assert re.fullmatch(PRICE_PATTERNS[product.locale.code], shown), shown


def test_json_ld_pages_match_the_expected_state(shop: DemoShop, client: httpx.Client) -> None:
    kinds = (
        PageKind.JSONLD,
        PageKind.JSONLD_AGGREGATE,
        PageKind.JSONLD_GROUP,
        PageKind.JSONLD_PRICE_SPEC,
    )
    for product in shop.catalog.sample(4 * len(kinds), kinds=kinds):
        _, doc = _page(client, product)
        main = [n for n in _json_ld_nodes(doc) if n["@type"] in ("Product", "ProductGroup")]
        assert len(main) == 1, product.kind
        price, availability = _ld_price(main[0])
        state = shop.state(product)
        assert price == state.price
        assert availability.endswith("InStock" if state.in_stock else "OutOfStock")
        assert main[0].get("productGroupID", main[0].get("sku")) == product.sku


def test_stock_conflict_json_ld_says_in_stock_but_the_page_does_not(
    shop: DemoShop, client: httpx.Client
) -> None:
    for product in shop.catalog.of_kind(PageKind.STOCK_CONFLICT):
        _, doc = _page(client, product)
        (node,) = [n for n in _json_ld_nodes(doc) if n["@type"] == "Product"]
        assert node["offers"]["availability"].endswith("InStock")
        assert shop.state(product).availability is Availability.OUT_OF_STOCK
        assert _select(doc, "#buy-box .stock--out")
        assert not _select(doc, "#buy-box .add-to-cart")


def test_microdata_pages(shop: DemoShop, client: httpx.Client) -> None:
    for product in shop.catalog.of_kind(PageKind.MICRODATA):
        response, doc = _page(client, product)
        assert "application/ld+json" not in response.text
        (scope,) = doc.xpath('//*[@itemtype="https://schema.org/Product"]')
        state = shop.state(product)
        assert Decimal(scope.xpath('.//*[@itemprop="price"]/@content')[0]) == state.price
        assert scope.xpath('.//*[@itemprop="priceCurrency"]/@content') == [state.currency]
        status = scope.xpath('.//*[@itemprop="availability"]/@href')[0]
        assert status.endswith("InStock" if state.in_stock else "OutOfStock")


def test_opengraph_pages(shop: DemoShop, client: httpx.Client) -> None:
    for product in shop.catalog.of_kind(PageKind.OPENGRAPH):
        response, doc = _page(client, product)
        assert "application/ld+json" not in response.text
        assert "itemprop" not in response.text
        meta = {m.get("property"): m.get("content") for m in doc.xpath("//meta[@property]")}
        amount = meta.get("product:price:amount") or meta["og:price:amount"]
        state = shop.state(product)
        assert Decimal(amount) == state.price
        assert meta["product:availability"] == ("in stock" if state.in_stock else "out of stock")


def test_amazon_like_pages(shop: DemoShop, client: httpx.Client) -> None:
    products = shop.catalog.of_kind(PageKind.AMAZON_LIKE)
    assert any(p.url_path.startswith("/fr/") for p in products)
    for product in products:
        _, doc = _page(client, product)
        state = shop.state(product)
        loc = marketplace_locale(product.locale)
        assert doc.get("lang") == loc.lang
        assert _text(doc, "#productTitle") == product.name
        offscreen = _text(doc, "#corePrice_feature_div .a-price .a-offscreen")
        assert offscreen == loc.price(state.price)
        if product.url_path.startswith("/fr/"):
            assert re.fullmatch("\\d{1,3}(\\.\\d{3})*,\\d{2}\u00a0€", offscreen)
        else:
            assert re.fullmatch(PRICE_PATTERNS[product.locale.code], offscreen)
        assert _select(doc, "input#ASIN")[0].get("value") == product.sku
        assert bool(_select(doc, "#add-to-cart-button")) == state.in_stock
        assert _select(doc, "#availability")


def test_plain_pages_have_only_visible_text(shop: DemoShop, client: httpx.Client) -> None:
    for product in shop.catalog.of_kind(PageKind.PLAIN):
        response, _ = _page(client, product)
        assert "application/ld+json" not in response.text
        assert "itemprop" not in response.text
        assert "price:amount" not in response.text
        label = product.locale.text(
            "add_to_cart" if shop.state(product).in_stock else "out_of_stock"
        )
        assert label in response.text


def test_js_pages_have_no_price_in_static_html(shop: DemoShop, client: httpx.Client) -> None:
    for product in shop.catalog.of_kind(PageKind.JS_RENDERED):
        response, doc = _page(client, product)
        state = shop.state(product)
        assert product.locale.price(state.price) not in response.text
        assert f"{state.price:f}" not in response.text
        assert product.locale.text("in_stock") not in response.text
        assert "application/ld+json" not in response.text
        inline = doc.xpath('//script[@id="offer-data"]/text()')
        if inline:
            offer = json.loads(base64.b64decode(inline[0]))
        else:
            api = client.get(_select(doc, "#buy-box")[0].get("data-offer-url"))
            assert api.headers["content-type"] == "application/json"
            offer = api.json()
        assert offer["display"] == product.locale.price(state.price)
        assert Decimal(offer["price"]) == state.price
        assert offer["available"] is state.in_stock


def test_carousel_prices_come_before_the_product_price(
    shop: DemoShop, client: httpx.Client
) -> None:
    for product in shop.catalog.of_kind(PageKind.CAROUSEL_FIRST):
        response, doc = _page(client, product)
        assert "application/ld+json" not in response.text
        cards = _select(doc, ".carousel .card .price")
        assert len(cards) >= 3
        main = _select(doc, "#buy-box .price--current")[0]
        order = {id(el): i for i, el in enumerate(doc.iter())}
        assert order[id(cards[-1])] < order[id(main)]
        assert main.text_content() == product.locale.price(shop.state(product).price)


# --- time and seed --------------------------------------------------------------------------


def test_same_seed_and_time_give_identical_bytes() -> None:
    paths = ["/", "/category/books?page=2", "/sitemap.xml"]
    bodies = []
    for _ in range(2):
        with (
            running_demo_shop(seed=7, product_count=60, clock=ManualClock()) as shop,
            httpx.Client(base_url=shop.base_url, headers={"Host": "shop.example"}) as http,
        ):
            urls = paths + [p.url_path for p in shop.catalog.products[:22]]
            bodies.append([http.get(url).content for url in urls])
    assert bodies[0] == bodies[1]
    assert b"http://shop.example/" in bodies[0][0]


def test_other_seeds_give_other_shops() -> None:
    first, second = Catalog(seed=1, product_count=30), Catalog(seed=2, product_count=30)
    assert [p.name for p in first.products] != [p.name for p in second.products]
    assert [p.kind for p in first.products] == [p.kind for p in second.products]


def test_time_buckets_move_prices_deterministically() -> None:
    catalog = Catalog(seed=SEED, product_count=PRODUCTS, period=60.0)
    start = 1_700_000_000.0
    now = [catalog.state(p, at=start) for p in catalog.products]
    same_bucket = [catalog.state(p, at=start + 59.9 - start % 60) for p in catalog.products]
    assert now == same_bucket
    later = [catalog.state(p, at=start + 60) for p in catalog.products]
    changed = sum(a.price != b.price for a, b in zip(now, later, strict=True))
    assert 0 < changed < PRODUCTS / 2
    history = [catalog.state(p, at=start + 60 * b) for b in range(48) for p in catalog.products]
    assert any(s.was_price is not None and s.was_price > s.price for s in history)
    assert any(s.availability is Availability.OUT_OF_STOCK for s in history)
    assert any(s.availability is Availability.IN_STOCK for s in history)


def test_advancing_the_clock_changes_pages() -> None:
    clock = ManualClock()
    with (
        running_demo_shop(seed=SEED, product_count=44, period=10.0, clock=clock) as shop,
        httpx.Client(base_url=shop.base_url) as http,
    ):
        product = shop.catalog.of_kind(PageKind.MICRODATA)[0]
        before_state, before_page = shop.state(product), http.get(product.url_path).text
        assert http.get(product.url_path).text == before_page
        for _ in range(100):
            clock.advance(10.0)
            if shop.state(product).price != before_state.price:
                break
        after = shop.state(product)
        assert after.price != before_state.price
        page = http.get(product.url_path).text
        assert f'itemprop="price" content="{after.price:f}"' in page
        assert product.locale.price(after.price) in page


# --- special pages --------------------------------------------------------------------------


def test_not_found_is_a_real_404_page(client: httpx.Client) -> None:
    response = client.get("/p/no-such-product")
    assert response.status_code == 404
    assert response.headers["content-type"] == HTML_TYPE
    assert "Page not found" in response.text


def test_robot_check(client: httpx.Client) -> None:
    for status in (200, 503):
        response = client.get("/robot-check", params={"status": status})
        assert response.status_code == status
        assert "Enter the characters you see below" in response.text
        assert "not a robot" in response.text


def test_flaky_page_fails_then_recovers(client: httpx.Client) -> None:
    statuses = []
    for _ in range(3):
        response = client.get("/flaky/recovery-test")
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.headers["retry-after"] == "1"
    assert statuses == [503, 503, 200]
    assert client.get("/flaky/other-key", params={"fail": 1}).status_code == 503
    assert client.get("/flaky/other-key", params={"fail": 1}).status_code == 200


def test_slow_page_waits(client: httpx.Client) -> None:
    started = time.monotonic()
    response = client.get("/slow", params={"delay": 0.3})
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        client.get("/slow", params={"delay": 1}, timeout=0.2)


def test_huge_page_streams_its_advertised_size(client: httpx.Client) -> None:
    with client.stream("GET", "/huge") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == HTML_TYPE
        advertised = int(response.headers["content-length"])
        assert advertised >= 20 * MEGABYTE
        received, first = 0, b""
        for chunk in response.iter_raw():
            first = first or chunk
            received += len(chunk)
    assert received == advertised
    assert first.startswith(b"<!DOCTYPE html>")


def test_redirect_chain(shop: DemoShop, client: httpx.Client) -> None:
    url, hops = "/redirect/5", 0
    while True:
        response = client.get(url)
        if response.status_code != 302:
            break
        hops += 1
        url = response.headers["location"]
    assert hops == 5
    assert response.status_code == 200
    assert str(response.url).endswith(shop.catalog.products[0].url_path)
    with (
        httpx.Client(base_url=shop.base_url, max_redirects=3) as limited,
        pytest.raises(httpx.TooManyRedirects),
    ):
        limited.get("/redirect/5", follow_redirects=True)
    assert client.get("/redirect-loop").headers["location"].endswith("/redirect-loop")


def test_garbage_page_is_binary_labelled_html(client: httpx.Client) -> None:
    response = client.get("/garbage")
    assert response.status_code == 200
    assert response.headers["content-type"] == HTML_TYPE
    assert b"\x00" in response.content
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")


def test_images_and_head_requests(shop: DemoShop, client: httpx.Client) -> None:
    product = shop.catalog.products[3]
    image = client.get(product.image_paths[0])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    head = client.head(product.url_path)
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(client.get(product.url_path).content)


# --- listings -------------------------------------------------------------------------------


def test_home_links_to_every_department(shop: DemoShop, client: httpx.Client) -> None:
    doc = _parse(client.get("/").content)
    links = set(doc.xpath("//a/@href"))
    for category in shop.catalog.categories:
        assert shop.url(f"/category/{category.slug}") in links


def test_category_pagination_reaches_every_product(shop: DemoShop, client: httpx.Client) -> None:
    for category in shop.catalog.categories:
        url: str | None = f"/category/{category.slug}"
        found, pages = [], 0
        while url:
            response = client.get(url)
            assert response.status_code == 200
            doc = _parse(response.content)
            cards = _select(doc, ".product-grid .card a")
            assert 0 < len(cards) <= 24
            found += [a.get("href") for a in cards]
            following = doc.xpath('//a[@rel="next"]/@href')
            url = following[0] if following else None
            pages += 1
        expected = [shop.product_url(p) for p in shop.catalog.in_category(category.slug)]
        assert found == expected
        assert pages == -(-len(expected) // 24)
        assert (
            client.get(f"/category/{category.slug}", params={"page": pages + 1}).status_code == 404
        )
    assert client.get("/category/garden-gnomes").status_code == 404


def test_search_is_case_insensitive(shop: DemoShop, client: httpx.Client) -> None:
    product = shop.catalog.of_kind(PageKind.PLAIN)[0]
    response = client.get("/search", params={"q": product.name.upper()})
    assert response.status_code == 200
    doc = _parse(response.content)
    assert shop.product_url(product) in doc.xpath("//a/@href")
    none = client.get("/search", params={"q": "no such thing anywhere"})
    assert none.status_code == 200
    assert "No products match" in none.text


def test_sitemap_and_json_index(shop: DemoShop, client: httpx.Client) -> None:
    sitemap = client.get("/sitemap.xml")
    assert sitemap.headers["content-type"].startswith("application/xml")
    for product in shop.catalog.products:
        assert f"<loc>{shop.product_url(product)}</loc>" in sitemap.text
    index = client.get("/products.json", params={"kind": "js_rendered,plain", "limit": 5}).json()
    assert index["count"] == 5
    assert {p["kind"] for p in index["products"]} == {"js_rendered", "plain"}
    assert all(p["url"].startswith(shop.base_url) for p in index["products"])
    assert client.get("/products.json").json()["count"] == PRODUCTS


def test_product_urls_take_kinds_in_turn(shop: DemoShop) -> None:
    urls = shop.product_urls(22)
    kinds = [shop.catalog.by_path(u.removeprefix(shop.base_url)) for u in urls]
    assert [p.kind for p in kinds if p is not None] == list(PageKind) * 2
    assert len(shop.product_urls(kinds=[PageKind.AMAZON_LIKE])) == len(
        shop.catalog.of_kind(PageKind.AMAZON_LIKE)
    )


def test_session_fixture_serves_the_shop(demo_shop: DemoShop) -> None:
    before = demo_shop.state(demo_shop.catalog.products[0])
    with httpx.Client(base_url=demo_shop.base_url) as http:
        assert http.get("/").status_code == 200
    # The session shop's clock is stopped, so every test sees the same prices.
    assert demo_shop.state(demo_shop.catalog.products[0]) == before


# --- lifecycle ------------------------------------------------------------------------------


def _connection_threads(port: int) -> list[threading.Thread]:
    """Live connection threads of the shop on `port`."""
    return [t for t in threading.enumerate() if t.name == f"demo-shop-{port}-connection"]


def test_shutdown_frees_the_port_and_ends_connections() -> None:
    with running_demo_shop(seed=1, product_count=12) as shop:
        port = shop.port
        http = httpx.Client(base_url=shop.base_url)
        try:
            assert http.get("/").status_code == 200  # leaves an idle keep-alive connection
            slow: list[int | str] = []

            def fetch_slow_page() -> None:
                """A request still waiting when the shop closes."""
                try:
                    slow.append(http.get("/slow", params={"delay": 10}).status_code)
                except httpx.TransportError:
                    slow.append("connection closed")

            waiter = threading.Thread(target=fetch_slow_page)
            waiter.start()
            time.sleep(0.2)
            started = time.monotonic()
            shop.close()
            assert time.monotonic() - started < 2.0
            waiter.join(5)
            # Woken by the shutdown: a quick 503, or the connection closed under it.
            assert slow in ([503], ["connection closed"])
        finally:
            http.close()
    assert not _connection_threads(port)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass
    with running_demo_shop(port=port, product_count=12) as again:
        assert again.port == port


def test_serve_forever_stops_on_ctrl_c() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("Ctrl-C reaches the main thread only")
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is handled by someone else here")
    outcome: list[int] = []

    def press_ctrl_c(shop: DemoShop) -> None:
        """Once the shop answers, interrupt the main thread as Ctrl-C would."""
        try:
            with httpx.Client(base_url=shop.base_url) as http:
                outcome.append(http.get("/").status_code)
        finally:
            if outcome:
                os.kill(os.getpid(), signal.SIGINT)
            else:
                shop.close()

    def on_ready(shop: DemoShop) -> None:
        """Start pressing Ctrl-C in the background."""
        threading.Thread(target=press_ctrl_c, args=(shop,), daemon=True).start()

    serve_forever(port=0, product_count=12, on_ready=on_ready)
    assert outcome == [200]
