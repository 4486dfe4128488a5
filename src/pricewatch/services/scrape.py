"""The scrape use case: URL -> fetch (HTTP, browser when needed) -> extract -> ProductSnapshot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from pricewatch.adapters.scraping.browser import BrowserFetcher
from pricewatch.adapters.scraping.extract import extract_page, looks_like_js_shell
from pricewatch.adapters.scraping.fetch import Fetcher, FetchError, FetchResult, HttpFetcher
from pricewatch.adapters.scraping.page import Page, PageError, load_page
from pricewatch.config import Settings
from pricewatch.domain.snapshot import (
    Availability,
    FetchInfo,
    FetchMethod,
    FetchStatus,
    ProductSnapshot,
)

BrowserMode = Literal["auto", "never", "always"]

#: HTTP statuses that mean the store refused us rather than that the product is gone.
_REFUSED = frozenset({401, 403, 407, 429})
_GONE = frozenset({404, 410})


@dataclass(frozen=True)
class Reading:
    """A snapshot plus whether the page looked like a JavaScript shell with no product data."""

    snapshot: ProductSnapshot
    js_shell: bool = False


@dataclass(frozen=True)
class Scraper:
    """Fetchers wired together; `browser` is None when no browser may be used."""

    http: Fetcher
    browser: Fetcher | None = None
    browser_mode: BrowserMode = "auto"

    async def scrape(self, url: str, *, browser_mode: BrowserMode | None = None) -> ProductSnapshot:
        """Fetch and read one product page; failures come back as snapshots with a status."""
        mode = browser_mode or self.browser_mode
        started = time.perf_counter()
        if mode == "always" and self.browser is not None:
            snapshot = (await _fetch_and_read(self.browser, url)).snapshot
        else:
            reading = await _fetch_and_read(self.http, url)
            snapshot = reading.snapshot
            if reading.js_shell and mode == "auto" and self.browser is not None:
                snapshot = await self._render(url, snapshot)
        return snapshot.with_fetch(duration_ms=_elapsed_ms(started))

    async def _render(self, url: str, http_snapshot: ProductSnapshot) -> ProductSnapshot:
        """Retry with the browser; keep the HTTP result if the browser cannot help."""
        assert self.browser is not None
        rendered = (await _fetch_and_read(self.browser, url)).snapshot
        if rendered.fetch.status is FetchStatus.ERROR:
            errors = (*http_snapshot.fetch.errors, *rendered.fetch.errors)
            return http_snapshot.with_fetch(errors=errors)
        notes = (*rendered.fetch.notes, "the page needed JavaScript: rendered in the browser")
        return rendered.with_fetch(notes=notes)


async def _fetch_and_read(fetcher: Fetcher, url: str) -> Reading:
    try:
        result = await fetcher.fetch(url)
    except FetchError as exc:
        return Reading(failed_snapshot(url, status=FetchStatus.ERROR, error=str(exc)))
    return read_result(result)


def read_result(result: FetchResult) -> Reading:
    """Turn a fetched response into a snapshot: extract on success, a status otherwise."""
    if result.status_code in _GONE:
        error = f"HTTP {result.status_code}: the page does not exist"
        return Reading(
            failed_snapshot(result.url, status=FetchStatus.NOT_FOUND, error=error, result=result)
        )
    try:
        page = load_page(result.content, result.final_url, content_type=result.content_type)
    except PageError as exc:
        failed = failed_snapshot(
            result.url, status=FetchStatus.ERROR, error=str(exc), result=result
        )
        return Reading(failed)
    return Reading(*_classify(result, page))


def _classify(result: FetchResult, page: Page) -> tuple[ProductSnapshot, bool]:
    """Extract `page` and decide its status from the HTTP status and what the page shows."""
    snapshot = extract_page(page, method=result.method)
    snapshot = snapshot.model_copy(update={"url": result.url}).with_fetch(
        http_status=result.status_code, final_url=result.final_url
    )
    code = result.status_code
    if snapshot.fetch.status is FetchStatus.BLOCKED:
        return snapshot, False
    if code in _REFUSED:
        refused = f"the store refused the request (HTTP {code})"
        return _as_failure(snapshot, FetchStatus.BLOCKED, refused), False
    if code >= 400:
        return _as_failure(snapshot, FetchStatus.ERROR, f"HTTP {code}"), False
    return snapshot, needs_rendering(snapshot, page)


def needs_rendering(snapshot: ProductSnapshot, page: Page) -> bool:
    """True when a browser may find what plain HTTP did not: no price, and scripts to add it.

    A JavaScript application shell always qualifies. So does a page that reads as a product but
    shows no price while running scripts of its own, since many shops fill the buy box from
    JavaScript; an out-of-stock page without a price is taken as it is.
    """
    if looks_like_js_shell(page):
        return True
    if snapshot.price is not None or snapshot.availability is Availability.OUT_OF_STOCK:
        return False
    return any(_is_executable(script) for script in page.tree.iter("script"))


def _is_executable(script: HtmlElement) -> bool:
    kind = (script.get("type") or "text/javascript").strip().lower()
    return kind in _SCRIPT_TYPES and bool(script.get("src") or (script.text or "").strip())


_SCRIPT_TYPES = frozenset({"text/javascript", "application/javascript", "module", ""})


def failure_reason(snapshot: ProductSnapshot) -> str | None:
    """One line saying why this snapshot counts as a failed scrape, or None if it did not fail."""
    if snapshot.fetch.status is not FetchStatus.OK:
        status = snapshot.fetch.status.value
        detail = "; ".join(snapshot.fetch.errors or snapshot.fetch.notes) or "no detail"
        return detail if detail.startswith(status) else f"{status}: {detail}"
    if snapshot.price is None and snapshot.availability is not Availability.OUT_OF_STOCK:
        return "no price found on the page"
    return None


def failed_snapshot(
    url: str, *, status: FetchStatus, error: str, result: FetchResult | None = None
) -> ProductSnapshot:
    """A snapshot that records a failure: no product fields, the status and the error."""
    return ProductSnapshot(
        source=source_from_url(url),
        url=url,
        fetch=FetchInfo(
            method=result.method if result else FetchMethod.HTTP,
            status=status,
            http_status=result.status_code if result else None,
            final_url=result.final_url if result else None,
            html_size_bytes=len(result.content) if result else 0,
            errors=(error,),
        ),
    )


def _as_failure(snapshot: ProductSnapshot, status: FetchStatus, error: str) -> ProductSnapshot:
    """Keep what was read for the record, but never a price or stock state from an error page."""
    cleared = snapshot.model_copy(
        update={"price": None, "availability": Availability.UNKNOWN, "shipping_cost": None}
    )
    return cleared.with_fetch(status=status, errors=(*snapshot.fetch.errors, error))


def source_from_url(url: str) -> str:
    """The host of `url` without 'www.', as the source of pages no store adapter read."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    return host.lower().removeprefix("www.") or "unknown"


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


