"""HttpFetcher against servers on 127.0.0.1: limits, retries, decoding, and the SSRF guard."""

from __future__ import annotations

import gzip
import importlib.util
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpcore
import httpx
import pytest

from pricewatch.adapters.scraping.fetch import (
    FetchResult,
    FetchTimeoutError,
    HostResolutionError,
    HttpFetcher,
    NetworkError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    UnsafeURLError,
    browser_headers,
    retry_after_seconds,
    supported_encodings,
)
from pricewatch.adapters.scraping.guard import (
    GuardedTransport,
    SystemResolver,
    UrlGuard,
    shared_tls_context,
)
from pricewatch.config import FetchSettings
from pricewatch.domain.snapshot import FetchMethod

Route = Callable[[BaseHTTPRequestHandler, "LocalServer"], None]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- a small local HTTP server -------------------------------------------------------------


@dataclass
class LocalServer:
    """A threaded HTTP server on a loopback address, recording what it was asked."""

    base_url: str
    port: int
    requests: list[tuple[str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def count(self, path: str) -> int:
        """How many requests asked for `path`."""
        return sum(1 for seen, _ in self.requests if seen == path)


def reply(
    handler: BaseHTTPRequestHandler,
    status: int = 200,
    body: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
    *,
    length: bool = True,
) -> None:
    """Send a complete response."""
    handler.send_response(status)
    names = set()
    for name, value in headers:
        handler.send_header(name, value)
        names.add(name.lower())
    if "content-type" not in names:
        handler.send_header("Content-Type", "text/html; charset=utf-8")
    if length:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def serve(routes: dict[str, Route], *, host: str = "127.0.0.1") -> Iterator[LocalServer]:
    """Run `routes` (path -> handler) on host:random port until the block ends."""
    state: dict[str, LocalServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server = state["server"]
            path = self.path.split("?", 1)[0]
            server.requests.append((path, self.headers.get("Host", "")))
            route = routes.get(path)
            if route is None:
                reply(self, 404, b"<h1>not found</h1>")
            else:
                route(self, server)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            """Clients hanging up early is the point of several tests."""

    httpd = Server((host, 0), Handler)
    port = httpd.server_address[1]
    state["server"] = LocalServer(base_url=f"http://{host}:{port}", port=port)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state["server"]
    finally:
        state["server"].stop.set()
        httpd.shutdown()
        thread.join()
        httpd.server_close()


def settings(**overrides: Any) -> FetchSettings:
    """Fast settings that allow-list 127.0.0.1 (and only it)."""
    values: dict[str, Any] = {
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_timeout": 5.0,
        "retries": 2,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "allow_hosts": ["127.0.0.1"],
    }
    values.update(overrides)
    return FetchSettings(**values)


# --- test doubles for the injected parts -----------------------------------------------------


class FakeResolver:
    """Answers from a table; names not in it go to the system resolver (for `localhost`).

    `changing` maps a name to successive answers, one per lookup, the last one repeated:
    the DNS rebinding attack.
    """

    def __init__(
        self,
        table: Mapping[str, Sequence[str]],
        *,
        changing: Mapping[str, Sequence[Sequence[str]]] | None = None,
    ) -> None:
        self._table = table
        self._changing = changing or {}
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        if host in self._changing:
            answers = self._changing[host]
            return answers[min(len(self.calls_for(host)), len(answers)) - 1]
        if host in self._table:
            return self._table[host]
        return await SystemResolver().resolve(host, port)

    def calls_for(self, host: str) -> list[str]:
        return [call for call in self.calls if call == host]


class SpyBackend(httpcore.AsyncNetworkBackend):
    """Records every TCP connection attempt; really connects only to loopback addresses."""

    def __init__(self, *, connect_delay: float = 0.0) -> None:
        self.connects: list[tuple[str, int]] = []
        self._real = httpcore.AnyIOBackend()
        self._connect_delay = connect_delay

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        if self._connect_delay:
            try:
                with anyio.fail_after(timeout):
                    await anyio.sleep(self._connect_delay)
            except TimeoutError:
                raise httpcore.ConnectTimeout("spy: connect timed out") from None
        if not host.startswith("127."):
            # Tests never leave the machine, whatever the code under test asks for.
            raise httpcore.ConnectError(f"spy: not connecting to {host}")
        return await self._real.connect_tcp(host, port, timeout=timeout)


def spied_fetcher(
    fetch_settings: FetchSettings,
    spy: SpyBackend,
    resolver: FakeResolver | None = None,
) -> HttpFetcher:
    """An HttpFetcher whose guarded transport connects through `spy`."""
    guard = UrlGuard.from_settings(fetch_settings, resolver=resolver)
    transport = GuardedTransport(guard=guard, network_backend=spy)
    return HttpFetcher(settings=fetch_settings, transport=transport, guard=guard)


# --- routes -------------------------------------------------------------------------------------


def page(body: bytes = b"<p>price: 12.50 EUR</p>", **kwargs: Any) -> Route:
    return lambda handler, _server: reply(handler, 200, body, **kwargs)


def redirect_to(location: str | Callable[[LocalServer], str], status: int = 302) -> Route:
    def route(handler: BaseHTTPRequestHandler, server: LocalServer) -> None:
        target = location(server) if callable(location) else location
        reply(handler, status, b"", [("Location", target)])

    return route


def failing_then(statuses: list[int], headers: Iterable[tuple[str, str]] = ()) -> Route:
    """Answer with `statuses` in turn (then 200), each failure carrying `headers`."""
    calls = iter(statuses)

    def route(handler: BaseHTTPRequestHandler, _server: LocalServer) -> None:
        status = next(calls, 200)
        if status == 200:
            reply(handler, 200, b"<p>finally</p>")
        else:
            reply(handler, status, b"busy", headers)

    return route


def slow(delay: float) -> Route:
    def route(handler: BaseHTTPRequestHandler, server: LocalServer) -> None:
        server.stop.wait(delay)
        reply(handler, 200, b"late")

    return route


def trickle(*, chunks: int, every: float) -> Route:
    """Headers at once, then one byte every `every` seconds."""

    def route(handler: BaseHTTPRequestHandler, server: LocalServer) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(chunks))
        handler.end_headers()
        for _ in range(chunks):
            if server.stop.wait(every):
                return
            handler.wfile.write(b"x")
            handler.wfile.flush()

    return route


# --- plain fetching -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_fetches_a_page_with_browser_headers() -> None:
    seen: dict[str, str] = {}

    def route(handler: BaseHTTPRequestHandler, _server: LocalServer) -> None:
        seen.update({name.lower(): value for name, value in handler.headers.items()})
        reply(handler, 200, b"<p>ok</p>", [("X-Shop", "demo")])

    fetch_settings = settings(user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0")
    with serve({"/p": route}) as server:
        async with HttpFetcher(settings=fetch_settings) as fetcher:
            result = await fetcher.fetch(f"{server.base_url}/p")

    assert result.status_code == 200
    assert result.content == b"<p>ok</p>"
    assert result.method is FetchMethod.HTTP
    assert result.attempts == 1
    assert result.redirects == ()
    assert result.final_url == result.url == f"{server.base_url}/p"
    assert result.headers["x-shop"] == "demo"
    assert result.content_type == "text/html; charset=utf-8"
    assert seen["user-agent"] == fetch_settings.user_agent
    assert seen["accept-language"] == fetch_settings.accept_language
    assert seen["accept"].startswith("text/html,application/xhtml+xml")
    assert seen["accept-encoding"] == ", ".join(supported_encodings())
    assert seen["upgrade-insecure-requests"] == "1"
    assert seen["sec-fetch-mode"] == "navigate"
    assert seen["sec-ch-ua-platform"] == '"Linux"'
    assert '"Chromium";v="131"' in seen["sec-ch-ua"]


def test_accept_encoding_only_names_installed_decoders() -> None:
    encodings = browser_headers(FetchSettings())["Accept-Encoding"].split(", ")
    assert encodings[:2] == ["gzip", "deflate"]
    assert ("br" in encodings) == (importlib.util.find_spec("brotli") is not None)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib header
    ],
)
async def test_compressed_bodies_are_decoded(
    encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    html = b"<html><body>" + b"<p>price 19.99</p>" * 500 + b"</body></html>"
    route = page(compress(html), headers=[("Content-Encoding", encoding)])
    with serve({"/z": route}) as server:
        async with HttpFetcher(settings=settings()) as fetcher:
            result = await fetcher.fetch(f"{server.base_url}/z")
    assert result.content == html
    assert "content-encoding" not in result.headers


@pytest.mark.anyio
async def test_brotli_is_decoded_when_installed() -> None:
    brotli = pytest.importorskip("brotli", reason="brotli (optional) is not installed")
    html = b"<p>price 5.00</p>" * 100
    route = page(brotli.compress(html), headers=[("Content-Encoding", "br")])
    with serve({"/br": route}) as server:
        async with HttpFetcher(settings=settings()) as fetcher:
            result = await fetcher.fetch(f"{server.base_url}/br")
    assert result.content == html


@pytest.mark.anyio
async def test_404_is_returned_without_retry() -> None:
    with serve({}) as server:
        async with HttpFetcher(settings=settings(retries=3)) as fetcher:
            result = await fetcher.fetch(f"{server.base_url}/gone")
    assert result.status_code == 404
    assert result.attempts == 1
    assert b"not found" in result.content
    assert server.count("/gone") == 1


# --- retries ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_503_is_retried_until_success() -> None:
    with serve({"/busy": failing_then([503, 503])}) as server:
        async with HttpFetcher(settings=settings(retries=2)) as fetcher:
            result = await fetcher.fetch(f"{server.base_url}/busy")
    assert result.status_code == 200
    assert result.content == b"<p>finally</p>"
    assert result.attempts == 3
    assert server.count("/busy") == 3


@pytest.mark.anyio
async def test_last_5xx_is_returned_when_retries_run_out() -> None:
    with serve({"/down": failing_then([502, 502, 502, 502])}) as server:
        async with HttpFetcher(settings=settings(retries=2)) as fetcher:
            result = await fetcher.fetch(f"{server.base_url}/down")
    assert result.status_code == 502
    assert result.attempts == 3
    assert server.count("/down") == 3


@pytest.mark.anyio
async def test_429_waits_for_retry_after() -> None:
    route = failing_then([429], headers=[("Retry-After", "1")])
    with serve({"/limited": route}) as server:
        async with HttpFetcher(settings=settings(backoff_max=5.0)) as fetcher:
            started = time.monotonic()
            result = await fetcher.fetch(f"{server.base_url}/limited")
            elapsed = time.monotonic() - started
    assert result.status_code == 200
    assert result.attempts == 2
    # The backoff alone would wait about 10 ms: the server's 1 s was honoured.
    assert 0.9 <= elapsed < 3.0


@pytest.mark.anyio
async def test_retry_after_is_capped_by_backoff_max() -> None:
    route = failing_then([429], headers=[("Retry-After", "3600")])
    with serve({"/limited": route}) as server:
        async with HttpFetcher(settings=settings(backoff_max=0.1)) as fetcher:
            started = time.monotonic()
            result = await fetcher.fetch(f"{server.base_url}/limited")
    assert result.status_code == 200
    assert time.monotonic() - started < 1.0


@pytest.mark.anyio
async def test_retry_after_past_the_deadline_returns_the_429() -> None:
    route = failing_then([429], headers=[("Retry-After", "30")])
    fetch_settings = settings(backoff_max=60.0, total_timeout=1.0)
    with serve({"/limited": route}) as server:
        async with HttpFetcher(settings=fetch_settings) as fetcher:
            started = time.monotonic()
            result = await fetcher.fetch(f"{server.base_url}/limited")
    assert result.status_code == 429
    assert result.attempts == 1
    assert time.monotonic() - started < 0.5


def test_retry_after_parsing() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 0.5 ") == 0.5
    assert (
        retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now)
        == 90
    )
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0
    for unusable in (None, "", "soon", "-3", "nan"):
        assert retry_after_seconds(unusable) is None


@pytest.mark.anyio
async def test_refused_connection_is_a_network_error_after_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spy = SpyBackend()
    async with spied_fetcher(settings(retries=1), spy) as fetcher:
        with pytest.raises(NetworkError, match=r"could not connect to http://127\.0\.0\.1:\d+/"):
            await fetcher.fetch(f"http://127.0.0.1:{port}/")
    assert spy.connects == [("127.0.0.1", port)] * 2


class FlakyResolver:
    """Fails the first `failures` look-ups with `errno`, then answers 127.0.0.1."""

    def __init__(self, *, failures: int, errno: int) -> None:
        self.failures = failures
        self.errno = errno
        self.calls = 0

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        self.calls += 1
        if self.calls <= self.failures:
            raise socket.gaierror(self.errno, "DNS trouble")
        return ["127.0.0.1"]


@pytest.mark.anyio
async def test_temporary_dns_failure_is_retried() -> None:
    resolver = FlakyResolver(failures=1, errno=socket.EAI_AGAIN)
    with serve({"/p": page()}) as server:
        async with HttpFetcher(settings=settings(), resolver=resolver) as fetcher:
            result = await fetcher.fetch(f"http://shop.test:{server.port}/p")
    assert result.status_code == 200
    assert result.attempts == 2


@pytest.mark.anyio
async def test_unknown_host_fails_at_once() -> None:
    resolver = FlakyResolver(failures=99, errno=socket.EAI_NONAME)
    async with HttpFetcher(settings=settings(retries=3), resolver=resolver) as fetcher:
        with pytest.raises(HostResolutionError, match=r"^could not resolve nowhere\.test for "):
            await fetcher.fetch("http://nowhere.test/")
    assert resolver.calls == 1


# --- timeouts -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_read_timeout() -> None:
    with serve({"/slow": slow(2.0)}) as server:
        async with HttpFetcher(settings=settings(read_timeout=0.3, retries=0)) as fetcher:
            started = time.monotonic()
            with pytest.raises(FetchTimeoutError, match=r"^timed out after 0\.3s reading http://"):
                await fetcher.fetch(f"{server.base_url}/slow")
    assert time.monotonic() - started < 1.5


@pytest.mark.anyio
async def test_read_timeouts_are_retried() -> None:
    with serve({"/slow": slow(2.0)}) as server:
        async with HttpFetcher(settings=settings(read_timeout=0.2, retries=1)) as fetcher:
            with pytest.raises(FetchTimeoutError, match="reading"):
                await fetcher.fetch(f"{server.base_url}/slow")
    assert server.count("/slow") == 2


@pytest.mark.anyio
async def test_connect_timeout() -> None:
    spy = SpyBackend(connect_delay=5.0)
    fetch_settings = settings(connect_timeout=0.2, retries=0)
    async with spied_fetcher(fetch_settings, spy) as fetcher:
        with pytest.raises(FetchTimeoutError, match=r"timed out after 0\.2s connecting to"):
            await fetcher.fetch("http://127.0.0.1:9/")


@pytest.mark.anyio
async def test_total_deadline_covers_a_trickling_body() -> None:
    fetch_settings = settings(read_timeout=0.5, total_timeout=0.6, retries=0)
    with serve({"/drip": trickle(chunks=40, every=0.05)}) as server:
        async with HttpFetcher(settings=fetch_settings) as fetcher:
            started = time.monotonic()
            with pytest.raises(FetchTimeoutError, match=r"timed out after 0\.6s \(total\)"):
                await fetcher.fetch(f"{server.base_url}/drip")
    assert time.monotonic() - started < 1.2


@pytest.mark.anyio
async def test_total_deadline_covers_retries() -> None:
    fetch_settings = settings(read_timeout=0.3, total_timeout=0.5, retries=5, backoff_base=0.01)
    with serve({"/slow": slow(2.0)}) as server:
        async with HttpFetcher(settings=fetch_settings) as fetcher:
            started = time.monotonic()
            with pytest.raises(FetchTimeoutError):
                await fetcher.fetch(f"{server.base_url}/slow")
    assert time.monotonic() - started < 1.0
    assert server.count("/slow") <= 2


# --- size and redirect caps ----------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("with_length", [True, False])
async def test_size_cap(with_length: bool) -> None:
    route = page(b"x" * 300_000, length=with_length)
    with serve({"/big": route}) as server:
        async with HttpFetcher(settings=settings(max_bytes=100_000)) as fetcher:
            with pytest.raises(ResponseTooLargeError, match="sent more than 100000 bytes"):
                await fetcher.fetch(f"{server.base_url}/big")


@pytest.mark.anyio
async def test_size_cap_applies_to_the_decoded_body() -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)  # about 20 kB on the wire
    route = page(bomb, headers=[("Content-Encoding", "gzip")])
    with serve({"/bomb": route}) as server:
        async with HttpFetcher(settings=settings(max_bytes=1_000_000)) as fetcher:
            with pytest.raises(ResponseTooLargeError):
                await fetcher.fetch(f"{server.base_url}/bomb")


