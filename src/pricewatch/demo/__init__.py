"""The demo shop: a local web shop with realistic product pages for tests, demos and benchmarks.

It depends on nothing in pricewatch except `pricewatch.domain`. Start it with
`running_demo_shop(...)` (background thread, context manager) or `serve_forever(...)`
(foreground, Ctrl-C stops it); enumerate what to scrape with `shop.catalog`.
"""

from pricewatch.demo.app import ShopOptions
from pricewatch.demo.catalog import Catalog, OfferState, PageKind, Product
from pricewatch.demo.clock import ManualClock
from pricewatch.demo.server import DemoShop, running_demo_shop, serve_forever

__all__ = [
    "Catalog",
    "DemoShop",
    "ManualClock",
    "OfferState",
    "PageKind",
    "Product",
    "ShopOptions",
    "running_demo_shop",
    "serve_forever",
]
