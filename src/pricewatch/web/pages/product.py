"""A product's page (/products/{id}): price, chart, statistics, images, specs, scrape log, and
its schedule (check now, enable/disable, interval, delete). `static/chart.js` draws the chart
from /api/products/{id}/history; `static/product.js` runs the buttons and the schedule form.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pricewatch.services import catalog
from pricewatch.services.jobs import SessionFactory
from pricewatch.web.deps import Context, PageUser
from pricewatch.web.pages.render import not_found, page, parse_id

router = APIRouter()

#: Fetch attempts the page lists.
LOG_ENTRIES = 15
#: Check intervals offered (hours); the product's own is added when it is another.
INTERVAL_HOURS = (1, 3, 6, 12, 24, 48, 168)


@dataclass(frozen=True)
class ProductView:
    """Everything the product page shows."""

    detail: catalog.ProductDetail
    log: list[catalog.LogEntry]

    @property
    def interval_hours(self) -> list[float]:
        """The interval choices, the product's own among them."""
        own = self.detail.item.product.check_interval / 3600
        return sorted({float(h) for h in INTERVAL_HOURS} | {own})


@router.get("/products/{product_id}", response_class=HTMLResponse)
async def product_page(
    product_id: str, request: Request, context: Context, user: PageUser
) -> HTMLResponse:
    """One product; a 404 page when there is none."""
    number = parse_id(product_id)
    found = None if number is None else await anyio.to_thread.run_sync(_load, context.reads, number)
    if found is None:
        return not_found(context, request, user, f"product {product_id}")
    return page(context, request, user, "product.html", {"v": found})


def _load(sessions: SessionFactory, product_id: int) -> ProductView | None:
    try:
        detail = catalog.get_product(sessions=sessions, product_id=product_id)
        log = catalog.scrape_log(sessions=sessions, product_id=product_id, limit=LOG_ENTRIES)
    except catalog.ProductNotFoundError:
        return None
    return ProductView(detail, log)
