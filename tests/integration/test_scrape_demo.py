"""End to end: the real fetchers and extractor against every page kind of the demo shop."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pricewatch.config import FetchSettings, Settings
from pricewatch.demo import DemoShop, PageKind, Product
from pricewatch.domain.snapshot import FetchMethod, FetchStatus
from pricewatch.services.scrape import BrowserMode, Scraper, open_scraper

STATIC_KINDS = [kind for kind in PageKind if kind is not PageKind.JS_RENDERED]
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def _settings(**fetch: object) -> Settings:
    options: dict[str, object] = {
        "allow_hosts": ["127.0.0.1"],
        "backoff_base": 0.05,
        "backoff_max": 1.5,
        **fetch,
    }
    return Settings(fetch=FetchSettings.model_validate(options))


async def _scraper(settings: Settings, mode: BrowserMode) -> AsyncIterator[Scraper]:
    async with open_scraper(settings, browser_mode=mode) as scraper:
        yield scraper


@pytest.fixture
async def http_scraper() -> AsyncIterator[Scraper]:
    async for scraper in _scraper(_settings(), "never"):
        yield scraper


def _products(shop: DemoShop, kind: PageKind, count: int = 5) -> list[Product]:
    """The first `count` products of `kind`: together they cover the shop's locales."""
    return shop.catalog.of_kind(kind)[:count]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", STATIC_KINDS, ids=str)
async def test_every_static_page_kind_reads_what_the_page_shows(
    demo_shop: DemoShop, http_scraper: Scraper, kind: PageKind
) -> None:
    for product in _products(demo_shop, kind):
        state = demo_shop.state(product)
        snapshot = await http_scraper.scrape(demo_shop.product_url(product))
        where = f"{kind} {product.url_path}"
        assert snapshot.fetch.status is FetchStatus.OK, where
        assert snapshot.price == state.price, where
        assert snapshot.currency == state.currency, where
        assert snapshot.availability is state.availability, where
        assert snapshot.title, where


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium; skipped when absent, except on CI where it must be there."""
    if not CHROMIUM.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required on CI but {CHROMIUM} does not exist")
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    return CHROMIUM


@pytest.mark.anyio
@pytest.mark.browser
async def test_javascript_pages_are_rendered_in_the_browser(
    demo_shop: DemoShop, chromium: Path
) -> None:
    async for scraper in _scraper(_settings(), "auto"):
        for product in _products(demo_shop, PageKind.JS_RENDERED, count=2):
            state = demo_shop.state(product)
            snapshot = await scraper.scrape(demo_shop.product_url(product))
            assert snapshot.fetch.method is FetchMethod.BROWSER, product.url_path
            assert snapshot.price == state.price, product.url_path
            assert snapshot.currency == state.currency
            assert snapshot.availability is state.availability


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/robot-check", FetchStatus.BLOCKED, ""),
        ("/robot-check?status=503", FetchStatus.BLOCKED, ""),
        ("/p/does-not-exist", FetchStatus.NOT_FOUND, "HTTP 404"),
        ("/garbage", FetchStatus.ERROR, ""),
        ("/huge?mb=12", FetchStatus.ERROR, "more than 8388608 bytes"),
        ("/redirect/9?to=/", FetchStatus.ERROR, "redirect"),
    ],
)
async def test_special_pages_never_give_a_price(
    demo_shop: DemoShop, http_scraper: Scraper, path: str, status: FetchStatus, message: str
) -> None:
    snapshot = await http_scraper.scrape(demo_shop.url(path))
    assert snapshot.fetch.status is status
    assert snapshot.price is None
    assert snapshot.availability.value == "unknown"
    assert message.lower() in " ".join(snapshot.fetch.errors).lower()


@pytest.mark.anyio
async def test_a_flaky_page_is_retried_until_it_answers(
    demo_shop: DemoShop, http_scraper: Scraper
) -> None:
    sku = _products(demo_shop, PageKind.JSONLD, count=1)[0].sku
    snapshot = await http_scraper.scrape(demo_shop.url(f"/flaky/demo-test?fail=2&sku={sku}"))
    assert snapshot.fetch.status is FetchStatus.OK
    assert snapshot.price is not None


@pytest.mark.anyio
async def test_a_slow_page_times_out_with_a_clear_error(demo_shop: DemoShop) -> None:
    settings = _settings(read_timeout=0.3, total_timeout=2, retries=0)
    async for scraper in _scraper(settings, "never"):
        snapshot = await scraper.scrape(demo_shop.url("/slow?delay=3"))
        assert snapshot.fetch.status is FetchStatus.ERROR
        assert "timed out" in snapshot.fetch.errors[0]
