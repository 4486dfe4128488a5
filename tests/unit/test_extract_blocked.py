"""Bot walls, garbage input and JavaScript shells."""

from __future__ import annotations

import pytest

from pricewatch.adapters.scraping.extract import extract, has_product_data, looks_like_js_shell
from pricewatch.adapters.scraping.page import PageError, load_page
from pricewatch.domain.snapshot import Availability, FetchStatus

AMAZON_CAPTCHA = """<html><head><title>Amazon.com</title></head><body>
<h4>Enter the characters you see below</h4>
<p>Sorry, we just need to make sure you're not a robot.</p>
<form method="get" action="/errors/validateCaptcha"><input name="field-keywords"></form>
</body></html>"""


@pytest.mark.parametrize(
    ("html", "what"),
    [
        (AMAZON_CAPTCHA, "amazon robot check"),
        ("<html><head><title>Robot Check</title></head><body>x</body></html>", "amazon"),
        (
            "<html><head><title>Attention Required! | Cloudflare</title></head>"
            "<body></body></html>",
            "cloudflare",
        ),
        ("<html><head><title>Just a moment...</title></head><body></body></html>", "cloudflare"),
        (
            "<html><head><title>Access Denied</title></head><body>Reference #18</body></html>",
            "access denied",
        ),
        (
            "<html><head><title>Pardon Our Interruption</title></head><body></body></html>",
            "imperva",
        ),
        ('<html><body><div id="px-captcha"></div></body></html>', "perimeterx"),
        (
            '<html><body><iframe src="https://geo.captcha-delivery.com/captcha/?x=1"></iframe></body></html>',
            "datadome",
        ),
        ('<html><body><form><div class="g-recaptcha"></div></form></body></html>', "captcha"),
    ],
)
def test_walls_are_blocked_without_price_or_stock(html: str, what: str) -> None:
    snap = extract(html, "https://www.amazon.com/dp/B000000000")
    assert snap.fetch.status is FetchStatus.BLOCKED
    assert snap.price is None
    assert snap.availability is Availability.UNKNOWN
    assert what in snap.fetch.notes[0].lower()


def test_a_product_page_loading_a_captcha_script_is_not_blocked() -> None:
    html = (
        '<html><head><script>var captcha = "recaptcha"; loadCaptcha();</script>'
        '<script type="application/ld+json">{"@type":"Product","name":"Pan",'
        '"offers":{"price":"20","priceCurrency":"EUR"}}</script></head>'
        '<body><h1>Pan</h1><form class="review"><div class="g-recaptcha"></div></form>'
        "</body></html>"
    )
    snap = extract(html, "https://shop.example/p")
    assert snap.fetch.status is FetchStatus.OK
    assert snap.title == "Pan"


@pytest.mark.parametrize(
    "garbage",
    [b"", b"   \n", "", b"%PDF-1.7 \x00\x01", b"\x89PNG\r\n\x1a\n\x00", bytes(range(256)) * 4],
)
def test_input_that_is_not_html_raises_page_error(garbage: str | bytes) -> None:
    with pytest.raises(PageError):
        extract(garbage, "https://example.com/")


@pytest.mark.parametrize(
    "odd",
    [
        "just some text",
        "<<<>>>",
        "<html><body><div>unclosed",
        "é" * 10,
        b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00",
        "x" * 10_000_000,
    ],
)
def test_odd_text_gives_an_empty_snapshot_not_an_exception(odd: str | bytes) -> None:
    snap = extract(odd, "https://example.com/")
    assert snap.price is None
    assert not has_product_data(snap)


def test_js_shell_is_recognised_and_a_product_page_is_not() -> None:
    shell = (
        '<html><head><script src="/app.js"></script></head><body><div id="root"></div>'
        "<noscript>You need to enable JavaScript to run this app.</noscript></body></html>"
    )
    assert looks_like_js_shell(load_page(shell, "https://shop.example/p"))
    product = (
        '<html><head><script type="application/ld+json">{"@type":"Product","name":"A"}</script>'
        '</head><body><div id="root"><h1>A</h1></div></body></html>'
    )
    assert not looks_like_js_shell(load_page(product, "https://shop.example/p"))


def test_has_product_data() -> None:
    html = (
        '<html><body><h1>Pan</h1><span class="price">$20.00</span>'
        '<button class="add-to-cart">Add to cart</button></body></html>'
    )
    assert has_product_data(extract(html, "https://shop.example/p"))
