"""The demo shop's HTTP server: `running_demo_shop` for tests, `serve_forever` for the CLI.

Standard library only: a `ThreadingHTTPServer` with one daemon thread per connection,
HTTP/1.1 keep-alive, and a shutdown that closes the listening socket and every open
connection before returning, so the port is free again and no thread is left behind.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pricewatch.demo.app import Request, ShopApp, ShopOptions
from pricewatch.demo.catalog import (
    DEFAULT_PERIOD,
    DEFAULT_PRODUCT_COUNT,
    Catalog,
    Clock,
    OfferState,
    PageKind,
    Product,
)

_log = logging.getLogger("pricewatch.demo")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
_CLOSE_TIMEOUT_SECONDS = 5.0
_HOST_HEADER = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

_SocketAddress = tuple[str, int] | tuple[str, int, int, int]


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP requests into `ShopApp` calls and writes the answers back."""

    server: _ShopServer
    protocol_version = "HTTP/1.1"
    server_version = "DemoShop/1.0"
    sys_version = ""
    # Idle keep-alive connections give their thread back after this many seconds.
    timeout = 30
    # Headers and body go out in separate writes; without this, Nagle plus delayed ACKs
    # would add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        """Serve a page."""
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        """Serve headers only (Content-Length as for GET)."""
        self._serve(send_body=False)

    def do_POST(self) -> None:
        """Accept add-to-cart forms (the body is read and ignored)."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(min(length, 1 << 20))
        self._serve(send_body=True)

    def log_message(self, format: str, *args: Any) -> None:
        """One line per request on stderr, only when the shop is verbose."""
        if self.server.verbose:
            sys.stderr.write(f"demo-shop {self.address_string()} {format % args}\n")

    def _base(self) -> str:
        """Origin for absolute links: the Host the client used, else the bound address."""
        host = self.headers.get("Host", "")
        return f"http://{host}" if _HOST_HEADER.match(host) else self.server.base_url

    def _serve(self, *, send_body: bool) -> None:
        """Route the request and write status, headers and (unless HEAD) the body."""
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        request = Request(
            method=self.command, path=unquote(parts.path), query=query, base=self._base()
        )
        response = self.server.app.handle(request)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(response.length))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if not send_body:
            return
        sent = 0
        try:
            for chunk in response.chunks():
                self.wfile.write(chunk)
                sent += len(chunk)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        if sent != response.length:
            # A stream cut short by shutdown: the client must not wait for the rest.
            self.close_connection = True


class _ShopServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that remembers its connections so shutdown can close them."""

    daemon_threads = True
    block_on_close = False
    # Benchmarks open many connections at once; the default backlog of 5 drops some.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], *, app: ShopApp, verbose: bool, family: socket.AddressFamily
    ) -> None:
        self.address_family = family
        self.app = app
        self.verbose = verbose
        self.base_url = ""
        self._live: dict[socket.socket, threading.Thread] = {}
        self._live_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup (slow or hanging without a resolver)."""
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve each connection in its own daemon thread, tracked until it ends."""
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"demo-shop-{self.server_port}-connection",
            daemon=True,
        )
        with self._live_lock:
            self._live[request] = thread
        thread.start()

    def _serve_connection(self, request: socket.socket, client_address: _SocketAddress) -> None:
        """Run the handler for one connection, then close it and forget it."""
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._live_lock:
                self._live.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up are normal; anything else is logged, never printed raw."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        _log.error("demo shop: error serving %s", client_address, exc_info=error)

    def close_connections(self, *, timeout: float) -> None:
        """Shut down every open connection and wait (up to `timeout`) for its thread."""
        with self._live_lock:
            live = list(self._live.items())
        for sock, _thread in live:
            # OSError: the handler closed it in the meantime.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for sock, thread in live:
            if thread.ident is None:
                # Interrupted (Ctrl-C) between accept and start: nobody else will close it.
                sock.close()
            else:
                thread.join(max(0.0, deadline - time.monotonic()))


