"""Fetching pages over HTTP: the result type, the errors, the `Fetcher` protocol, `HttpFetcher`."""

from __future__ import annotations

import email.utils
import importlib
import importlib.util
import math
import random
import re
import ssl
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, Self

import anyio
import httpx

from pricewatch.config import FetchSettings
from pricewatch.domain.snapshot import FetchMethod

if TYPE_CHECKING:
    from pricewatch.adapters.scraping.guard import Resolver, UrlGuard


@dataclass(frozen=True)
class FetchResult:
    """A response that arrived (any HTTP status), after retries and redirects."""

    url: str
    final_url: str
    status_code: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    duration_ms: int = 0
    method: FetchMethod = FetchMethod.HTTP
    attempts: int = 1
    redirects: tuple[str, ...] = ()

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


class FetchError(Exception):
    """No usable response: the message is one clear line for the user."""


class UnsafeURLError(FetchError):
    """The URL (or a redirect hop) was refused before any connection: scheme, private address."""


class FetchTimeoutError(FetchError):
    """The server was too slow (connect, read or total timeout)."""


class ResponseTooLargeError(FetchError):
    """The body exceeded the configured size cap."""


class TooManyRedirectsError(FetchError):
    """More redirects than the configured cap."""


class NetworkError(FetchError):
    """DNS failure, refused connection, TLS error, broken transfer."""


