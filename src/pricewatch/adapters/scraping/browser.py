"""Rendering pages that need JavaScript in Debian's headless Chromium, behind the SSRF guard.

One Chromium per `BrowserFetcher`, launched on the first fetch and reused; each fetch gets a
fresh browser context (no cookies or storage shared between pages).

The guard is applied three times:

* the URL is vetted before anything starts (a refused URL never launches the browser);
* `context.route("**/*")` vets every request the page makes and aborts refused ones, with a
  clear error when the refused one is the page itself;
* Playwright cannot intercept redirects (the browser's network stack follows them), so each
  context also talks through `GuardProxy`, a small HTTP proxy on 127.0.0.1 that vets every
  connection (redirect hops, subresources, WebSockets) and dials only the vetted address, so
  DNS rebinding cannot reach a private address either. Chromium resolves nothing itself.
"""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import suppress
from typing import TYPE_CHECKING, Self

import anyio
import httpx

# Playwright's API (about 20 MB) is imported when Chromium is launched (`_launch`), so a
# process that never renders a page never loads it. Its two error classes live in a small
# module of their own; they are the very classes `playwright.async_api` exports.
from playwright._impl._errors import Error as PlaywrightError
from playwright._impl._errors import TimeoutError as PlaywrightTimeoutError

from pricewatch.adapters.scraping.fetch import (
    BrowserUnavailableError,
    FetchError,
    FetchResult,
    FetchTimeoutError,
    NetworkError,
    ResponseTooLargeError,
    UnsafeURLError,
    display_url,
)
from pricewatch.adapters.scraping.guard import Resolver, UrlGuard
from pricewatch.config import BrowserSettings, FetchSettings
from pricewatch.domain.snapshot import FetchMethod

if TYPE_CHECKING:
    from playwright.async_api import (
        Browser,
        BrowserContext,
        Page,
        Playwright,
        Request,
        Response,
        Route,
        WebSocketRoute,
    )

BROWSER_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # WebRTC could otherwise send UDP around the guarding proxy.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)
#: Longest wait for the network to go quiet after the load event (seconds).
NETWORK_IDLE_CAP = 5.0
#: Requests that cannot change the HTML; skipping them saves time and guard look-ups.
_SKIPPED_RESOURCES = frozenset({"image", "media", "font"})
#: Schemes that never touch the network.
_LOCAL_SCHEMES = frozenset({"data", "blob", "about"})

_Verdicts = dict[tuple[str, bytes, int | None], FetchError | None]
_Origin = tuple[str, int]
#: Headers a proxy must not pass on (hop-by-hop), replaced by "Connection: close".
_HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization"})
_PIPE_CHUNK = 64 * 1024


