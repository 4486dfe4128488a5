"""The demo catalog: invented products, and their price and stock at any moment.

Everything derives from the seed: the same seed gives the same products, and the same seed
and time bucket give the same price, stock and page bytes. Time is cut into buckets of
`period` seconds; within a bucket nothing changes.
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pricewatch.demo.categories import CATEGORIES, Category, describe, invent
from pricewatch.demo.locales import LOCALES, Locale
from pricewatch.demo.randomness import charm_price, gtin13, seeded_rng, unit_interval
from pricewatch.domain import Availability, Money

Clock = Callable[[], float]

DEFAULT_PRODUCT_COUNT = 240
DEFAULT_PERIOD = 3600.0
IMAGES_PER_PRODUCT = 3
RELATED_PER_PRODUCT = 6


class PageKind(StrEnum):
    """How a product page carries its price: the markup an extractor has to read."""

    JSONLD = "jsonld"
    JSONLD_AGGREGATE = "jsonld_aggregate"
    JSONLD_GROUP = "jsonld_group"
    JSONLD_PRICE_SPEC = "jsonld_price_spec"
    MICRODATA = "microdata"
    AMAZON_LIKE = "amazon_like"
    OPENGRAPH = "opengraph"
    PLAIN = "plain"
    JS_RENDERED = "js_rendered"
    CAROUSEL_FIRST = "carousel_first"
    STOCK_CONFLICT = "stock_conflict"


#: Product i has kind KIND_ORDER[i % len(KIND_ORDER)], so any 11 consecutive ids cover all kinds.
KIND_ORDER: tuple[PageKind, ...] = tuple(PageKind)


@dataclass(frozen=True, slots=True)
class Variant:
    """One purchasable variant of a product (JSON-LD ProductGroup pages show them)."""

    sku: str
    label: str
    factor: Decimal


@dataclass(frozen=True, slots=True)
class Product:
    """A product of the demo shop: fixed facts (the price lives in `Catalog.state`)."""

    id: int
    sku: str
    name: str
    slug: str
    brand: str
    model: str
    category: Category
    kind: PageKind
    locale: Locale
    url_path: str
    gtin: str
    base_price: Decimal
    price_ending: int
    description: tuple[str, ...]
    specs: tuple[tuple[str, str], ...]
    image_paths: tuple[str, ...]
    rating: Decimal
    review_count: int
    variant_axis: str
    variants: tuple[Variant, ...]
    related: tuple[int, ...]
    flavor: int

    @property
    def currency(self) -> str:
        """ISO 4217 code of the prices on this product's page."""
        return self.locale.currency


@dataclass(frozen=True, slots=True)
class OfferState:
    """What the product page shows at one moment: the values an extractor should read."""

    price: Decimal
    currency: str
    availability: Availability
    was_price: Decimal | None
    stock_left: int | None
    bucket: int

    @property
    def money(self) -> Money:
        """The price as domain `Money`."""
        return Money(amount=self.price, currency=self.currency)

    @property
    def in_stock(self) -> bool:
        """True when the page offers the product for sale."""
        return self.availability is Availability.IN_STOCK


