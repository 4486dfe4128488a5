"""The SSRF guard: which URLs may be fetched, checked before every request and every connection.

Rules, applied to the first URL and to every redirect hop:

* only absolute `http:` and `https:` URLs; every other scheme is refused;
* URLs carrying a user name or password are refused (a product page never needs them, and
  `https://shop.example@10.0.0.5/` is a classic way to disguise a target); error messages never
  repeat the credentials;
* the host must be a well-formed name or IP literal; legacy IPv4 forms (`2130706433`,
  `0177.0.0.1`, `0x7f.1`, `127.1`) are decoded the way browsers and `inet_aton` do;
* the host is resolved and refused if ANY address is loopback, private, link-local, multicast,
  reserved, unspecified, shared (100.64.0.0/10), site-local, or not globally routable, including
  IPv4 addresses embedded in IPv6 (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`);
* hosts named in `FetchSettings.allow_hosts`, and addresses inside its networks, pass.

`GuardedNetworkBackend` re-checks at connection time and connects only to the addresses it just
vetted (never re-resolving), so a DNS answer that changes between check and connect (DNS
rebinding) cannot reach a private address. `GuardedTransport` plugs it into httpx.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import anyio
import httpcore
import httpx

from pricewatch.adapters.scraping.fetch import (
    HostResolutionError,
    NetworkError,
    UnsafeURLError,
    display_url,
)
from pricewatch.config import FetchSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})

_SHARED_NETWORK = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64_NETWORK = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE_NETWORK = ipaddress.IPv6Network("::/96")
#: What a host may look like once httpx has IDNA-encoded it (underscores occur in real names).
_HOST_CHARS = re.compile(r"[A-Za-z0-9_.-]+")
#: WHATWG URL: a host whose last label is a number is an IPv4 address, never a name.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")


class Resolver(Protocol):
    """Turns a host name into IP addresses (injected so tests need no DNS)."""

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        """The addresses `host` resolves to, as text; raise `OSError` when it does not resolve."""
        ...


class SystemResolver:
    """The operating system's resolver (`getaddrinfo`), run in a worker thread by anyio."""

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        """The distinct addresses `getaddrinfo` returns, in its order of preference."""
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class VettedURL:
    """A URL that passed the guard, with the addresses its host resolved to."""

    url: httpx.URL
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def refusal_reason(address: IPAddress) -> str | None:
    """Why connecting to `address` is unsafe ("a private address"), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal_reason(embedded)
            return None if reason is None else f"{reason} ({embedded} embedded in IPv6)"
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in _SHARED_NETWORK, "a shared (carrier-grade NAT) address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (
            isinstance(address, ipaddress.IPv6Address) and address.is_site_local,
            "a site-local address",
        ),
        (not address.is_global, "not a public address"),
    )
    return next((reason for matched, reason in checks if matched), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside a mapped, NAT64, 6to4 or IPv4-compatible IPv6 address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64_NETWORK:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _IPV4_COMPATIBLE_NETWORK and int(address) > 1:
        # The deprecated ::a.b.c.d form: refused below as reserved, but name the v4 inside.
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        return embedded if refusal_reason(embedded) is not None else None
    return None


def ip_literal(host: str) -> IPAddress | None:
    """The address a literal host denotes (legacy IPv4 forms included), None for a name.

    Raises ValueError for a host that must be an address but is not a valid one (`1.2.3.4.5`).
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in bare:
        return ipaddress.IPv6Address(bare)
    bare = bare.rstrip(".")
    last_label = bare.rsplit(".", 1)[-1]
    if not _NUMERIC_LABEL.fullmatch(last_label):
        return None
    # inet_aton accepts exactly the decimal/octal/hex/short forms browsers accept.
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        raise ValueError(f"{host} is not a valid IPv4 address") from None


