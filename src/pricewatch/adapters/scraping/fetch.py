"""Fetching pages over HTTP: the result type, the errors, and the `Fetcher` protocol."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pricewatch.domain.snapshot import FetchMethod


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
    """The URL (or a redirect hop) was refused before any connection: bad scheme, private address."""


class FetchTimeoutError(FetchError):
    """The server was too slow (connect, read or total timeout)."""


class ResponseTooLargeError(FetchError):
    """The body exceeded the configured size cap."""


class TooManyRedirectsError(FetchError):
    """More redirects than the configured cap."""


class NetworkError(FetchError):
    """DNS failure, refused connection, TLS error, broken transfer."""


class BrowserUnavailableError(FetchError):
    """The headless browser is not installed or cannot start."""


class Fetcher(Protocol):
    """Anything that turns a URL into a `FetchResult` (HTTP client, browser, test double)."""

    async def fetch(self, url: str) -> FetchResult: ...
