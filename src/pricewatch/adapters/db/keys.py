"""Natural keys of products: `(source, reference)`, with a URL-derived reference when none is known.

A snapshot without a reference gets `url:<sha256 of the normalised URL>` (scheme and host
lower-cased, default port, fragment, trailing slash and tracking parameters dropped, remaining
query parameters sorted), so re-reading the same page finds the same product. Values longer than
the columns are shortened with a hash suffix, never truncated into a collision.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pricewatch.domain.snapshot import ProductSnapshot

SOURCE_LENGTH = 64
REFERENCE_LENGTH = 255
URL_REFERENCE_PREFIX = "url:"
_TRACKING_PARAMS = frozenset(
    {"gclid", "fbclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "srsltid"}
)


class ProductKey(NamedTuple):
    """A product's natural key (a tuple: sorting many of them stays cheap)."""

    source: str
    reference: str


def normalise_url(url: str) -> str:
    """The URL in a canonical form for identity: see the module docstring."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    default_port = (scheme, parts.port) in (("http", 80), ("https", 443))
    netloc = host if parts.port is None or default_port else f"{host}:{parts.port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def natural_key(snapshot: ProductSnapshot) -> ProductKey:
    """The (source, reference) a snapshot is stored under."""
    reference = (snapshot.reference or "").strip()
    if not reference:
        reference = URL_REFERENCE_PREFIX + _digest(normalise_url(snapshot.url), 40)
    source = _fit(snapshot.source.strip(), SOURCE_LENGTH)
    return ProductKey(source, _fit(reference, REFERENCE_LENGTH))


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _fit(text: str, limit: int) -> str:
    """`text` if it fits `limit` characters, else a prefix plus a hash of the whole."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 17]}~{_digest(text, 16)}"