def _url_host(host: str) -> str:
    """How `host` appears in a URL: wildcard addresses become loopback, IPv6 gets brackets."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class DemoShop:
    """The demo shop: a catalog and an HTTP server bound on construction (port 0 = any).

    Use as a context manager or call `start()` (background thread) / `serve_forever()`
    (this thread), and `close()` when done.
    """

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        seed: int = 0,
        product_count: int = DEFAULT_PRODUCT_COUNT,
        period: float = DEFAULT_PERIOD,
        clock: Clock = time.time,
        options: ShopOptions | None = None,
        verbose: bool = False,
    ) -> None:
        self.catalog = Catalog(seed=seed, product_count=product_count, period=period, clock=clock)
        self.options = options if options is not None else ShopOptions()
        self._stopping = threading.Event()
        self.app = ShopApp(catalog=self.catalog, options=self.options, stopping=self._stopping)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._server = _ShopServer((host, port), app=self.app, verbose=verbose, family=family)
        self.host = host
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://{_url_host(host)}:{self.port}"
        self._server.base_url = self.base_url
        self._lock = threading.Lock()
        self._serving: threading.Thread | None = None
        self._background: threading.Thread | None = None
        self._closed = False

    def __enter__(self) -> DemoShop:
        if self._serving is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this shop."""
        return f"{self.base_url}{path}"

    def product_url(self, product: Product) -> str:
        """Absolute URL of `product`'s page."""
        return self.url(product.url_path)

    def product_urls(
        self, count: int | None = None, *, kinds: Iterable[PageKind] | None = None
    ) -> list[str]:
        """URLs of `count` products (default all), taking the page kinds in turn."""
        wanted = None if kinds is None else tuple(kinds)
        total = len(self.catalog) if count is None else count
        return [self.product_url(p) for p in self.catalog.sample(total, kinds=wanted)]

    def state(self, product: Product) -> OfferState:
        """What `product`'s page shows right now (by the shop's clock)."""
        return self.catalog.state(product)

    def reset_flaky(self) -> None:
        """Make every /flaky/<key> page fail again from the start."""
        self.app.reset_flaky()

    def start(self) -> DemoShop:
        """Serve in a background daemon thread; returns at once."""
        with self._lock:
            if self._closed or self._serving is not None:
                raise RuntimeError("the demo shop is already serving or closed")
            thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"demo-shop-{self.port}",
                daemon=True,
            )
            self._serving = self._background = thread
        thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until Ctrl-C or `close()`, then clean up."""
        with self._lock:
            if self._closed or self._serving is not None:
                raise RuntimeError("the demo shop is already serving or closed")
            self._serving = threading.current_thread()
        try:
            self._server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass  # Ctrl-C is how the CLI stops the shop
        finally:
            self.close()

    def close(self) -> None:
        """Stop serving, free the port, end open connections. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            serving = self._serving
        # Wake slow pages and stop huge streams before waiting for their threads.
        self._stopping.set()
        if serving is not None and serving is not threading.current_thread():
            self._server.shutdown()
        if self._background is not None:
            self._background.join(_CLOSE_TIMEOUT_SECONDS)
        self._server.server_close()
        self._server.close_connections(timeout=_CLOSE_TIMEOUT_SECONDS)


@contextmanager
def running_demo_shop(
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    seed: int = 0,
    product_count: int = DEFAULT_PRODUCT_COUNT,
    period: float = DEFAULT_PERIOD,
    clock: Clock = time.time,
    options: ShopOptions | None = None,
    verbose: bool = False,
) -> Iterator[DemoShop]:
    """A demo shop serving in a background thread for the duration of the `with` block."""
    shop = DemoShop(
        host=host,
        port=port,
        seed=seed,
        product_count=product_count,
        period=period,
        clock=clock,
        options=options,
        verbose=verbose,
    )
    try:
        shop.start()
        yield shop
    finally:
        shop.close()


def serve_forever(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    seed: int = 0,
    product_count: int = DEFAULT_PRODUCT_COUNT,
    period: float = DEFAULT_PERIOD,
    clock: Clock = time.time,
    options: ShopOptions | None = None,
    verbose: bool = False,
    on_ready: Callable[[DemoShop], None] | None = None,
) -> None:
    """Run the demo shop in this thread until Ctrl-C; `on_ready` gets it once it listens."""
    shop = DemoShop(
        host=host,
        port=port,
        seed=seed,
        product_count=product_count,
        period=period,
        clock=clock,
        options=options,
        verbose=verbose,
    )
    try:
        if on_ready is not None:
            on_ready(shop)
        shop.serve_forever()
    finally:
        shop.close()
