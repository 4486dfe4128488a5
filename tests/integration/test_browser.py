"""BrowserFetcher with Debian's Chromium against servers on 127.0.0.1, and its SSRF guard."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from pricewatch.adapters.scraping.browser import BrowserFetcher
from pricewatch.adapters.scraping.fetch import (
    BrowserUnavailableError,
    FetchTimeoutError,
    ResponseTooLargeError,
    UnsafeURLError,
)
from pricewatch.config import BrowserSettings, FetchSettings
from pricewatch.domain.snapshot import FetchMethod
from tests.integration.test_fetch import LocalServer, Route, reply, serve

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")

JS_PRICE_PAGE = b"""<!doctype html>
<html><head><title>Widget</title></head><body>
<h1>Widget</h1><div id="price">loading...</div>
<script>
  // The price exists only once scripts ran: first a timer, then an XHR.
  setTimeout(() => {
    fetch("/api/price").then(r => r.text()).then(t => {
      document.getElementById("price").textContent = t;
    });
  }, 50);
</script>
</body></html>"""


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium; skipped when absent, except on CI where it must be there."""
    if not CHROMIUM.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required on CI but {CHROMIUM} does not exist")
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture(scope="module")
def victim() -> Iterator[LocalServer]:
    """A server on 127.0.0.2, which is never allow-listed: it must never see a request."""
    with serve(
        {"/": lambda handler, _server: reply(handler, 200, b"internal secret")}, host="127.0.0.2"
    ) as server:
        yield server


@pytest.fixture(scope="module")
def shop(victim: LocalServer) -> Iterator[LocalServer]:
    """The allow-listed shop on 127.0.0.1, with pages that try to reach the victim."""

    def page(body: bytes, status: int = 200) -> Route:
        return lambda handler, _server: reply(handler, status, body)

    def redirect(location: str) -> Route:
        return lambda handler, _server: reply(handler, 302, b"", [("Location", location)])

    def hang(handler: BaseHTTPRequestHandler, server: LocalServer) -> None:
        server.stop.wait(5)
        reply(handler, 200, b"too late")

    sneaky = f"""<!doctype html><body><div id="out">start</div><script>
      const out = document.getElementById("out");
      const show = (label) => (r) => r.text().then(t => {{ out.textContent += " " + label + t; }});
      const fail = (label) => () => {{ out.textContent += " " + label + "blocked"; }};
      fetch("{victim.base_url}/").then(show("direct:"), fail("direct:"));
      fetch("/bounce").then(show("bounce:"), fail("bounce:"));
    </script></body>""".encode()
    runaway = f"""<!doctype html><body>price 10 EUR<script>
      setTimeout(() => {{ location.href = "{victim.base_url}/"; }}, 50);
    </script></body>""".encode()
    big = b"<body><script>document.body.textContent = 'x'.repeat(20000);</script></body>"
    routes = {
        "/product": page(JS_PRICE_PAGE),
        "/api/price": lambda handler, _server: reply(
            handler, 200, b"1 299,00 EUR", [("Content-Type", "text/plain")]
        ),
        "/moved": redirect("/product"),
        "/to-victim": redirect(f"{victim.base_url}/"),
        "/to-metadata": redirect("http://169.254.169.254/latest/meta-data/"),
        "/bounce": redirect(f"{victim.base_url}/"),
        "/sneaky": page(sneaky),
        "/runaway": page(runaway),
        "/big": page(big),
        "/hang": hang,
    }
    with serve(routes) as server:
        yield server


def browser_settings(**overrides: Any) -> BrowserSettings:
    values: dict[str, Any] = {"timeout": 10.0, "settle_ms": 50}
    values.update(overrides)
    return BrowserSettings(**values)


@pytest.fixture(scope="module")
async def fetcher(chromium: Path) -> AsyncIterator[BrowserFetcher]:
    """One browser for the module, allow-listing 127.0.0.1 only, with a small size cap."""
    async with BrowserFetcher(
        settings=browser_settings(executable_path=chromium),
        fetch_settings=FetchSettings(allow_hosts=["127.0.0.1"], max_bytes=5000),
    ) as browser:
        yield browser


@pytest.fixture(scope="module")
async def strict_fetcher(chromium: Path) -> AsyncIterator[BrowserFetcher]:
    """A browser with a short timeout."""
    async with BrowserFetcher(
        settings=browser_settings(executable_path=chromium, timeout=1.0),
        fetch_settings=FetchSettings(allow_hosts=["127.0.0.1"]),
    ) as browser:
        yield browser


# --- rendering ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_renders_a_price_that_only_javascript_writes(
    fetcher: BrowserFetcher, shop: LocalServer
) -> None:
    result = await fetcher.fetch(f"{shop.base_url}/product")
    html = result.content.decode("utf-8")
    assert result.method is FetchMethod.BROWSER
    assert result.status_code == 200
    assert '<div id="price">1 299,00 EUR</div>' in html
    assert "loading..." not in html
    assert result.content_type == "text/html; charset=utf-8"
    assert result.final_url == f"{shop.base_url}/product"
    assert shop.count("/api/price") >= 1