@pytest.mark.anyio
async def test_body_at_the_cap_is_accepted() -> None:
    with serve({"/exact": page(b"y" * 1000)}) as server:
        async with HttpFetcher(settings=settings(max_bytes=1000)) as fetcher:
            result = await fetcher.fetch(f"{server.base_url}/exact")
    assert len(result.content) == 1000


@pytest.mark.anyio
async def test_redirects_are_followed_and_recorded() -> None:
    routes = {
        "/a": redirect_to("/b", 301),
        "/b": redirect_to(lambda server: f"{server.base_url}/c", 307),
        "/c": page(b"<p>landed</p>"),
    }
    with serve(routes) as server:
        async with HttpFetcher(settings=settings(max_redirects=2)) as fetcher:
            result = await fetcher.fetch(f"{server.base_url}/a")
    assert result.status_code == 200
    assert result.content == b"<p>landed</p>"
    assert result.url == f"{server.base_url}/a"
    assert result.final_url == f"{server.base_url}/c"
    assert result.redirects == (f"{server.base_url}/b", f"{server.base_url}/c")


@pytest.mark.anyio
async def test_redirect_cap() -> None:
    routes = {f"/r{i}": redirect_to(f"/r{i + 1}") for i in range(10)}
    with serve(routes) as server:
        async with HttpFetcher(settings=settings(max_redirects=3)) as fetcher:
            with pytest.raises(TooManyRedirectsError, match="more than 3 redirects"):
                await fetcher.fetch(f"{server.base_url}/r0")
    assert server.count("/r3") == 1
    assert server.count("/r4") == 0


