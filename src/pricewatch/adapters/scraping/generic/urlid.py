"""The shop's product number as it appears in the page's canonical URL.

Used only when no SKU was found in the page's data: product URLs usually end in, or name, the
shop's own id (`/listing/279237258/...`, `/p/33770/`, `...-p-3390771`, `...-1255714.html`,
`?articleId=23141`).
"""

from __future__ import annotations

import itertools
import re
from urllib.parse import parse_qsl, unquote, urlsplit

from pricewatch.adapters.scraping.page import Page

_ID_PARAMETERS = ("articleid", "productid", "product_id", "itemid", "item_id", "pid", "sku", "id")
# Path words after which the next segment is the product id.
_ID_AFTER = frozenset(
    {
        "p",
        "dp",
        "gp",
        "product",
        "products",
        "listing",
        "listings",
        "item",
        "itm",
        "pd",
        "produkt",
        "artikel",
        "prod",
        "sku",
    }
)
_ID = re.compile(r"^(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9][A-Za-z0-9_-]{3,40}$")
# slug-p-12345, slug-pm-HB00012, slug-12345.html, slug-0791265p.html, prod-500787340.aspx
_SLUG_ID = (
    re.compile(r"-p-([A-Za-z0-9]{4,})$"),
    re.compile(r"(?:^|[-_])(\d{5,})p?(?:\.[a-z]{2,5})?$"),
    re.compile(r"-([a-z]{0,4}\d[a-z0-9]{4,})$"),
)


def reference_from_url(page: Page) -> str | None:
    """The product id in the canonical URL (else og:url, else the page URL), or None."""
    for url in (page.canonical_url, page.meta.get("og:url"), page.url):
        if url and (found := _id_in(url)):
            return found
    return None


def _id_in(url: str) -> str | None:
    parts = urlsplit(url)
    for key, value in parse_qsl(parts.query):
        if key.lower() in _ID_PARAMETERS and _ID.match(value):
            return value
    segments = [unquote(s) for s in parts.path.split("/") if s]
    for word, following in itertools.pairwise(segments):
        if word.lower() in _ID_AFTER and _ID.match(following):
            return following
    if not segments:
        return None
    last = segments[-1]
    if _ID.match(last) and "-" not in last:
        return last.split(".")[0] if "." in last else last
    for pattern in _SLUG_ID:
        if match := pattern.search(last):
            return match.group(1)
    return None
