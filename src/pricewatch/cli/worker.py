"""`pricewatch worker`, `enqueue` and `schedule`: run background jobs and hand work to them.

The functions are registered on the main app by `pricewatch.cli` (`app.command()(worker)`...).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape

from pricewatch.cli.jobs import describe_created, err, failures, job_services, load

# A worker process is `python -m pricewatch.worker` (this command checks, then becomes it): it
# imports its own engine only (Huey or Celery), and the job code; never Typer, Rich, the web
# stack, the other engine, or Playwright (see `pricewatch.cli`).

_Names = Annotated[list[str] | None, typer.Option(help="Repeat for several.")]


def worker(
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=1, max=64, help="Jobs run at once.")
    ] = None,
    processes: Annotated[
        bool, typer.Option("--processes", help="Worker processes instead of threads.")
    ] = False,
) -> None:
    """Run background jobs from the queue until Ctrl-C or SIGTERM (running jobs hand back)."""
    from pricewatch.worker.main import CannotStartError, check_database, exec_worker

    settings = load()
    try:
        check_database(settings)
    except CannotStartError as exc:
        err.print(f"[red]error:[/] {escape(exc.message)}")
        raise typer.Exit(exc.code) from None
    # This process becomes the worker (same pid): a fresh interpreter that loads neither Typer
    # nor Rich nor Alembic, nor the job code here (see `pricewatch.worker.main`).
    exec_worker(workers=workers, processes=processes)


def enqueue(
    urls: Annotated[list[str] | None, typer.Argument(help="Product page URLs to check.")] = None,
    all_products: Annotated[
        bool, typer.Option("--all", help="One job checking every tracked product (see filters).")
    ] = False,
    source: _Names = None,
    category: _Names = None,
    product: Annotated[
        list[str] | None, typer.Option(help="A product id, reference or URL; repeatable.")
    ] = None,
    exclude_source: _Names = None,
    exclude_category: _Names = None,
    exclude_product: _Names = None,
) -> None:
    """Queue checks: one job per URL, or with --all one job over the catalog (filters apply)."""
    if bool(urls) == all_products:
        err.print("[red]error:[/] give product URLs, or --all (with optional filters)")
        raise typer.Exit(2)
    from pricewatch.domain.job import ItemFilter
    from pricewatch.services import jobs

    settings = load()
    with failures(settings), job_services(settings) as (sessions, engine):
        if all_products:
            chosen = ItemFilter(
                include_sources=source or [],
                include_categories=category or [],
                include_products=product or [],
                exclude_sources=exclude_source or [],
                exclude_categories=exclude_category or [],
                exclude_products=exclude_product or [],
            )
            created = jobs.enqueue_scrape_all(sessions=sessions, engine=engine, item_filter=chosen)
            describe_created(created, "check the catalog")
            return
        for url, one in zip(
            urls or [],
            jobs.enqueue_urls(sessions=sessions, engine=engine, urls=urls or []),
            strict=True,
        ):
            describe_created(one, f"check {escape(url)}")


def schedule(
    url: Annotated[str, typer.Argument(help="A product page URL.")],
    interval: Annotated[
        float, typer.Option("--interval", min=0.01, help="Hours between two checks.")
    ] = 24.0,
) -> None:
    """Track a product: check it now, then every --interval hours."""
    from pricewatch.services import jobs

    settings = load()
    with failures(settings), job_services(settings) as (sessions, engine):
        created = jobs.schedule_product(
            sessions=sessions, engine=engine, url=url, interval=timedelta(hours=interval)
        )
    describe_created(created, f"check {escape(url)}, then every {interval:g} h")