# --- the SSRF guard ---------------------------------------------------------------------------

REFUSED_URLS = [
    "http://10.0.0.1/",
    "http://10.255.255.254:8080/x",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.2/",
    "http://0.0.0.0/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[2002:c0a8:101::1]/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.1/",
    "http://127.1/",
    "http://017700000001/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://internal.example/",
    "http://mixed.example/",
    "file:///etc/passwd",
    "ftp://example.com/",
    "gopher://example.com/",
    "javascript:alert(1)",
    "data:text/html,<p>hi</p>",
    "example.com/product",
    "http://user:secret@example.com/",
    "http://exa%20mple.com/",
    "http:///nohost",
]


@pytest.mark.anyio
@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_unsafe_urls_never_reach_a_socket(url: str) -> None:
    resolver = FakeResolver(
        {"internal.example": ["10.0.0.5"], "mixed.example": ["93.184.215.14", "192.168.0.7"]}
    )
    spy = SpyBackend()
    # 127.0.0.1 exactly is allow-listed; the rest of 127/8 and localhost names are not,
    # so the fetcher is built without an allow-list here.
    async with spied_fetcher(settings(allow_hosts=[]), spy, resolver) as fetcher:
        with pytest.raises(UnsafeURLError, match=r"^refused ") as refused:
            await fetcher.fetch(url)
    assert spy.connects == []
    assert "secret" not in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.anyio
