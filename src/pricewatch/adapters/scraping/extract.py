"""`extract(html, url) -> ProductSnapshot`: store adapter first, then the generic layers.

Layers, in order: the matching store adapter, JSON-LD, microdata, OpenGraph, embedded app state
(only when no price was found yet), the analytics data layer, DOM heuristics. Each fills only
what the earlier ones left empty (`Fields.fill_from`), and the last ones run only while a field
they can fill is empty. One exception to "earlier wins": the visible buy box beats the stock
claim of structured data when it clearly says otherwise. Block and
captcha pages are recognised first and never yield a price or a stock state.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import lxml.etree

from pricewatch.adapters.scraping.blocked import detect_block
from pricewatch.adapters.scraping.fields import Fields
from pricewatch.adapters.scraping.generic import (
    appstate,
    datalayer,
    fromprice,
    heuristics,
    jsonld,
    microdata,
    opengraph,
)
from pricewatch.adapters.scraping.generic.amount import default_currency
from pricewatch.adapters.scraping.generic.schema import PageHints
from pricewatch.adapters.scraping.generic.urlid import reference_from_url
from pricewatch.adapters.scraping.page import Page, PageError, load_page, visible_text
from pricewatch.adapters.scraping.stores import StoreAdapter, adapter_for
from pricewatch.domain.snapshot import (
    Availability,
    FetchInfo,
    FetchMethod,
    FetchStatus,
    ProductSnapshot,
)

__all__ = [
    "PageError",
    "extract",
    "extract_page",
    "has_product_data",
    "looks_like_js_shell",
]

Layer = Callable[[Page], Fields]

_APP_ROOTS = lxml.etree.XPath(
    "//body//*[@id='root' or @id='app' or @id='__next' or @id='__nuxt' or @id='___gatsby'"
    " or @id='svelte' or @data-reactroot or @ng-version or @id='main-app']"
)
_NOSCRIPT_JS = re.compile(
    r"enable javascript|javascript (?:is )?(?:required|disabled)|activer javascript"
    r"|javascript aktivieren|habilita javascript|attiva javascript",
    re.I,
)
_ISO_CODE = re.compile(r"^[A-Z]{3}$")
# A shell shows almost no text but ships a lot of script.
_SHELL_MAX_TEXT = 1_500
_SHELL_MIN_SCRIPT_SHARE = 0.3


def extract(html: str | bytes, url: str, *, content_type: str | None = None) -> ProductSnapshot:
    """Read a product page into a snapshot. Pure: no network, no disk.

    Never raises for odd input except `PageError`, for input that is not HTML at all (empty
    or whitespace-only, or binary data such as a PDF or an image). Everything else, including
    plain text and pages with broken markup or broken JSON-LD, gives a snapshot; problems are
    listed in `snapshot.fetch.errors` and what was read from where in `snapshot.fetch.notes`.
    """
    page = load_page(html, url, content_type=content_type)
    return extract_page(page)


def extract_page(page: Page, *, method: FetchMethod = FetchMethod.HTTP) -> ProductSnapshot:
    """Read an already parsed page into a snapshot."""
    adapter = adapter_for(page)
    source = adapter.name if adapter else page.host
    if (block := detect_block(page)) is not None:
        return _blocked_snapshot(page, source=source, what=block, method=method)
    merged, used, priced_by = _merge_layers(page, adapter=adapter)
    if priced_by is not None:
        _apply_from_price(page, merged, priced_by)
    if adapter is None or adapter.name not in used or merged.availability is None:
        # A store adapter reads its own site's stock; the generic buy-box rule is for the rest.
        _prefer_visible_stock(page, merged)
    if adapter is None or adapter.name not in used or merged.title is None:
        merged.title = heuristics.best_title(page, structured=merged.title)
    _settle_defaults(page, merged)
    if merged.currency is None and merged.price is not None:
        merged.currency = default_currency(page)
    if merged.currency is not None and not _ISO_CODE.match(merged.currency):
        merged.errors.append(f"currency {merged.currency!r} is not an ISO 4217 code; dropped")
        merged.currency = None
    merged.notes.insert(0, "layers: " + (", ".join(used) or "none"))
    return _snapshot(page, merged, source=source, method=method)


def has_product_data(snapshot: ProductSnapshot) -> bool:
    """True when the snapshot identifies or prices a product (a bare page title does not)."""
    return any(
        (
            snapshot.price is not None,
            snapshot.reference is not None,
            snapshot.gtin is not None,
            snapshot.availability is not Availability.UNKNOWN,
        )
    )


def looks_like_js_shell(page: Page) -> bool:
    """True when the page is a JavaScript app shell to render in a browser before reading.

    That is: no product markup, little visible text, and either an app root element
    (#root, #app, #__next, ...), a `<noscript>` asking for JavaScript, or mostly script bytes.
    """
    if _has_product_markup(page):
        return False
    body = page.tree.find("body")
    text = visible_text(body) if body is not None else ""
    if len(text) > _SHELL_MAX_TEXT:
        return False
    script_bytes = sum(len(s.text or "") for s in page.elements("script"))
    noscript = any(_NOSCRIPT_JS.search(n.text_content() or "") for n in page.tree.iter("noscript"))
    return (
        bool(_APP_ROOTS(page.tree))
        or noscript
        or script_bytes > _SHELL_MIN_SCRIPT_SHARE * len(page.text)
    )


@dataclass(frozen=True)
class _NamedLayer:
    name: str
    read: Layer
    #: Run only while one of these fields is still empty (None: always run).
    fills: tuple[str, ...] | None = None


# The fields the cheap last layers can add; once they are known those layers are skipped.
_APP_STATE_FILLS = ("price",)
_DATALAYER_FILLS = ("reference", "brand")
_HEURISTICS_FILLS = ("price", "currency", "availability")


def _layers(page: Page, *, adapter: StoreAdapter | None) -> list[_NamedLayer]:
    """The layers to run on `page`, best source first."""
    hints = PageHints.of(page)
    layers = [] if adapter is None else [_NamedLayer(adapter.name, adapter.parse)]
    return [
        *layers,
        _NamedLayer(jsonld.NAME, lambda p: jsonld.parse(p, hints=hints)),
        _NamedLayer(microdata.NAME, lambda p: microdata.parse(p, hints=hints)),
        _NamedLayer(opengraph.NAME, opengraph.parse),
        # Embedded app JSON is large: parsed only for pages whose markup shows no price.
        _NamedLayer(appstate.NAME, lambda p: appstate.parse(p, hints=hints), _APP_STATE_FILLS),
        _NamedLayer(datalayer.NAME, datalayer.parse, _DATALAYER_FILLS),
        _NamedLayer(heuristics.NAME, heuristics.parse, _HEURISTICS_FILLS),
    ]


def _merge_layers(
    page: Page, *, adapter: StoreAdapter | None
) -> tuple[Fields, list[str], tuple[str, Fields] | None]:
    """All layers merged, earlier ones winning per field; later ones skipped once complete.

    Also returns the layer the price came from, with what it found.
    """
    merged, used = Fields(), []
    priced_by: tuple[str, Fields] | None = None
    for layer in _layers(page, adapter=adapter):
        if _complete(merged):
            break
        if layer.fills is not None and all(getattr(merged, f) is not None for f in layer.fills):
            continue  # it could only fill fields that are already known
        try:
            found = layer.read(page)
        except Exception as exc:
            merged.errors.append(f"{layer.name}: {type(exc).__name__}: {exc}")
            continue
        if not found.is_empty():
            used.append(layer.name)
        if merged.price is None and found.price is not None:
            priced_by = (layer.name, found)
        merged.fill_from(found)
    return merged, used, priced_by


# Layers whose price is one structured offer, which may be one variant's.
_OFFER_LAYERS = frozenset({jsonld.NAME, microdata.NAME, opengraph.NAME})


def _apply_from_price(page: Page, merged: Fields, priced_by: tuple[str, Fields]) -> None:
    """Price a multi-variant product with no variant selected at its "from" price, when the
    page says it shows one (see `fromprice`)."""
    name, found = priced_by
    if name not in _OFFER_LAYERS or merged.price is None:
        return
    identifiers = tuple(v for v in (found.reference, found.gtin) if v)
    try:
        lowest = fromprice.from_price(
            page,
            price=merged.price,
            identifiers=identifiers,
            region=lambda: heuristics.buy_box_region(page),
        )
    except Exception as exc:
        merged.errors.append(f"from price: {type(exc).__name__}: {exc}")
        return
    if lowest is not None:
        merged.notes.append(
            f"from price {lowest} shown for a product with variants ({name}: {merged.price})"
        )
        merged.price = lowest


def _complete(fields: Fields) -> bool:
    """True when later layers could add nothing that matters."""
    return all(
        getattr(fields, name) is not None
        for name in ("title", "price", "currency", "availability", "reference")
    ) and bool(fields.images)


def _prefer_visible_stock(page: Page, merged: Fields) -> None:
    """The visible buy box beats structured data when it clearly says otherwise."""
    if merged.availability is Availability.PREORDER:
        return
    try:
        visible = heuristics.buy_box_availability(page)
    except Exception as exc:
        merged.errors.append(f"buy box: {type(exc).__name__}: {exc}")
        return
    if visible is Availability.OUT_OF_STOCK and merged.availability is not visible:
        if merged.availability is Availability.IN_STOCK:
            merged.notes.append("buy box says out of stock; structured data said in stock")
        merged.availability = visible
    elif visible is Availability.IN_STOCK and merged.availability is Availability.OUT_OF_STOCK:
        merged.notes.append("buy box says in stock; structured data said out of stock")
        merged.availability = visible


def _settle_defaults(page: Page, merged: Fields) -> None:
    """Fall back to the weaker reference, and to in stock for a listed price with no stock word."""
    if merged.reference is None:
        # An id the page shows under a label ("Item number", "SKU") beats one guessed from the URL.
        merged.reference = (
            heuristics.labelled_reference(page)
            or reference_from_url(page)
            or heuristics.button_reference(page)
            or merged.weak_reference
        )
    if merged.availability is None and merged.price is not None:
        # A shop that lists a price and shows no stock-out sells the product.
        merged.availability = Availability.IN_STOCK
        merged.notes.append("availability: in stock assumed (price listed, no stock-out shown)")


def _has_product_markup(page: Page) -> bool:
    """True when the page carries structured product data of any kind."""
    text = page.text
    return (
        "schema.org/Product" in text
        or "product:price" in text
        or "og:price" in text
        or any("product" in str(obj.get("@type", "")).lower() for obj in page.json_ld)
    )


def _blocked_snapshot(
    page: Page, *, source: str, what: str, method: FetchMethod
) -> ProductSnapshot:
    """A snapshot that says the page is a bot wall: no price, stock unknown."""
    return ProductSnapshot(
        source=source,
        url=page.url,
        fetch=FetchInfo(
            method=method,
            status=FetchStatus.BLOCKED,
            html_size_bytes=page.size_bytes,
            notes=(f"blocked: {what}",),
        ),
    )


def _snapshot(page: Page, fields: Fields, *, source: str, method: FetchMethod) -> ProductSnapshot:
    """The snapshot for merged `fields`."""
    return ProductSnapshot(
        source=source,
        reference=fields.reference,
        url=page.url,
        title=fields.title,
        price=fields.price,
        currency=fields.currency,
        shipping_cost=fields.shipping_cost,
        availability=fields.availability or Availability.UNKNOWN,
        brand=fields.brand,
        gtin=fields.gtin,
        category=fields.category,
        images=tuple(fields.images),
        specs=fields.specs,
        fetch=FetchInfo(
            method=method,
            status=FetchStatus.OK,
            html_size_bytes=page.size_bytes,
            errors=tuple(fields.errors),
            notes=tuple(fields.notes),
        ),
    )