class UrlGuard:
    """Decides whether a URL may be fetched; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        allowed_hostnames: Iterable[str] = (),
        allowed_networks: Iterable[IPNetwork] = (),
        resolver: Resolver | None = None,
    ) -> None:
        self._hostnames = frozenset(name.lower().rstrip(".") for name in allowed_hostnames)
        self._networks = tuple(allowed_networks)
        self._resolver: Resolver = resolver or SystemResolver()

    @classmethod
    def from_settings(
        cls, settings: FetchSettings, *, resolver: Resolver | None = None
    ) -> UrlGuard:
        """A guard with the allow-list of `settings.allow_hosts`."""
        return cls(
            allowed_hostnames=settings.allowed_hostnames,
            allowed_networks=settings.allowed_networks,
            resolver=resolver,
        )

    def check_syntax(self, url: httpx.URL | str) -> httpx.URL:
        """The parsed URL if its scheme, credentials, host and port are acceptable (no DNS)."""
        try:
            parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise UnsafeURLError(
                f"refused {display_url(str(url))}: malformed URL ({exc})"
            ) from None
        shown = display_url(parsed)
        if parsed.scheme not in ALLOWED_SCHEMES:
            if not parsed.scheme:
                raise UnsafeURLError(f"refused {shown}: not an absolute http or https URL")
            raise UnsafeURLError(
                f"refused {shown}: {parsed.scheme}: URLs are not allowed, only http and https"
            )
        if parsed.userinfo:
            raise UnsafeURLError(
                f"refused {shown}: URLs with a user name or password are not allowed"
            )
        # raw_host is the IDNA-encoded name httpcore will connect to (host is its Unicode form).
        host = parsed.raw_host.decode("ascii", errors="replace")
        if not host:
            raise UnsafeURLError(f"refused {shown}: the URL has no host")
        if ":" not in host and not _HOST_CHARS.fullmatch(host):
            raise UnsafeURLError(f"refused {shown}: malformed host {host!r}")
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise UnsafeURLError(f"refused {shown}: invalid port {parsed.port}")
        return parsed

    async def check_url(self, url: httpx.URL | str) -> VettedURL:
        """Check syntax, resolve the host and vet every address; raise UnsafeURLError if refused."""
        parsed = self.check_syntax(url)
        host = parsed.raw_host.decode("ascii")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = await self.vet_host(host, port, subject=display_url(parsed))
        return VettedURL(url=parsed, host=host, port=port, addresses=addresses)

    async def vet_host(
        self, host: str, port: int, *, subject: str | None = None
    ) -> tuple[IPAddress, ...]:
        """The addresses of `host`, all of them safe to connect to; raise if any is not."""
        subject = subject or f"{host}:{port}"
        name = host.lower().rstrip(".")
        try:
            literal = ip_literal(name)
        except ValueError as exc:
            raise UnsafeURLError(f"refused {subject}: malformed host ({exc})") from None
        if literal is not None:
            addresses: tuple[IPAddress, ...] = (literal,)
        else:
            addresses = await self._resolve(name, port, subject=subject)
        if literal is None and name in self._hostnames:
            return addresses
        for address in addresses:
            if any(address in network for network in self._networks):
                continue
            reason = refusal_reason(address)
            if reason is not None:
                raise UnsafeURLError(f"refused {subject}: {_describe(host, address)} {reason}")
        return addresses

    async def _resolve(self, name: str, port: int, *, subject: str) -> tuple[IPAddress, ...]:
        """Resolve `name` with the injected resolver; unparsable answers count as refused."""
        try:
            answers = await self._resolver.resolve(name, port)
        except OSError as exc:
            detail = exc.strerror or str(exc) or type(exc).__name__
            raise HostResolutionError(
                f"could not resolve {name} for {subject}: {detail}",
                transient=isinstance(exc, socket.gaierror) and exc.errno == socket.EAI_AGAIN,
            ) from None
        if not answers:
            raise HostResolutionError(f"could not resolve {name} for {subject}: no address")
        addresses = []
        for answer in answers:
            try:
                addresses.append(ipaddress.ip_address(answer))
            except ValueError:
                raise UnsafeURLError(
                    f"refused {subject}: {name} resolved to a malformed address {answer!r}"
                ) from None
        return tuple(addresses)


def _describe(host: str, address: IPAddress) -> str:
    """The subject of a refusal: "10.0.0.5 is", "internal.example resolves to 10.0.0.5,"."""
    bare = host.strip("[]")
    try:
        if ipaddress.ip_address(bare) == address:
            return f"{address} is"
    except ValueError:
        pass
    if _NUMERIC_LABEL.fullmatch(bare.rstrip(".").rsplit(".", 1)[-1]):
        return f"{bare} is {address},"
    return f"{bare} resolves to {address},"


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that vets the host at connect time and dials only vetted addresses."""

    def __init__(
        self, *, guard: UrlGuard, backend: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._guard = guard
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve and vet `host`, then connect to the first vetted address that answers."""
        try:
            with anyio.fail_after(timeout):
                addresses = await self._guard.vet_host(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took more than {timeout}s") from None
        except NetworkError as exc:
            # A DNS failure is a connection failure to httpx (and so may be retried).
            raise httpcore.ConnectError(str(exc)) from None
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                last_error = exc
        assert last_error is not None  # vet_host never returns an empty tuple
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: a fetched URL cannot name a local socket."""
        raise UnsafeURLError(f"refused unix socket {path}: only TCP connections are made")

    async def sleep(self, seconds: float) -> None:
        """Delegate to the wrapped backend."""
        await self._backend.sleep(seconds)


@cache
def shared_tls_context() -> ssl.SSLContext:
    """The process's TLS client context: certifi's CA bundle, certificate and hostname checks.

    Building one parses the whole CA bundle (about 15 ms and 3 MB); every fetcher of the
    process shares this one (a context serves any number of connections, from any thread),
    instead of each job building its own.
    """
    return httpx.create_ssl_context(verify=True, trust_env=False)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with every connection made through `GuardedNetworkBackend`.

    Proxies from the environment are ignored on purpose: through a proxy the guard could not
    control which address is reached.
    """

    def __init__(
        self,
        *,
        guard: UrlGuard,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        ssl_context = (
            shared_tls_context()
            if verify is True
            else httpx.create_ssl_context(verify=verify, trust_env=False)
        )
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        # httpx 0.28 has no public way to pass an httpcore network backend (encode/httpx#3749),
        # so the connection pool it built is replaced by an identical one using ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=GuardedNetworkBackend(guard=guard, backend=network_backend),
        )