async def test_refusal_messages_name_the_reason() -> None:
    resolver = FakeResolver({"internal.example": ["10.0.0.5"]})
    async with HttpFetcher(settings=settings(allow_hosts=[]), resolver=resolver) as fetcher:
        with pytest.raises(UnsafeURLError) as literal:
            await fetcher.fetch("http://10.0.0.5/")
        with pytest.raises(UnsafeURLError) as named:
            await fetcher.fetch("http://internal.example/p")
        with pytest.raises(UnsafeURLError) as scheme:
            await fetcher.fetch("file:///etc/passwd")
    assert str(literal.value) == "refused http://10.0.0.5/: 10.0.0.5 is a private address"
    assert str(named.value) == (
        "refused http://internal.example/p: internal.example resolves to 10.0.0.5,"
        " a private address"
    )
    assert "file: URLs are not allowed" in str(scheme.value)


@pytest.mark.anyio
async def test_redirect_to_a_private_address_is_refused() -> None:
    spy = SpyBackend()
    with serve({"/go": redirect_to("http://10.0.0.1/admin")}) as server:
        async with spied_fetcher(settings(), spy) as fetcher:
            with pytest.raises(UnsafeURLError, match=r"refused http://10\.0\.0\.1/admin"):
                await fetcher.fetch(f"{server.base_url}/go")
    assert spy.connects == [("127.0.0.1", server.port)]


