"""Pages that make fetchers earn their keep: robot check, garbage bytes, a huge streamed page."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pricewatch.demo.layout import esc
from pricewatch.demo.randomness import seeded_rng

HUGE_CHUNK_SIZE = 64 * 1024
_HUGE_MARKER = "</main>"


def captcha_page(*, base: str) -> str:
    """A marketplace robot check: no product, a captcha image and a form to type it into."""
    return (
        "<!doctype html>\n"
        '<html lang="en" class="a-no-js">\n<head>\n<meta charset="utf-8">\n'
        "<title>Demo Marketplace</title>\n"
        '<meta name="robots" content="noindex,nofollow">\n</head>\n<body>\n'
        '<div class="a-container a-padding-double-large">\n'
        '<div class="a-row a-spacing-double-large"><div class="a-box a-alert a-alert-info">'
        '<div class="a-box-inner"><h4>Enter the characters you see below</h4>'
        '<p class="a-last">Sorry, we just need to make sure you\'re not a robot. For best '
        "results, please make sure your browser is accepting cookies.</p></div></div></div>\n"
        f'<form method="get" action="{base}/errors/validateCaptcha" name="">'
        '<input type="hidden" name="amzn" value="demo-shop-check">'
        f'<div class="a-row a-text-center"><img src="{base}/img/captcha.png" alt="captcha"></div>'
        '<div class="a-row"><label for="captchacharacters">Type the characters you see in this '
        'image:</label><input autocomplete="off" spellcheck="false" placeholder="Type characters" '
        'id="captchacharacters" name="field-keywords" type="text"></div>'
        '<div class="a-row"><button type="submit" class="a-button-text">Continue shopping'
        "</button></div></form>\n"
        f'<p class="a-size-mini">© Demo Marketplace · <a href="{base}/">Home</a></p>\n'
        "</div>\n</body>\n</html>\n"
    )


def garbage_bytes(*, seed: int, size: int) -> bytes:
    """`size` bytes of noise (NULs, invalid UTF-8) that a server wrongly labels text/html."""
    rng = seeded_rng(seed, "garbage")
    # A PNG-like magic number first: what a misconfigured server really sends by mistake.
    return (b"\x89PNG\r\n\x1a\n\x00\x00" + rng.randbytes(max(0, size)))[:size]


def solid_png(*, width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid PNG of one colour: the placeholder product image."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        """One PNG chunk with its length and CRC."""
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True, slots=True)
class StreamedBody:
    """A response body produced chunk by chunk, with its exact length known up front."""

    length: int
    chunks: Callable[[], Iterator[bytes]]


def huge_page(html: str, *, size: int, should_stop: Callable[[], bool]) -> StreamedBody:
    """`html` padded with review blocks to `size` bytes, streamed so it is never built whole.

    The real content (title, price) stays at the top; the padding goes before `</main>`.
    """
    cut = html.find(_HUGE_MARKER)
    cut = cut if cut >= 0 else len(html)
    head, tail = html[:cut].encode(), html[cut:].encode()
    filler = max(0, size - len(head) - len(tail))
    block = (
        '<div class="review"><p class="review__author">Verified buyer</p><p>'
        + esc("Works as described. " * 6)
        + "</p></div>\n"
    ).encode()
    full_chunk = block * max(1, HUGE_CHUNK_SIZE // len(block))

    def chunks() -> Iterator[bytes]:
        """Head, whole filler chunks, a whitespace remainder, then the tail."""
        yield head
        left = filler
        while left >= len(full_chunk):
            if should_stop():
                return
            yield full_chunk
            left -= len(full_chunk)
        whole_blocks, spaces = divmod(left, len(block))
        yield block * whole_blocks + b" " * spaces
        yield tail

    return StreamedBody(length=len(head) + filler + len(tail), chunks=chunks)
