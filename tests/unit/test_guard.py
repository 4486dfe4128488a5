"""The SSRF guard's rules, with a fake resolver: no DNS, no sockets."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpcore
import pytest

from pricewatch.adapters.scraping.fetch import NetworkError, UnsafeURLError
from pricewatch.adapters.scraping.guard import (
    GuardedNetworkBackend,
    UrlGuard,
    ip_literal,
    refusal_reason,
)
from pricewatch.config import FetchSettings

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeResolver:
    """Answers from a table; unknown names fail like a DNS miss."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self._table = table
        self.calls: list[tuple[str, int]] = []

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        self.calls.append((host, port))
        if host not in self._table:
            raise OSError(-2, "Name or service not known")
        return self._table[host]


class NoConnectBackend(httpcore.AsyncNetworkBackend):
    """Fails the test if anything tries to connect."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        raise httpcore.ConnectError("test: no connections")


# --- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.255.0.9", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.254", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("0.0.0.0", "an unspecified address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("100.127.255.254", "a shared (carrier-grade NAT) address"),
        ("224.0.0.251", "a multicast address"),
        ("240.0.0.1", "a private address"),
        ("255.255.255.255", "a private address"),
        ("192.0.2.10", "a private address"),
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fc00::1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("ff02::1", "a multicast address"),
        ("fec0::1", "a site-local address"),
        ("::ffff:127.0.0.1", "a loopback address (127.0.0.1 embedded in IPv6)"),
        ("::ffff:10.1.2.3", "a private address (10.1.2.3 embedded in IPv6)"),
        ("::127.0.0.1", "a loopback address (127.0.0.1 embedded in IPv6)"),
        ("64:ff9b::192.168.0.1", "a private address (192.168.0.1 embedded in IPv6)"),
        ("2002:a9fe:a9fe::1", "a link-local address (169.254.169.254 embedded in IPv6)"),
        ("2001:db8::1", "a private address"),
    ],
)
def test_unsafe_addresses_are_refused(address: str, expected: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == expected


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        PUBLIC_V4,
        "1.1.1.1",
        PUBLIC_V6,
        "::ffff:8.8.8.8",
        "64:ff9b::8.8.8.8",  # NAT64 of a public address: how IPv6-only networks reach shops
        "2002:808:808::1",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("192.168.1.1.", "192.168.1.1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
    ],
)
def test_ip_literals_are_decoded_like_browsers(host: str, expected: str) -> None:
    assert ip_literal(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize("host", ["example.com", "shop.example.co.uk", "xn--bcher-kva.de", "a1b2"])
def test_names_are_not_literals(host: str) -> None:
    assert ip_literal(host) is None


@pytest.mark.parametrize("host", ["1.2.3.4.5", "08.0.0.1", "shop.123", "256.256.256.256", "[::zz]"])
def test_malformed_literals_raise(host: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        ip_literal(host)


# --- URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "file: URLs are not allowed, only http and https"),
        ("ftp://example.com/x", "ftp: URLs are not allowed"),
        ("gopher://example.com:70/", "gopher: URLs are not allowed"),
        ("javascript:alert(1)", "javascript: URLs are not allowed"),
        ("data:text/html;base64,PHA+aGk8L3A+", "data: URLs are not allowed"),
        ("ws://example.com/", "ws: URLs are not allowed"),
        ("example.com/product/1", "not an absolute http or https URL"),
        ("//example.com/product/1", "not an absolute http or https URL"),
        ("http:///path", "the URL has no host"),
        ("http://exa mple.com/", "malformed host"),
        ("http://%31%32%37.0.0.1/", "malformed host"),
        ("http://[::1/", "malformed URL"),
        ("http://example.com:0/", "invalid port 0"),
    ],
)
def test_bad_urls_are_refused_without_resolving(url: str, message: str) -> None:
    guard = UrlGuard(resolver=FakeResolver({}))
    with pytest.raises(UnsafeURLError, match=r"^refused ") as refused:
        guard.check_syntax(url)
    assert message in str(refused.value)


def test_credentials_are_refused_and_never_repeated() -> None:
    guard = UrlGuard(resolver=FakeResolver({}))
    with pytest.raises(UnsafeURLError) as refused:
        guard.check_syntax("https://admin:hunter2@shop.example/p")
    message = str(refused.value)
    assert message == (
        "refused https://shop.example/p: URLs with a user name or password are not allowed"
    )
    assert "hunter2" not in message
    assert "admin" not in message


def test_upper_case_and_idn_urls_are_accepted() -> None:
    guard = UrlGuard(resolver=FakeResolver({}))
    assert guard.check_syntax("HTTPS://Shop.Example/P").host == "shop.example"
    assert guard.check_syntax("https://bücher.de/").raw_host == b"xn--bcher-kva.de"


@pytest.mark.anyio
async def test_public_names_pass_with_their_addresses() -> None:
    resolver = FakeResolver({"shop.example": [PUBLIC_V4, PUBLIC_V6]})
    vetted = await UrlGuard(resolver=resolver).check_url("https://shop.example/p?id=1")
    assert vetted.host == "shop.example"
    assert vetted.port == 443
    assert vetted.addresses == (ipaddress.ip_address(PUBLIC_V4), ipaddress.ip_address(PUBLIC_V6))
    assert resolver.calls == [("shop.example", 443)]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (["10.0.0.5"], "internal.example resolves to 10.0.0.5, a private address"),
        ([PUBLIC_V4, "192.168.0.7"], "resolves to 192.168.0.7, a private address"),
        ([PUBLIC_V4, "::1"], "resolves to ::1, a loopback address"),
        (["fe80::1%eth0"], "a link-local address"),
        (["::ffff:169.254.169.254"], "a link-local address (169.254.169.254 embedded"),
        (["not-an-ip"], "resolved to a malformed address 'not-an-ip'"),
    ],
)
async def test_any_unsafe_answer_refuses_the_name(answers: list[str], message: str) -> None:
    guard = UrlGuard(resolver=FakeResolver({"internal.example": answers}))
    with pytest.raises(UnsafeURLError) as refused:
        await guard.check_url("http://internal.example/")
    assert str(refused.value).startswith("refused http://internal.example/: ")
    assert message in str(refused.value)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "url",
    ["http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://[::ffff:127.0.0.1]/"],
)
async def test_literal_hosts_are_checked_without_the_resolver(url: str) -> None:
    resolver = FakeResolver({})
    with pytest.raises(UnsafeURLError, match=r"127\.0\.0\.1"):
        await UrlGuard(resolver=resolver).check_url(url)
    assert resolver.calls == []


@pytest.mark.anyio
async def test_resolution_failures_are_network_errors() -> None:
    guard = UrlGuard(resolver=FakeResolver({"empty.example": []}))
    with pytest.raises(NetworkError, match=r"could not resolve nowhere\.example") as missing:
        await guard.check_url("http://nowhere.example/")
    with pytest.raises(NetworkError, match="no address"):
        await guard.check_url("http://empty.example/")
    assert not isinstance(missing.value, UnsafeURLError)
    assert "Name or service not known" in str(missing.value)


# --- the allow-list ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_allow_list_hostnames_networks_and_addresses() -> None:
    fetch_settings = FetchSettings(
        allow_hosts=["NAS.lan", "192.168.1.0/24", "127.0.0.1", "fd00::/8"]
    )
    resolver = FakeResolver(
        {"nas.lan": ["10.9.9.9"], "printer.lan": ["192.168.1.20"], "localhost": ["127.0.0.1"]}
    )
    guard = UrlGuard.from_settings(fetch_settings, resolver=resolver)

    assert (await guard.check_url("http://nas.lan./")).addresses == (
        ipaddress.ip_address("10.9.9.9"),
    )
    assert (await guard.check_url("http://printer.lan/")).host == "printer.lan"
    assert (await guard.check_url("http://127.0.0.1:8000/")).port == 8000
    assert (await guard.check_url("http://[fd00::5]/")).addresses == (
        ipaddress.ip_address("fd00::5"),
    )
    # An allowed network admits its addresses under any name.
    assert (await guard.check_url("http://localhost/")).host == "localhost"
    for refused in ("http://127.0.0.2/", "http://192.168.2.1/", "http://[fe80::1]/"):
        with pytest.raises(UnsafeURLError):
            await guard.check_url(refused)


@pytest.mark.anyio
async def test_allow_listed_name_does_not_allow_its_address_under_other_names() -> None:
    resolver = FakeResolver({"nas.lan": ["10.9.9.9"], "evil.example": ["10.9.9.9"]})
    guard = UrlGuard(allowed_hostnames=["nas.lan"], resolver=resolver)
    await guard.check_url("http://nas.lan/")
    with pytest.raises(UnsafeURLError, match=r"evil\.example resolves to 10\.9\.9\.9"):
        await guard.check_url("http://evil.example/")


# --- the connect-time check -------------------------------------------------------------------


@pytest.mark.anyio
async def test_backend_refuses_before_connecting() -> None:
    inner = NoConnectBackend()
    guard = UrlGuard(resolver=FakeResolver({"internal.example": ["10.0.0.5"]}))
    backend = GuardedNetworkBackend(guard=guard, backend=inner)
    with pytest.raises(UnsafeURLError, match=r"refused internal\.example:80: .*10\.0\.0\.5"):
        await backend.connect_tcp("internal.example", 80, timeout=1.0)
    with pytest.raises(UnsafeURLError, match="unix socket"):
        await backend.connect_unix_socket("/var/run/docker.sock")
    assert inner.connects == []


@pytest.mark.anyio
async def test_backend_dials_every_vetted_address_and_never_the_name() -> None:
    inner = NoConnectBackend()
    resolver = FakeResolver({"shop.example": [PUBLIC_V6, PUBLIC_V4]})
    backend = GuardedNetworkBackend(guard=UrlGuard(resolver=resolver), backend=inner)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("shop.example", 443, timeout=1.0)
    assert inner.connects == [(PUBLIC_V6, 443), (PUBLIC_V4, 443)]


@pytest.mark.anyio
async def test_backend_turns_dns_failure_into_a_connect_error() -> None:
    inner = NoConnectBackend()
    backend = GuardedNetworkBackend(guard=UrlGuard(resolver=FakeResolver({})), backend=inner)
    with pytest.raises(httpcore.ConnectError, match=r"could not resolve gone\.example"):
        await backend.connect_tcp("gone.example", 80)
    assert inner.connects == []