@pytest.mark.anyio
async def test_follows_allowed_redirects_and_reports_them(
    fetcher: BrowserFetcher, shop: LocalServer
) -> None:
    result = await fetcher.fetch(f"{shop.base_url}/moved")
    assert result.url == f"{shop.base_url}/moved"
    assert result.final_url == f"{shop.base_url}/product"
    assert result.redirects == (f"{shop.base_url}/product",)
    assert b"1 299,00 EUR" in result.content


@pytest.mark.anyio
async def test_http_errors_come_back_as_results(fetcher: BrowserFetcher, shop: LocalServer) -> None:
    result = await fetcher.fetch(f"{shop.base_url}/no-such-page")
    assert result.status_code == 404
    assert b"not found" in result.content


# --- the guard ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_redirect_to_a_private_address_is_refused(
    fetcher: BrowserFetcher, shop: LocalServer, victim: LocalServer
) -> None:
    with pytest.raises(UnsafeURLError, match=r"127\.0\.0\.2 is a loopback address"):
        await fetcher.fetch(f"{shop.base_url}/to-victim")
    with pytest.raises(UnsafeURLError, match=r"169\.254\.169\.254 is a link-local address"):
        await fetcher.fetch(f"{shop.base_url}/to-metadata")
    assert victim.requests == []


@pytest.mark.anyio
async def test_scripts_cannot_reach_private_addresses(
    fetcher: BrowserFetcher, shop: LocalServer, victim: LocalServer
) -> None:
    result = await fetcher.fetch(f"{shop.base_url}/sneaky")
    html = result.content.decode("utf-8")
    # A direct fetch (stopped by the routing) and a redirected one (stopped by the proxy).
    assert "direct:blocked" in html
    assert "bounce:blocked" in html
    assert "internal secret" not in html
    assert result.final_url == f"{shop.base_url}/sneaky"
    assert shop.count("/bounce") == 1
    assert victim.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://2130706433/",
        "http://localhost/",
        "file:///etc/passwd",
        "javascript:alert(1)",
    ],
)
async def test_refused_urls_never_start_the_browser(url: str) -> None:
    # With no Chromium at all, reaching the browser would raise BrowserUnavailableError.
    browser = BrowserFetcher(
        settings=browser_settings(executable_path=Path("/nonexistent/chromium")),
        fetch_settings=FetchSettings(),
    )
    async with browser:
        with pytest.raises(UnsafeURLError, match=r"^refused "):
            await browser.fetch(url)


# --- failures -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_missing_chromium_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "chromium"
    browser = BrowserFetcher(
        settings=browser_settings(executable_path=missing),
        fetch_settings=FetchSettings(allow_hosts=["127.0.0.1"]),
    )
    async with browser:  # entering never launches
        with pytest.raises(BrowserUnavailableError) as unavailable:
            await browser.fetch("http://127.0.0.1:9/")
    assert str(unavailable.value) == (
        f"Chromium not found at {missing}; install Debian's chromium package"
        " or set PW_BROWSER_EXECUTABLE_PATH"
    )


@pytest.mark.anyio
async def test_broken_chromium_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    browser = BrowserFetcher(
        settings=browser_settings(executable_path=broken, timeout=5.0),
        fetch_settings=FetchSettings(allow_hosts=["127.0.0.1"]),
    )
    async with browser:
        with pytest.raises(BrowserUnavailableError, match=r"^could not start Chromium at "):
            await browser.fetch("http://127.0.0.1:9/")


@pytest.mark.anyio
async def test_slow_page_times_out(strict_fetcher: BrowserFetcher, shop: LocalServer) -> None:
    with pytest.raises(FetchTimeoutError, match=r"^timed out after 1s rendering http://"):
        await strict_fetcher.fetch(f"{shop.base_url}/hang")


@pytest.mark.anyio
async def test_size_cap_applies_to_the_rendered_html(
    fetcher: BrowserFetcher, shop: LocalServer
) -> None:
    # The page is 80 bytes on the wire and 20 kB once its script ran.
    with pytest.raises(ResponseTooLargeError, match="rendered to more than 5000 bytes"):
        await fetcher.fetch(f"{shop.base_url}/big")


@pytest.mark.anyio
async def test_script_navigation_to_a_private_address_is_refused(
    fetcher: BrowserFetcher, shop: LocalServer, victim: LocalServer
) -> None:
    with pytest.raises(UnsafeURLError, match=r"^refused http://127\.0\.0\.2:\d+/: "):
        await fetcher.fetch(f"{shop.base_url}/runaway")
    assert shop.count("/runaway") == 1
    assert victim.requests == []
