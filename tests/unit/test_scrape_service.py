"""The scrape use case with in-memory fetchers: statuses, failures and the browser fallback."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from pricewatch.adapters.scraping.fetch import FetchResult, FetchTimeoutError, UnsafeURLError
from pricewatch.domain.snapshot import Availability, FetchMethod, FetchStatus
from pricewatch.services.scrape import (
    Scraper,
    ScrapeTarget,
    extract_file,
    failure_reason,
    scrape_many,
)

PRODUCT = b"""<html lang="en"><head><title>Kettle</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product",
 "name": "Steel Kettle", "sku": "K-1",
 "offers": {"@type": "Offer", "price": "39.90", "priceCurrency": "EUR",
            "availability": "https://schema.org/InStock"}}</script></head>
<body><h1>Steel Kettle</h1></body></html>"""

JS_SHELL = (
    b'<html><head><title>Shop</title></head><body><div id="root"></div>'
    b"<noscript>You need to enable JavaScript to run this app.</noscript>"
    b'<script src="/static/js/main.js"></script>'
    + b"<script>"
    + b"var a=1;" * 2000
    + b"</script></body></html>"
)


@dataclass
class FakeFetcher:
    """Answers from a dict of URL -> (status, body) or exception; records what was asked."""

    pages: dict[str, tuple[int, bytes] | Exception]
    method: FetchMethod = FetchMethod.HTTP
    calls: list[str] = field(default_factory=list)

    async def fetch(self, url: str) -> FetchResult:
        self.calls.append(url)
        page = self.pages[url]
        if isinstance(page, Exception):
            raise page
        status, body = page
        return FetchResult(
            url=url, final_url=url, status_code=status, content=body, method=self.method
        )


URL = "https://shop.example/p/1"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_product_page_is_read() -> None:
    snapshot = await Scraper(http=FakeFetcher({URL: (200, PRODUCT)})).scrape(URL)
    assert snapshot.fetch.status is FetchStatus.OK
    assert snapshot.price == Decimal("39.90")
    assert snapshot.currency == "EUR"
    assert snapshot.fetch.http_status == 200
    assert failure_reason(snapshot) is None


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (404, FetchStatus.NOT_FOUND),
        (410, FetchStatus.NOT_FOUND),
        (403, FetchStatus.BLOCKED),
        (429, FetchStatus.BLOCKED),
        (500, FetchStatus.ERROR),
        (503, FetchStatus.ERROR),
    ],
)
async def test_error_statuses_never_give_a_price(status: int, expected: FetchStatus) -> None:
    snapshot = await Scraper(http=FakeFetcher({URL: (status, PRODUCT)})).scrape(URL)
    assert snapshot.fetch.status is expected
    assert snapshot.price is None
    assert snapshot.availability is Availability.UNKNOWN
    assert failure_reason(snapshot) is not None


@pytest.mark.anyio
@pytest.mark.parametrize(
    "error", [FetchTimeoutError("timed out after 20s"), UnsafeURLError("refused: private address")]
)
async def test_fetch_errors_become_error_snapshots(error: Exception) -> None:
    snapshot = await Scraper(http=FakeFetcher({URL: error})).scrape(URL)
    assert snapshot.fetch.status is FetchStatus.ERROR
    assert snapshot.fetch.errors == (str(error),)
    assert snapshot.source == "shop.example"
    assert failure_reason(snapshot) == f"error: {error}"


@pytest.mark.anyio
async def test_garbage_body_is_an_error_not_a_crash() -> None:
    snapshot = await Scraper(http=FakeFetcher({URL: (200, b"")})).scrape(URL)
    assert snapshot.fetch.status is FetchStatus.ERROR
    assert snapshot.price is None


@pytest.mark.anyio
async def test_javascript_shell_is_rendered_in_the_browser() -> None:
    http = FakeFetcher({URL: (200, JS_SHELL)})
    browser = FakeFetcher({URL: (200, PRODUCT)}, method=FetchMethod.BROWSER)
    snapshot = await Scraper(http=http, browser=browser).scrape(URL)
    assert browser.calls == [URL]
    assert snapshot.fetch.method is FetchMethod.BROWSER
    assert snapshot.price == Decimal("39.90")


@pytest.mark.anyio
async def test_browser_is_not_used_when_the_page_has_product_data_or_mode_is_never() -> None:
    browser = FakeFetcher({URL: (200, PRODUCT)}, method=FetchMethod.BROWSER)
    await Scraper(http=FakeFetcher({URL: (200, PRODUCT)}), browser=browser).scrape(URL)
    shell = FakeFetcher({URL: (200, JS_SHELL)})
    never = Scraper(http=shell, browser=browser, browser_mode="never")
    snapshot = await never.scrape(URL)
    assert browser.calls == []
    assert failure_reason(snapshot) == "no price found on the page"


@pytest.mark.anyio
async def test_browser_mode_always_skips_plain_http() -> None:
    http = FakeFetcher({URL: (200, PRODUCT)})
    browser = FakeFetcher({URL: (200, PRODUCT)}, method=FetchMethod.BROWSER)
    snapshot = await Scraper(http=http, browser=browser).scrape(URL, browser_mode="always")
    assert http.calls == []
    assert snapshot.fetch.method is FetchMethod.BROWSER


@pytest.mark.anyio
async def test_a_failing_browser_keeps_the_http_result_and_says_why() -> None:
    http = FakeFetcher({URL: (200, JS_SHELL)})
    browser = FakeFetcher({URL: FetchTimeoutError("browser timed out")})
    snapshot = await Scraper(http=http, browser=browser).scrape(URL)
    assert snapshot.fetch.method is FetchMethod.HTTP
    assert "browser timed out" in snapshot.fetch.errors


@pytest.mark.anyio
async def test_scrape_many_keeps_order_and_reports_progress() -> None:
    urls = [f"https://shop.example/p/{i}" for i in range(10)]
    http = FakeFetcher(dict.fromkeys(urls, (200, PRODUCT)))
    done: list[str] = []
    snapshots = await scrape_many(
        [ScrapeTarget(url=u) for u in urls],
        scraper=Scraper(http=http),
        concurrency=3,
        on_done=lambda s: done.append(s.url),
    )
    assert [s.url for s in snapshots] == urls
    assert sorted(done) == sorted(urls)


def test_extract_file_marks_the_method() -> None:
    snapshot = extract_file(PRODUCT, url=URL)
    assert snapshot.fetch.method is FetchMethod.FILE
    assert snapshot.title == "Steel Kettle"


def test_out_of_stock_without_price_is_not_a_failure() -> None:
    page = PRODUCT.replace(b'"price": "39.90", ', b"").replace(b"InStock", b"OutOfStock")
    snapshot = extract_file(page, url=URL)
    assert snapshot.availability is Availability.OUT_OF_STOCK
    assert failure_reason(snapshot) is None
