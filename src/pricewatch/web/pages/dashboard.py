"""The dashboard (/): tracked products with price, change, stock, last check and a sparkline;
search, filter, sort and pages through the query string; the "add products" form.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, get_args
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pricewatch.domain.snapshot import Availability
from pricewatch.services import catalog
from pricewatch.services.jobs import SessionFactory
from pricewatch.web.deps import Context, PageUser
from pricewatch.web.pages.render import page

router = APIRouter()

#: Products per page of the dashboard.
PAGE_SIZE = 25
#: Days a sparkline covers.
SPARKLINE_DAYS = 30
#: Longest search text taken from the query string.
MAX_QUERY = 200

SORT_LABELS: dict[str, str] = {
    "last_checked": "Last check",
    "title": "Title",
    "price": "Price",
    "change": "Change",
    "source": "Store",
}
STOCK_LABELS: dict[str, str] = {
    "": "Any stock",
    **{a.value: a.value.replace("_", " ").capitalize() for a in Availability},
}


@dataclass(frozen=True)
class Listing:
    """What the query string asks the dashboard for (bad values fall back to defaults)."""

    q: str = ""
    availability: str = ""
    sort: catalog.SortKey = "last_checked"
    order: catalog.SortOrder = "desc"
    page: int = 1

    @classmethod
    def from_query(cls, params: dict[str, str]) -> Listing:
        """The listing of a request's query parameters."""
        sort = params.get("sort", "")
        order = params.get("order", "")
        stock = params.get("availability", "")
        number = params.get("page", "")
        return cls(
            q=params.get("q", "").strip()[:MAX_QUERY],
            availability=stock if stock in STOCK_LABELS else "",
            sort=sort if sort in get_args(catalog.SortKey) else "last_checked",  # type: ignore[arg-type]
            order=order if order in ("asc", "desc") else _default_order(sort),  # type: ignore[arg-type]
            page=int(number) if number.isdigit() and 0 < int(number) < 100_000 else 1,
        )

    def query(self) -> catalog.ProductQuery:
        """The catalog query for this listing's page."""
        return catalog.ProductQuery(
            q=self.q or None,
            availability=self.availability or None,
            sort=self.sort,
            order=self.order,
            limit=PAGE_SIZE,
            offset=(self.page - 1) * PAGE_SIZE,
        )

    def url(self, **changes: Any) -> str:
        """The dashboard URL of this listing with `changes` (defaults left out)."""
        listing = replace(self, **changes)
        params = {
            "q": listing.q,
            "availability": listing.availability,
            "sort": "" if listing.sort == "last_checked" else listing.sort,
            "order": "" if listing.order == _default_order(listing.sort) else listing.order,
            "page": "" if listing.page == 1 else str(listing.page),
        }
        query = urlencode({k: v for k, v in params.items() if v})
        return f"/?{query}" if query else "/"

    def sort_url(self, key: str) -> str:
        """Sorting by `key`: its default order first, the other order when already sorted so."""
        if key == self.sort:
            return self.url(order="asc" if self.order == "desc" else "desc", page=1)
        return self.url(sort=key, order=_default_order(key), page=1)

    def aria_sort(self, key: str) -> str | None:
        """The aria-sort value of the column `key`."""
        if key != self.sort:
            return None
        return "ascending" if self.order == "asc" else "descending"


def _default_order(sort: str) -> str:
    return "asc" if sort in ("title", "source", "price", "change") else "desc"


@dataclass(frozen=True)
class Row:
    """A dashboard row: the product, its sparkline prices and its thumbnail."""

    item: catalog.ProductItem
    sparkline: list[Decimal]
    image: str | None


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, context: Context, user: PageUser) -> HTMLResponse:
    """The tracked products, and the form to add more."""
    listing = Listing.from_query(dict(request.query_params))
    products, rows = await anyio.to_thread.run_sync(_rows, context.reads, listing)
    pages = max(1, -(-products.total // PAGE_SIZE))
    values = {
        "listing": listing,
        "rows": rows,
        "total": products.total,
        "pages": pages,
        "first": products.offset + 1 if rows else 0,
        "last": products.offset + len(rows),
        "sort_labels": SORT_LABELS,
        "stock_labels": STOCK_LABELS,
        "filtered": bool(listing.q or listing.availability),
    }
    return page(context, request, user, "dashboard.html", values)


def _rows(sessions: SessionFactory, listing: Listing) -> tuple[catalog.ProductPage, list[Row]]:
    products = catalog.list_products(sessions=sessions, query=listing.query())
    ids = [item.product.id for item in products.items]
    lines = catalog.sparklines(sessions=sessions, product_ids=ids, days=SPARKLINE_DAYS)
    images = catalog.main_images(sessions=sessions, product_ids=ids)
    rows = [
        Row(item, lines.get(item.product.id, []), images.get(item.product.id))
        for item in products.items
    ]
    return products, rows