@dataclass(frozen=True)
class ScrapeTarget:
    """One URL to scrape, with its own browser choice when it has one."""

    url: str
    browser_mode: BrowserMode | None = None


async def scrape_many(
    targets: Sequence[ScrapeTarget],
    *,
    scraper: Scraper,
    concurrency: int,
    on_done: Callable[[ProductSnapshot], None] | None = None,
) -> list[ProductSnapshot]:
    """Scrape `targets` with at most `concurrency` at once; results keep the input order."""
    limit = asyncio.Semaphore(concurrency)

    async def one(target: ScrapeTarget) -> ProductSnapshot:
        async with limit:
            snapshot = await scraper.scrape(target.url, browser_mode=target.browser_mode)
        if on_done is not None:
            on_done(snapshot)
        return snapshot

    return list(await asyncio.gather(*(one(target) for target in targets)))


@asynccontextmanager
async def open_scraper(
    settings: Settings, *, browser_mode: BrowserMode | None = None
) -> AsyncIterator[Scraper]:
    """A `Scraper` built from settings; the browser starts only if a page needs it."""
    mode = browser_mode or settings.browser.mode
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(HttpFetcher(settings=settings.fetch))
        browser = None
        if mode != "never":
            browser = await stack.enter_async_context(
                BrowserFetcher(settings=settings.browser, fetch_settings=settings.fetch)
            )
        yield Scraper(http=http, browser=browser, browser_mode=mode)


def extract_file(content: bytes, *, url: str) -> ProductSnapshot:
    """Read a saved page (no network) into a snapshot, as `pricewatch extract` does."""
    result = FetchResult(
        url=url, final_url=url, status_code=200, content=content, method=FetchMethod.FILE
    )
    return read_result(result).snapshot