class HostResolutionError(NetworkError):
    """The host name did not resolve; `transient` when DNS said "try again" (EAI_AGAIN)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class BrowserUnavailableError(FetchError):
    """The headless browser is not installed or cannot start."""


class Fetcher(Protocol):
    """Anything that turns a URL into a `FetchResult` (HTTP client, browser, test double)."""

    async def fetch(self, url: str) -> FetchResult: ...


#: Statuses worth another try: rate limiting and server trouble (501/505 will not get better).
RETRY_STATUSES = frozenset({429, *range(500, 600)} - {501, 505})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Errors after which the same request may well succeed.
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8"
)
_CHROME_VERSION = re.compile(r"Chrome/(\d+)")
_MAX_SHOWN = 120


def display_url(url: httpx.URL | str) -> str:
    """The URL as shown in messages: without credentials, shortened if very long."""
    text = str(url)
    if isinstance(url, httpx.URL) and url.userinfo:
        text = str(url.copy_with(userinfo=b""))
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def supported_encodings() -> tuple[str, ...]:
    """Content codings this fetcher can decode: gzip and deflate, br when `brotli` is installed."""
    if importlib.util.find_spec("brotli") is not None:
        return ("gzip", "deflate", "br")
    return ("gzip", "deflate")


def browser_headers(settings: FetchSettings) -> dict[str, str]:
    """Request headers of a desktop Chrome opening a page the user typed in."""
    headers = {
        "User-Agent": settings.user_agent,
        "Accept": _ACCEPT,
        "Accept-Language": settings.accept_language,
        "Accept-Encoding": ", ".join(supported_encodings()),
        "Upgrade-Insecure-Requests": "1",
        "Sec-Fetch-Dest": "document",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Site": "none",
        "Sec-Fetch-User": "?1",
    }
    version = _CHROME_VERSION.search(settings.user_agent)
    if version is not None:
        # Client hints must agree with the User-Agent, or they give the disguise away.
        major = version.group(1)
        headers["sec-ch-ua"] = (
            f'"Chromium";v="{major}", "Not_A Brand";v="24", "Google Chrome";v="{major}"'
        )
        headers["sec-ch-ua-mobile"] = "?0"
        headers["sec-ch-ua-platform"] = f'"{_platform(settings.user_agent)}"'
    return headers


def _platform(user_agent: str) -> str:
    """The sec-ch-ua-platform value matching a User-Agent string."""
    for marker, platform in (
        ("Windows", "Windows"),
        ("Macintosh", "macOS"),
        ("Android", "Android"),
    ):
        if marker in user_agent:
            return platform
    return "Linux"


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date), None if unusable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class _Decoder(Protocol):
    """Undoes one content coding, producing at most `max_length` bytes per call."""

    def decode(self, data: bytes, max_length: int) -> bytes:
        """Decoded bytes; raise _TooLarge when more than `max_length` would come out."""
        ...

    def flush(self, max_length: int) -> bytes:
        """Whatever is left at the end of the body."""
        ...


class _TooLarge(Exception):
    """Decoding would exceed the size cap."""


class _Identity:
    """No content coding."""

    def decode(self, data: bytes, max_length: int) -> bytes:
        """The bytes as they came."""
        if len(data) > max_length:
            raise _TooLarge
        return data

    def flush(self, max_length: int) -> bytes:
        """Nothing is buffered."""
        return b""


class _Zlib:
    """gzip or deflate, decoded with a bounded output so a small bomb cannot use much memory."""

    def __init__(self, *, gzip: bool) -> None:
        self._gzip = gzip
        self._started = False
        self._inner = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)

    def decode(self, data: bytes, max_length: int) -> bytes:
        """Decompress `data`, never producing more than `max_length` + 1 bytes."""
        try:
            out = self._inner.decompress(data, max_length + 1)
        except zlib.error:
            if self._gzip or self._started:
                raise
            # Some servers send raw deflate (no zlib header) as "deflate".
            self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._inner.decompress(data, max_length + 1)
        self._started = True
        if len(out) > max_length or self._inner.unconsumed_tail:
            raise _TooLarge
        return out

    def flush(self, max_length: int) -> bytes:
        """The tail of the decompressed stream."""
        out = self._inner.flush()
        if len(out) > max_length:
            raise _TooLarge
        return out


class _Brotli:
    """br, when the optional `brotli` package is installed (output checked after each chunk)."""

    def __init__(self) -> None:
        brotli: Any = importlib.import_module("brotli")
        self._inner: Any = brotli.Decompressor()

    def decode(self, data: bytes, max_length: int) -> bytes:
        """Decompress `data`."""
        out = bytes(self._inner.process(data))
        if len(out) > max_length:
            raise _TooLarge
        return out

    def flush(self, max_length: int) -> bytes:
        """brotli keeps nothing back."""
        return b""


def _decoder_for(content_encoding: str | None) -> _Decoder | None:
    """A decoder for a Content-Encoding header value, None when it is not one we can undo."""
    coding = (content_encoding or "").strip().lower()
    if coding in ("", "identity"):
        return _Identity()
    if coding in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if coding == "deflate":
        return _Zlib(gzip=False)
    if coding == "br" and "br" in supported_encodings():
        return _Brotli()
    return None


@dataclass(frozen=True)
class _Response:
    """The final (non-redirect) response of one attempt."""

    final_url: str
    status_code: int
    content: bytes
    headers: dict[str, str]
    redirects: tuple[str, ...]


class HttpFetcher:
    """Fetches pages over HTTP(S) with browser-like headers, guarded against SSRF.

    Use as `async with HttpFetcher(settings=settings.fetch) as fetcher: await fetcher.fetch(url)`.
    Every request (first URL and each redirect hop) is vetted by the SSRF guard; redirects are
    followed here, hop by hop, never by httpx. Any HTTP status comes back as a `FetchResult`;
    only the lack of a response raises a `FetchError`. Cookies are kept for the fetcher's
    lifetime (per domain, like a browser session); env proxies are ignored.
    """

    def __init__(
        self,
        *,
        settings: FetchSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        guard: UrlGuard | None = None,
    ) -> None:
        # Imported here because guard.py needs this module's error types.
        from pricewatch.adapters.scraping.guard import GuardedTransport, UrlGuard

        self._settings = settings
        self._guard = guard or UrlGuard.from_settings(settings, resolver=resolver)
        self._client = httpx.AsyncClient(
            transport=transport or GuardedTransport(guard=self._guard),
            headers=browser_headers(settings),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._client.aclose()

    async def fetch(self, url: str) -> FetchResult:
        """GET `url`, following redirects and retrying transient failures within the deadline."""
        started = time.monotonic()
        first = self._guard.check_syntax(url)
        total = self._settings.total_timeout
        with anyio.move_on_after(total):
            return await self._fetch_with_retries(url, first, started=started)
        raise FetchTimeoutError(f"timed out after {total:g}s (total) fetching {display_url(first)}")

    async def _fetch_with_retries(
        self, url: str, first: httpx.URL, *, started: float
    ) -> FetchResult:
        """Attempt the fetch until it succeeds, fails for good, or no retry fits the deadline."""
        deadline = started + self._settings.total_timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._follow_redirects(first)
            except HostResolutionError as exc:
                if not (exc.transient and await self._may_retry(attempt, deadline)):
                    raise
                continue
            except _TRANSIENT_ERRORS as exc:
                if not (_retryable(exc) and await self._may_retry(attempt, deadline)):
                    raise self._error(exc, first) from None
                continue
            if response.status_code in RETRY_STATUSES and attempt <= self._settings.retries:
                delay = self._retry_delay(response, attempt)
                if _fits(delay, deadline):
                    await anyio.sleep(delay)
                    continue
            return FetchResult(
                url=url,
                final_url=response.final_url,
                status_code=response.status_code,
                content=response.content,
                headers=response.headers,
                duration_ms=int((time.monotonic() - started) * 1000),
                method=FetchMethod.HTTP,
                attempts=attempt,
                redirects=response.redirects,
            )

    async def _follow_redirects(self, first: httpx.URL) -> _Response:
        """One attempt: request, then each redirect hop after the guard has vetted it."""
        current = first
        hops: list[str] = []
        for _ in range(self._settings.max_redirects + 1):
            await self._guard.check_url(current)
            request = self._client.build_request("GET", current)
            response = await self._client.send(request, stream=True)
            try:
                target = _redirect_target(response, current)
                if target is None:
                    content = await self._read_capped(response, current)
                    return _Response(
                        final_url=str(current),
                        status_code=response.status_code,
                        content=content,
                        headers=_result_headers(response),
                        redirects=tuple(hops),
                    )
            finally:
                await response.aclose()
            hops.append(str(target))
            current = target
        raise TooManyRedirectsError(
            f"more than {self._settings.max_redirects} redirects from {display_url(first)}"
            f" (the last went to {display_url(current)})"
        )

    async def _read_capped(self, response: httpx.Response, url: httpx.URL) -> bytes:
        """The decoded body, refused as soon as it (or its encoded form) passes max_bytes."""
        limit = self._settings.max_bytes
        too_large = ResponseTooLargeError(
            f"{display_url(url)} sent more than {limit} bytes (fetch.max_bytes)"
        )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        if response.is_stream_consumed:
            # Built in memory (a test transport's httpx.Response(content=...)): already decoded.
            if len(response.content) > limit:
                raise too_large
            return response.content
        encoding = response.headers.get("content-encoding")
        decoder = _decoder_for(encoding)
        if decoder is None:
            raise NetworkError(f"{display_url(url)} sent content encoded as {encoding!r}")
        body = bytearray()
        received = 0
        try:
            async for chunk in response.aiter_raw():
                received += len(chunk)
                if received > limit:
                    raise too_large
                body += decoder.decode(chunk, limit - len(body))
            body += decoder.flush(limit - len(body))
        except _TooLarge:
            raise too_large from None
        except (zlib.error, OSError) as exc:
            raise NetworkError(
                f"could not decode the {encoding} body of {display_url(url)}: {exc}"
            ) from None
        return bytes(body)

    async def _may_retry(self, attempt: int, deadline: float) -> bool:
        """Sleep the backoff and return True if another attempt is allowed and fits in time."""
        delay = self._backoff(attempt)
        if attempt > self._settings.retries or not _fits(delay, deadline):
            return False
        await anyio.sleep(delay)
        return True

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: half to all of base * 2^(attempt-1), capped."""
        ceiling = min(self._settings.backoff_max, self._settings.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _retry_delay(self, response: _Response, attempt: int) -> float:
        """The server's Retry-After when it gave one (capped by backoff_max), else the backoff."""
        asked = retry_after_seconds(response.headers.get("retry-after"))
        if asked is None:
            return self._backoff(attempt)
        return min(asked, self._settings.backoff_max)

    def _error(self, exc: httpx.HTTPError, url: httpx.URL) -> FetchError:
        """The FetchError, with one clear line, for an httpx failure."""
        shown = display_url(_request_url(exc) or url)
        detail = _first_line(exc)
        if isinstance(exc, httpx.ConnectTimeout):
            return FetchTimeoutError(
                f"timed out after {self._settings.connect_timeout:g}s connecting to {shown}"
            )
        if isinstance(exc, httpx.ReadTimeout):
            return FetchTimeoutError(
                f"timed out after {self._settings.read_timeout:g}s reading {shown}"
            )
        if isinstance(exc, httpx.TimeoutException):
            return FetchTimeoutError(f"timed out sending the request to {shown}")
        if isinstance(exc, httpx.ConnectError):
            return NetworkError(f"could not connect to {shown}: {detail}")
        return NetworkError(f"the connection to {shown} failed: {detail}")


def _fits(delay: float, deadline: float) -> bool:
    """Whether waiting `delay` still leaves time before the total deadline."""
    return time.monotonic() + delay < deadline


def _retryable(exc: BaseException) -> bool:
    """False for failures that another try cannot fix, such as a bad TLS certificate."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return False
        seen = seen.__cause__ or seen.__context__
    return True


def _redirect_target(response: httpx.Response, current: httpx.URL) -> httpx.URL | None:
    """Where a redirect response points, None when it is not a redirect."""
    location = response.headers.get("location")
    if response.status_code not in REDIRECT_STATUSES or not location:
        return None
    try:
        return current.join(location)
    except httpx.InvalidURL:
        raise UnsafeURLError(
            f"refused the redirect from {display_url(current)}:"
            f" malformed Location {location[:80]!r}"
        ) from None


def _result_headers(response: httpx.Response) -> dict[str, str]:
    """Response headers with lower-case names, minus those that described the encoded body."""
    return {
        name.lower(): value
        for name, value in response.headers.items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    }


def _request_url(exc: httpx.HTTPError) -> httpx.URL | None:
    """The URL of the request that failed, when httpx recorded it."""
    try:
        return exc.request.url
    except RuntimeError:
        return None


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
