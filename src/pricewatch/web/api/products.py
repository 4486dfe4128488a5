"""/api/products: add pages by URL, list, read, change and delete products, their history."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from pricewatch.domain.snapshot import Availability
from pricewatch.services import catalog
from pricewatch.services.catalog import ProductQuery, SortKey, SortOrder
from pricewatch.web.api.common import (
    AUTHED,
    ProductId,
    add_pages,
    created_jobs,
    responses,
    waiting_message,
)
from pricewatch.web.api.schemas import (
    AddProducts,
    JobCreated,
    JobsCreated,
    LogLine,
    PriceHistory,
    Product,
    ProductList,
    ProductPatch,
    ProductWithDetail,
    QueryTime,
    ScrapeLog,
    history_json,
)
from pricewatch.web.context import WebContext
from pricewatch.web.deps import Context

router = APIRouter(prefix="/products", tags=["products"], responses=AUTHED)

NOT_FOUND = responses(404)


@router.post(
    "",
    status_code=202,
    response_model=JobsCreated,
    summary="Add product pages by URL",
)
async def add_products(body: AddProducts, context: Context) -> JobsCreated:
    """Vet the URLs (http/https, public addresses) and create a scrape job per page.

    Each job checks its page now and schedules the product's next checks. 422 when no URL
    is acceptable; the refused ones are listed with the reason either way.
    """
    return await add_pages(context, body.urls, schedule=True)


@router.get("", response_model=ProductList, summary="List products")
async def list_products(
    context: Context,
    q: Annotated[
        str | None, Query(max_length=200, description="Search title, brand, reference, URL")
    ] = None,
    source: Annotated[str | None, Query(max_length=64)] = None,
    availability: Availability | None = None,
    enabled: bool | None = None,
    sort: SortKey = "last_checked",
    order: SortOrder = "desc",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> ProductList:
    """Products with their latest price, change since the previous one and stock.

    Async, with the database read in one worker thread: a hot path spared the second thread
    hop that FastAPI takes to validate a sync endpoint's answer.
    """
    query = ProductQuery(
        q=_clean(q),
        source=_clean(source),
        availability=availability.value if availability is not None else None,
        enabled=enabled,
        sort=sort,
        order=order,
        limit=limit,
        offset=offset,
    )
    page = await anyio.to_thread.run_sync(
        partial(catalog.list_products, sessions=context.reads, query=query)
    )
    return ProductList(
        items=[Product.of(i) for i in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


def _clean(text: str | None) -> str | None:
    """A search or filter string, NUL characters dropped (no database stores them)."""
    if text is None:
        return None
    return text.replace("\x00", "").strip() or None


@router.get(
    "/{product_id}", response_model=ProductWithDetail, responses=NOT_FOUND, summary="One product"
)
def get_product(product_id: ProductId, context: Context) -> ProductWithDetail:
    """The product with its images, specifications and all-time price statistics."""
    detail = catalog.get_product(sessions=context.reads, product_id=product_id)
    return ProductWithDetail.of_detail(detail)


@router.patch(
    "/{product_id}", response_model=Product, responses=NOT_FOUND, summary="Change a product"
)
def patch_product(product_id: ProductId, body: ProductPatch, context: Context) -> Product:
    """Change how often (hours) and whether the product is checked."""
    hours = body.check_interval_hours
    item = catalog.update_product(
        sessions=context.sessions,
        product_id=product_id,
        check_interval=timedelta(hours=hours) if hours is not None else None,
        enabled=body.enabled,
    )
    return Product.of(item)


@router.delete(
    "/{product_id}",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND,
    summary="Delete a product",
)
def delete_product(product_id: ProductId, context: Context) -> Response:
    """Delete the product and its price history (its scrape log stays, unlinked)."""
    catalog.delete_product(sessions=context.sessions, product_id=product_id)
    return Response(status_code=204)


@router.get(
    "/{product_id}/history",
    response_model=PriceHistory,
    responses=NOT_FOUND,
    summary="Price history",
)
async def get_history(
    product_id: ProductId,
    context: Context,
    start: Annotated[QueryTime | None, Query(alias="from", description="ISO 8601")] = None,
    end: Annotated[QueryTime | None, Query(alias="to", description="ISO 8601, excluded")] = None,
) -> Response:
    """Prices over [from, to) (default: all), one point per day beyond a month, and stats.

    The body is a `PriceHistory`, written without a model per point (see `history_json`).
    """
    body = await anyio.to_thread.run_sync(partial(_history_body, context, product_id, start, end))
    return Response(body, media_type="application/json")


def _history_body(
    context: WebContext, product_id: int, start: datetime | None, end: datetime | None
) -> bytes:
    """The history's JSON (run in a worker thread: it reads the database)."""
    history = catalog.history(sessions=context.reads, product_id=product_id, start=start, end=end)
    return history_json(history)


@router.get(
    "/{product_id}/history.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
        **NOT_FOUND,
    },
    summary="Price history as CSV",
)
def export_history(product_id: ProductId, context: Context) -> StreamingResponse:
    """Every observation (fetched_at, price, currency, availability) as a CSV download."""
    chunks = catalog.history_csv(sessions=context.reads, product_id=product_id)
    filename = f"pricewatch-product-{product_id}-history.csv"
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/{product_id}/logs", response_model=ScrapeLog, responses=NOT_FOUND, summary="Scrape log"
)
def get_logs(
    product_id: ProductId,
    context: Context,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ScrapeLog:
    """The product's most recent fetch attempts, newest first."""
    entries = catalog.scrape_log(sessions=context.reads, product_id=product_id, limit=limit)
    return ScrapeLog(product_id=product_id, items=[LogLine.of(e) for e in entries])


@router.post(
    "/{product_id}/check",
    status_code=202,
    response_model=JobCreated,
    responses=NOT_FOUND,
    summary="Check a product now",
)
def check_product(product_id: ProductId, context: Context) -> JobCreated:
    """A scrape job for the product's page now."""
    created = catalog.check_now(
        sessions=context.sessions, engine=context.job_engine(), product_id=product_id
    )
    (job,) = created_jobs(context.sessions, [created])
    return JobCreated(job=job, message=waiting_message([created]))