class GuardProxy:
    """A minimal HTTP proxy for one browser context that vets every connection with the guard.

    `CONNECT host:port` (HTTPS, WebSockets) becomes a tunnel to a vetted address; plain HTTP
    requests are forwarded one per connection (`Connection: close` both ways, so a connection is
    never reused for another host). A refused connection is closed without an answer and its
    error kept in `refusals`, keyed by (host, port).
    """

    def __init__(self, *, guard: UrlGuard, connect_timeout: float) -> None:
        self._guard = guard
        self._connect_timeout = connect_timeout
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self.refusals: dict[_Origin, FetchError] = {}

    async def start(self) -> str:
        """Listen on a free loopback port; return the proxy URL for Playwright."""
        self._server = await asyncio.start_server(self._handle, host="127.0.0.1", port=0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def aclose(self) -> None:
        """Stop listening and end every open connection."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client connection; any failure just closes it."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # Cancelled by aclose: end quietly, as asyncio's server callback (3.11) logs
            # cancelled connection tasks as errors.
            if not self._closing:
                raise
        finally:
            self._tasks.discard(task)
            await _close(writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read the request head, vet its target, then relay bytes both ways."""
        # readuntil refuses heads over the stream limit (64 KiB) with LimitOverrunError.
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, _, header_block = head.decode("latin-1").partition("\r\n")
        method, target, _version = request_line.split(" ", 2)
        if method.upper() == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = await self._connect(host.strip("[]"), int(port), f"https://{target}/")
            if upstream is None:
                return
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await _relay(reader, writer, *upstream)
            return
        try:
            url = httpx.URL(target)
        except httpx.InvalidURL:
            return
        if url.scheme != "http" or not url.raw_host:
            return
        upstream = await self._connect(url.raw_host.decode("ascii"), url.port or 80, str(url))
        if upstream is None:
            return
        upstream[1].write(_origin_form_head(method, url, header_block))
        await _relay(reader, writer, *upstream, rewrite_response=True)

    async def _connect(
        self, host: str, port: int, subject: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to a vetted address of host:port, or None (refusal recorded)."""
        try:
            addresses = await self._guard.vet_host(host, port, subject=subject)
        except FetchError as exc:
            self.refusals[(host.lower().rstrip("."), port)] = exc
            return None
        for address in addresses:
            with suppress(OSError, TimeoutError):
                return await asyncio.wait_for(
                    asyncio.open_connection(str(address), port), self._connect_timeout
                )
        return None


def _origin_form_head(method: str, url: httpx.URL, header_block: str) -> bytes:
    """The request head to send upstream: origin-form target, no hop-by-hop headers."""
    lines = [f"{method} {url.raw_path.decode('ascii')} HTTP/1.1"]
    for line in header_block.split("\r\n"):
        name = line.partition(":")[0].strip().lower()
        if line and name not in _HOP_HEADERS:
            lines.append(line)
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _relay(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
    *,
    rewrite_response: bool = False,
) -> None:
    """Copy bytes both ways until either side is done, then close the upstream connection."""
    try:
        if rewrite_response:
            # Chromium must not reuse this connection for a request to another host.
            head = await upstream_reader.readuntil(b"\r\n\r\n")
            client_writer.write(_closing_response_head(head))
        copies = [
            asyncio.create_task(_copy(client_reader, upstream_writer)),
            asyncio.create_task(_copy(upstream_reader, client_writer)),
        ]
        try:
            await asyncio.wait(copies, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for copy in copies:
                copy.cancel()
            await asyncio.gather(*copies, return_exceptions=True)
    finally:
        await _close(upstream_writer)


def _closing_response_head(head: bytes) -> bytes:
    """A response head with its hop-by-hop headers replaced by "Connection: close"."""
    status_line, _, header_block = head.decode("latin-1").rstrip("\r\n").partition("\r\n")
    lines = [status_line]
    for line in header_block.split("\r\n"):
        if line and line.partition(":")[0].strip().lower() not in _HOP_HEADERS:
            lines.append(line)
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream."""
    with suppress(OSError):
        while chunk := await reader.read(_PIPE_CHUNK):
            writer.write(chunk)
            await writer.drain()


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close a stream, ignoring a peer that is already gone."""
    writer.close()
    with suppress(OSError):
        await writer.wait_closed()


class BrowserFetcher:
    """Fetches pages by rendering them in headless Chromium, guarded like `HttpFetcher`.

    Use as `async with BrowserFetcher(settings=s.browser, fetch_settings=s.fetch) as browser:`;
    Chromium starts on the first `fetch`, so entering the context never fails. A missing or
    broken Chromium is a `BrowserUnavailableError` from `fetch`.
    """

    def __init__(
        self,
        *,
        settings: BrowserSettings,
        fetch_settings: FetchSettings,
        resolver: Resolver | None = None,
        guard: UrlGuard | None = None,
        max_pages: int = 4,
    ) -> None:
        self._settings = settings
        self._fetch_settings = fetch_settings
        self._guard = guard or UrlGuard.from_settings(fetch_settings, resolver=resolver)
        self._pages = anyio.Semaphore(max_pages)
        self._lock = anyio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close Chromium and the Playwright driver, if they were started."""
        with anyio.CancelScope(shield=True):
            async with self._lock:
                await self._shutdown()

    async def fetch(self, url: str) -> FetchResult:
        """Render `url` and return the resulting HTML (status and headers of the main document)."""
        started = time.monotonic()
        await self._guard.check_url(url)
        async with self._pages:
            browser = await self._browser_ready()
            # The timeout is for rendering; launching has its own (the same length).
            timeout = self._settings.timeout
            deadline = time.monotonic() + timeout
            with anyio.move_on_after(timeout):
                return await self._render(browser, url, started=started, deadline=deadline)
        raise FetchTimeoutError(f"timed out after {timeout:g}s rendering {display_url(url)}")

    async def _browser_ready(self) -> Browser:
        """The running browser, launched (again, after a crash) when needed."""
        async with self._lock:
            if self._browser is None or not self._browser.is_connected():
                await self._shutdown()
                self._browser = await self._launch()
            return self._browser

    async def _launch(self) -> Browser:
        """Start Playwright and Chromium; BrowserUnavailableError when either cannot start."""
        path = self._settings.executable_path
        if not path.is_file() or not os.access(path, os.X_OK):
            raise BrowserUnavailableError(
                f"Chromium not found at {path}; install Debian's chromium package"
                " or set PW_BROWSER_EXECUTABLE_PATH"
            )
        from playwright.async_api import async_playwright

        try:
            self._playwright = await async_playwright().start()
            return await self._playwright.chromium.launch(
                executable_path=str(path),
                headless=True,
                args=list(BROWSER_ARGS),
                timeout=self._settings.timeout * 1000,
            )
        except Exception as exc:
            await self._shutdown()
            raise BrowserUnavailableError(
                f"could not start Chromium at {path}: {_first_line(exc)}"
            ) from None

    async def _shutdown(self) -> None:
        """Close whatever is running; errors from an already dead browser are irrelevant."""
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        if browser is not None:
            with suppress(PlaywrightError):
                await browser.close()
        if playwright is not None:
            with suppress(Exception):
                await playwright.stop()

    async def _render(
        self, browser: Browser, url: str, *, started: float, deadline: float
    ) -> FetchResult:
        """Load `url` in a fresh context behind its own guard proxy, and capture the HTML."""
        proxy = GuardProxy(guard=self._guard, connect_timeout=self._fetch_settings.connect_timeout)
        proxy_url = await proxy.start()
        try:
            context = await browser.new_context(
                proxy={"server": proxy_url},
                user_agent=self._fetch_settings.user_agent,
                locale=_locale(self._fetch_settings.accept_language),
                extra_http_headers={"Accept-Language": self._fetch_settings.accept_language},
                # Service workers would fetch outside the routing below, so they are off.
                service_workers="block",
                accept_downloads=False,
            )
            try:
                return await self._render_in(
                    context, url, proxy=proxy, started=started, deadline=deadline
                )
            finally:
                with anyio.CancelScope(shield=True), suppress(PlaywrightError):
                    await context.close()
        finally:
            with anyio.CancelScope(shield=True):
                await proxy.aclose()

    async def _render_in(
        self,
        context: BrowserContext,
        url: str,
        *,
        proxy: GuardProxy,
        started: float,
        deadline: float,
    ) -> FetchResult:
        """Navigate, let scripts settle, and read the DOM back as HTML."""
        verdicts: _Verdicts = {}

        async def guard_route(route: Route) -> None:
            await self._guard_request(route, verdicts=verdicts)

        await context.route("**/*", guard_route)
        await context.route_web_socket("**/*", _refuse_websocket)
        page = await context.new_page()
        documents: list[str] = []
        page.on("request", lambda request: _note_document(request, documents))
        try:
            response = await page.goto(url, wait_until="load", timeout=_ms_left(deadline))
        except PlaywrightError as exc:
            refusal = _refusal_for([url, *documents], verdicts=verdicts, proxy=proxy)
            raise refusal or self._navigation_error(exc, url) from None
        # Waiting for late scripts stops early enough to still read the page in time.
        reserve = min(1.0, self._settings.timeout / 5)
        await _settle(page, deadline=deadline - reserve, settle_ms=self._settings.settle_ms)
        # A script may have sent the page to a refused address: Chromium then shows an error
        # page, which is not the product page.
        refusal = _refusal_for(documents[-1:], verdicts=verdicts, proxy=proxy)
        if refusal is not None:
            raise refusal
        html = await _content(page)
        return await self._result(url, page, response, html, started=started)

    def _navigation_error(self, exc: PlaywrightError, url: str) -> FetchError:
        """The FetchError for a failed page.goto that the guard did not cause."""
        shown = display_url(url)
        if isinstance(exc, PlaywrightTimeoutError):
            return FetchTimeoutError(
                f"timed out after {self._settings.timeout:g}s rendering {shown}"
            )
        if self._browser is not None and not self._browser.is_connected():
            return BrowserUnavailableError(f"Chromium stopped while rendering {shown}")
        return NetworkError(f"could not render {shown}: {_first_line(exc)}")

    async def _guard_request(self, route: Route, *, verdicts: _Verdicts) -> None:
        """Let a request through only if the guard accepts its URL."""
        request = route.request
        with suppress(PlaywrightError):  # the page may be gone already
            if request.url.split(":", 1)[0].lower() in _LOCAL_SCHEMES:
                await route.continue_()
                return
            if request.resource_type in _SKIPPED_RESOURCES:
                await route.abort("blockedbyclient")
                return
            refusal = await self._verdict(request.url, verdicts)
            if refusal is None:
                await route.continue_()
                return
            code = "blockedbyclient" if isinstance(refusal, UnsafeURLError) else "namenotresolved"
            await route.abort(code)

    async def _verdict(self, url: str, verdicts: _Verdicts) -> FetchError | None:
        """The guard's verdict on `url` (None: allowed), cached per origin for one render."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            return UnsafeURLError(f"refused {display_url(url)}: malformed URL")
        key = _verdict_key(parsed)
        if key not in verdicts:
            try:
                await self._guard.check_url(parsed)
                verdicts[key] = None
            except FetchError as exc:
                verdicts[key] = exc
        if verdicts[key] is None:
            # Credentials and such are per URL, not per origin.
            try:
                self._guard.check_syntax(parsed)
            except UnsafeURLError as exc:
                return exc
        return verdicts[key]

    async def _result(
        self, url: str, page: Page, response: Response | None, html: str, *, started: float
    ) -> FetchResult:
        """The FetchResult for a rendered page, with the size cap applied to its HTML."""
        content = html.encode("utf-8")
        limit = self._fetch_settings.max_bytes
        if len(content) > limit:
            raise ResponseTooLargeError(
                f"{display_url(url)} rendered to more than {limit} bytes (fetch.max_bytes)"
            )
        headers: dict[str, str] = {}
        if response is not None:
            headers = {
                name.lower(): value
                for name, value in (await response.all_headers()).items()
                if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
            }
        # page.content() serialises the DOM as text; it is handed on as UTF-8.
        headers["content-type"] = "text/html; charset=utf-8"
        return FetchResult(
            url=url,
            final_url=page.url,
            status_code=response.status if response is not None else 200,
            content=content,
            headers=headers,
            duration_ms=int((time.monotonic() - started) * 1000),
            method=FetchMethod.BROWSER,
            attempts=1,
            redirects=_redirect_chain(response),
        )


async def _refuse_websocket(websocket: WebSocketRoute) -> None:
    """WebSockets are not routed through the guard, and no price needs one: close them."""
    with suppress(PlaywrightError):
        await websocket.close(code=1008, reason="blocked by pricewatch")


async def _settle(page: Page, *, deadline: float, settle_ms: int) -> None:
    """Give late scripts a chance: network idle (capped), then settle_ms more."""
    idle_ms = min(NETWORK_IDLE_CAP * 1000, _ms_left(deadline))
    with suppress(PlaywrightTimeoutError):
        await page.wait_for_load_state("networkidle", timeout=idle_ms)
    await anyio.sleep(max(0.0, min(settle_ms / 1000, deadline - time.monotonic())))


async def _content(page: Page) -> str:
    """page.content(), retried once if a script navigated the page at that very moment."""
    try:
        return await page.content()
    except PlaywrightError:
        await page.wait_for_load_state("load")
        return await page.content()


def _note_document(request: Request, documents: list[str]) -> None:
    """Remember the URLs the top-level document was requested from (redirect hops included)."""
    with suppress(PlaywrightError):
        if request.is_navigation_request() and request.frame.parent_frame is None:
            documents.append(request.url)


def _verdict_key(url: httpx.URL) -> tuple[str, bytes, int | None]:
    """What a guard verdict depends on: scheme, host and port."""
    return (url.scheme, url.raw_host, url.port)


def _refusal_for(urls: list[str], *, verdicts: _Verdicts, proxy: GuardProxy) -> FetchError | None:
    """The guard's refusal of the latest of `urls` it refused, from the routing or the proxy."""
    for url in reversed(urls):
        with suppress(httpx.InvalidURL):
            parsed = httpx.URL(url)
            refusal = verdicts.get(_verdict_key(parsed))
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            origin = (parsed.raw_host.decode("ascii").lower().rstrip("."), port)
            refusal = refusal or proxy.refusals.get(origin)
            if refusal is not None:
                return refusal
    return None


def _redirect_chain(response: Response | None) -> tuple[str, ...]:
    """The URLs redirected to on the way to `response`, in order."""
    if response is None:
        return ()
    hops = []
    request: Request | None = response.request
    while request is not None and request.redirected_from is not None:
        hops.append(request.url)
        request = request.redirected_from
    return tuple(reversed(hops))


def _locale(accept_language: str) -> str | None:
    """The first language of an Accept-Language value ("fr-FR,fr;q=0.9" -> "fr-FR")."""
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip()
    return first if first and first != "*" else None


def _ms_left(deadline: float) -> float:
    """Milliseconds until `deadline`, at least 1 (0 would mean no timeout to Playwright)."""
    return max(1.0, (deadline - time.monotonic()) * 1000)


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