@pytest.mark.anyio
async def test_redirect_to_localhost_is_refused_when_only_the_shop_is_allowed() -> None:
    # The shop is allow-listed by name; `localhost` (same server!) is not.
    resolver = FakeResolver({"shop.test": ["127.0.0.1"]})
    spy = SpyBackend()
    routes = {
        "/go": redirect_to(lambda server: f"http://localhost:{server.port}/secret"),
        "/secret": page(b"internal data"),
    }
    with serve(routes) as server:
        fetch_settings = settings(allow_hosts=["shop.test"])
        async with spied_fetcher(fetch_settings, spy, resolver) as fetcher:
            with pytest.raises(UnsafeURLError, match=r"localhost resolves to 127\.0\.0\.1"):
                await fetcher.fetch(f"http://shop.test:{server.port}/go")
    assert server.count("/go") == 1
    assert server.count("/secret") == 0
    # The allowed name was dialled by its vetted address, with the name kept in Host.
    assert spy.connects == [("127.0.0.1", server.port)]
    assert server.requests[0][1] == f"shop.test:{server.port}"


@pytest.mark.anyio
async def test_redirect_to_another_loopback_server_makes_no_connection() -> None:
    with serve({"/": page(b"victim")}, host="127.0.0.2") as victim:
        routes = {"/go": redirect_to(f"{victim.base_url}/")}
        with serve(routes) as server:
            async with HttpFetcher(settings=settings()) as fetcher:
                with pytest.raises(UnsafeURLError, match=r"127\.0\.0\.2 is a loopback address"):
                    await fetcher.fetch(f"{server.base_url}/go")
    assert victim.requests == []