def slugify(text: str, *, keep_case: bool = False) -> str:
    """ASCII words joined by hyphens, as shops put product names in URLs."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-")
    return slug if keep_case else slug.lower()


def _kind_of(product_id: int) -> PageKind:
    """Kinds rotate with the id so every stretch of the catalog has all of them."""
    return KIND_ORDER[product_id % len(KIND_ORDER)]


def _locale_of(product_id: int) -> Locale:
    """Blocks of eleven ids (one of each kind) share a storefront; blocks rotate locales."""
    return LOCALES[(product_id // len(KIND_ORDER)) % len(LOCALES)]


def _category_of(product_id: int) -> Category:
    """Categories rotate with the id (5 and 11 are coprime, so kinds meet every category)."""
    return CATEGORIES[product_id % len(CATEGORIES)]


def _related_ids(product_id: int, *, count: int) -> tuple[int, ...]:
    """Other products of the same storefront, so a carousel shows prices in the same currency."""
    block = len(KIND_ORDER)
    same_locale = len(KIND_ORDER) * len(LOCALES)
    start = product_id - product_id % block
    candidates = [
        *range(start, start + block),
        *range(start + same_locale, start + same_locale + block),
    ]
    picked = [i for i in candidates if i != product_id and i < count]
    if len(picked) < RELATED_PER_PRODUCT:
        # Small catalogs: fall back to whatever else exists.
        picked += [i for i in range(count) if i != product_id and i not in picked]
    return tuple(picked[:RELATED_PER_PRODUCT])


def _asin(seed: int, product_id: int, taken: set[str]) -> str:
    """A ten-character Amazon-style id ("B0" and eight base-36 characters), unique here."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    salt = 0
    while True:
        value = int(unit_interval(seed, product_id, "asin", salt) * 36**8)
        chars = "".join(alphabet[(value // 36**i) % 36] for i in range(8))
        asin = "B0" + chars
        if asin not in taken:
            taken.add(asin)
            return asin
        salt += 1


def _base_price(category: Category, *, seed: int, product_id: int) -> Decimal:
    """A launch price spread log-uniformly over the category's range."""
    low, high = category.price_range
    u = unit_interval(seed, product_id, "base")
    return Decimal(str(round(math.exp(math.log(low) + u * (math.log(high) - math.log(low))), 2)))


def _build_product(product_id: int, *, seed: int, count: int, asins: set[str]) -> Product:
    """Invent product `product_id` from the seed."""
    rng = seeded_rng(seed, "product", product_id)
    kind = _kind_of(product_id)
    locale = _locale_of(product_id)
    category = _category_of(product_id)
    details = invent(category, rng=rng, locale=locale)
    if kind is PageKind.AMAZON_LIKE:
        sku = _asin(seed, product_id, asins)
        slug = slugify(" ".join(details.name.split()[:7]), keep_case=True)
        url_path = f"{locale.path_prefix}/{slug}/dp/{sku}"
    else:
        sku = f"{category.sku_prefix}-{product_id:05d}"
        slug = slugify(details.name)
        url_path = f"{locale.path_prefix}/p/{slug}-{sku.lower()}"
    # ISBN-13 for books; other goods use the GS1 2xx range, reserved for in-store numbering,
    # so no invented code collides with a real product.
    prefix = "978" if category.slug == "books" else f"2{rng.randint(0, 99):02d}"
    gtin = gtin13(prefix + "".join(str(rng.randint(0, 9)) for _ in range(12 - len(prefix))))
    ending = rng.choice((99, 99, 95, 90, 0) if category.slug == "books" else (99, 99, 90, 0, 50))
    variants = tuple(
        Variant(sku=f"{sku}-{i + 1}", label=lab, factor=factor)
        for i, (lab, factor) in enumerate(
            zip(details.variant_labels, details.variant_factors, strict=True)
        )
    )
    return Product(
        id=product_id,
        sku=sku,
        name=details.name,
        slug=slug,
        brand=details.brand,
        model=details.model,
        category=category,
        kind=kind,
        locale=locale,
        url_path=url_path,
        gtin=gtin,
        base_price=_base_price(category, seed=seed, product_id=product_id),
        price_ending=ending,
        description=describe(category, details, locale=locale),
        specs=details.specs,
        image_paths=tuple(f"/img/{sku.lower()}-{n}.png" for n in range(1, IMAGES_PER_PRODUCT + 1)),
        rating=Decimal(f"{rng.uniform(3.2, 4.9):.1f}"),
        review_count=int(rng.random() ** 2 * 4000),
        variant_axis=details.variant_axis,
        variants=variants,
        related=_related_ids(product_id, count=count),
        flavor=product_id // len(KIND_ORDER),
    )


def _epoch_seconds(at: float | datetime) -> float:
    """Seconds since the epoch for a float or an aware datetime."""
    return at.timestamp() if isinstance(at, datetime) else float(at)


def _fraction(value: float, *, places: int = 3) -> Decimal:
    """A float rounded to an exact decimal, so price arithmetic stays in Decimal."""
    return Decimal(str(round(value, places)))


class Catalog:
    """All products of one demo shop, and their state at any moment."""

    def __init__(
        self,
        *,
        seed: int = 0,
        product_count: int = DEFAULT_PRODUCT_COUNT,
        period: float = DEFAULT_PERIOD,
        clock: Clock = time.time,
    ) -> None:
        if product_count < 1:
            raise ValueError(f"product_count must be at least 1, got {product_count}")
        if not period > 0:
            raise ValueError(f"period must be positive, got {period}")
        self.seed = seed
        self.period = float(period)
        self.clock = clock
        self.categories: tuple[Category, ...] = CATEGORIES
        asins: set[str] = set()
        self.products: tuple[Product, ...] = tuple(
            _build_product(i, seed=seed, count=product_count, asins=asins)
            for i in range(product_count)
        )
        self._by_path = {p.url_path: p for p in self.products}
        self._by_sku = {p.sku: p for p in self.products}
        self._by_category = {
            c.slug: tuple(p for p in self.products if p.category is c) for c in CATEGORIES
        }
        self._search_names = [(p.name.casefold(), p) for p in self.products]

    def __len__(self) -> int:
        return len(self.products)

    def by_path(self, path: str) -> Product | None:
        """The product whose page lives at `path` (no query string), if any."""
        return self._by_path.get(path)

    def by_sku(self, sku: str) -> Product | None:
        """The product with this SKU (or ASIN), if any."""
        return self._by_sku.get(sku)

    def category(self, slug: str) -> Category | None:
        """The category with this URL slug, if any."""
        return next((c for c in self.categories if c.slug == slug), None)

    def in_category(self, slug: str) -> tuple[Product, ...]:
        """Products of one category in id order (empty for an unknown slug)."""
        return self._by_category.get(slug, ())

    def of_kind(self, kind: PageKind) -> tuple[Product, ...]:
        """Products whose pages use markup `kind`, in id order."""
        return tuple(p for p in self.products if p.kind is kind)

    def search(self, query: str) -> list[Product]:
        """Products whose name contains `query`, ignoring case."""
        needle = query.strip().casefold()
        if not needle:
            return []
        return [p for name, p in self._search_names if needle in name]

    def sample(self, count: int, *, kinds: Iterable[PageKind] | None = None) -> list[Product]:
        """`count` products taking each wanted kind in turn (ids ascending within a kind)."""
        wanted = tuple(kinds) if kinds is not None else KIND_ORDER
        queues = [list(self.of_kind(k)) for k in wanted]
        picked: list[Product] = []
        while len(picked) < count and any(queues):
            for queue in queues:
                if queue and len(picked) < count:
                    picked.append(queue.pop(0))
        return picked

    def now(self) -> float:
        """The shop's current time, from its clock."""
        return self.clock()

    def bucket(self, *, at: float | datetime | None = None) -> int:
        """Index of the time bucket containing `at` (default: now)."""
        return math.floor(_epoch_seconds(self.now() if at is None else at) / self.period)

    def state(self, product: Product, *, at: float | datetime | None = None) -> OfferState:
        """Price, currency and availability that `product`'s page shows at `at` (default now)."""
        bucket = self.bucket(at=at)
        seed, pid, ending = self.seed, product.id, product.price_ending
        # Slow drift of the regular price: one level per 24 buckets (a day at the default period).
        drift = _fraction(0.92 + 0.14 * unit_interval(seed, pid, "drift", bucket // 24))
        regular = charm_price(product.base_price * drift, ending=ending)
        price, was = regular, None
        # Sales last three buckets and show the regular price crossed out.
        window = bucket // 3
        if unit_interval(seed, pid, "sale", window) < 0.15:
            depth = _fraction(0.05 + 0.25 * unit_interval(seed, pid, "depth", window), places=2)
            price = charm_price(regular * (1 - depth), ending=ending)
            was = regular if price < regular else None
        elif unit_interval(seed, pid, "rise", bucket) < 0.10:
            bump = _fraction(0.02 + 0.10 * unit_interval(seed, pid, "bump", bucket), places=2)
            price = charm_price(regular * (1 + bump), ending=ending)
        # Out-of-stock spells last four buckets; the stock-conflict pages are always sold out.
        sold_out = (
            product.kind is PageKind.STOCK_CONFLICT
            or unit_interval(seed, pid, "stock", bucket // 4) < 0.08
        )
        left = None
        if not sold_out and unit_interval(seed, pid, "low", bucket) < 0.10:
            left = 1 + int(9 * unit_interval(seed, pid, "left", bucket))
        return OfferState(
            price=price,
            currency=product.currency,
            availability=Availability.OUT_OF_STOCK if sold_out else Availability.IN_STOCK,
            was_price=was,
            stock_left=left,
            bucket=bucket,
        )

    def variant_prices(self, product: Product, state: OfferState) -> tuple[Decimal, ...]:
        """Prices of `product.variants` in order; the first (default) one is `state.price`."""
        return tuple(
            state.price
            if v.factor == 1
            else charm_price(state.price * v.factor, ending=product.price_ending)
            for v in product.variants
        )

    def related(self, product: Product) -> list[Product]:
        """The products shown next to `product` in carousels."""
        return [self.products[i] for i in product.related]