@pytest.mark.anyio
async def test_dns_rebinding_is_caught_at_connect_time() -> None:
    # First answer (the pre-check) is public, the second (at connect) private.
    resolver = FakeResolver({}, changing={"rebind.example": [["93.184.215.14"], ["10.0.0.5"]]})
    spy = SpyBackend()
    async with spied_fetcher(settings(allow_hosts=[]), spy, resolver) as fetcher:
        with pytest.raises(UnsafeURLError, match=r"rebind\.example resolves to 10\.0\.0\.5"):
            await fetcher.fetch("http://rebind.example/")
    assert resolver.calls_for("rebind.example") == ["rebind.example"] * 2
    assert spy.connects == []


@pytest.mark.anyio
async def test_allow_listed_network_passes_and_is_dialled_by_address() -> None:
    resolver = FakeResolver({"nas.lan": ["10.1.2.3"]})
    spy = SpyBackend()
    fetch_settings = settings(allow_hosts=["10.0.0.0/8"], retries=0)
    async with spied_fetcher(fetch_settings, spy, resolver) as fetcher:
        with pytest.raises(NetworkError, match="spy: not connecting"):
            await fetcher.fetch("http://nas.lan:8080/")
    assert spy.connects == [("10.1.2.3", 8080)]


@pytest.mark.anyio
async def test_injected_transport_is_still_guarded() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.url.path == "/go":
            return httpx.Response(302, headers={"Location": "http://192.168.0.1/"})
        return httpx.Response(200, html="<p>ok</p>")

    transport = httpx.MockTransport(handler)
    resolver = FakeResolver({"shop.test": ["93.184.215.14"]})
    async with HttpFetcher(settings=settings(), transport=transport, resolver=resolver) as fetcher:
        result: FetchResult = await fetcher.fetch("http://shop.test/p")
        with pytest.raises(UnsafeURLError, match=r"192\.168\.0\.1 is a private address"):
            await fetcher.fetch("http://shop.test/go")
    assert result.content == b"<p>ok</p>"
    assert [str(call.url) for call in calls] == ["http://shop.test/p", "http://shop.test/go"]


def test_every_fetcher_of_a_process_shares_one_verifying_tls_context() -> None:
    # Building a context parses the CA bundle (~15 ms, ~3 MB): jobs must not each build one.
    guard = UrlGuard.from_settings(FetchSettings())
    first, second = GuardedTransport(guard=guard), GuardedTransport(guard=guard)
    context = shared_tls_context()
    assert first._pool._ssl_context is context
    assert second._pool._ssl_context is context
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    unverified = GuardedTransport(guard=guard, verify=False)._pool._ssl_context
    assert unverified is not context
    assert unverified is not None
    assert unverified.verify_mode == ssl.CERT_NONE
