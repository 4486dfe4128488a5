"""The `pricewatch` command line: thin commands that read settings and call one service each."""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

from pricewatch import __version__
from pricewatch.cli.db import db_app
from pricewatch.cli.jobs import jobs_app
from pricewatch.cli.serve import scheduler, serve, web
from pricewatch.cli.users import tokens_app, users_app
from pricewatch.cli.worker import enqueue, schedule, worker

# Every process `serve` starts is `python -m pricewatch <command>`, so this module and the
# command modules import only Typer and Rich: each command imports what it uses when it runs
# (a worker never loads FastAPI, uvicorn, the other job engine or Playwright; `--help` loads
# none of them). Keep it that way: `tests/ops` checks it.
if TYPE_CHECKING:
    from rich.progress import Progress
    from rich.table import Table

    from pricewatch.config import Settings
    from pricewatch.domain.snapshot import ProductSnapshot
    from pricewatch.services.scrape import BrowserMode, ScrapeTarget

app = typer.Typer(
    name="pricewatch",
    help="Self-hosted product price tracker: scrape product pages into exact price snapshots.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(jobs_app, name="jobs")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.command()(worker)
app.command()(enqueue)
app.command()(schedule)
app.command()(serve)
app.command()(scheduler)
app.command()(web)
err = Console(stderr=True)

OutputFormat = Literal["json", "jsonl"]


def main() -> None:
    """Console-script entry point."""
    app()


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn configuration and input errors into one clear line and exit code 2."""
    from pydantic import ValidationError

    from pricewatch.services import runlist

    try:
        yield
    except ValidationError as exc:
        err.print(f"[red]error:[/] invalid settings:\n{exc}")
        raise typer.Exit(2) from None
    except runlist.RunListError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _settings(**overrides: Any) -> Settings:
    from pricewatch.config import load_settings

    with _user_errors():
        return load_settings(**overrides)


@app.command()
def run(
    urls: Annotated[list[str] | None, typer.Argument(help="Product page URLs.")] = None,
    yaml_file: Annotated[
        Path | None,
        typer.Option("--yaml", help="YAML list of URLs, each optionally with its own options."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the JSON here instead of stdout.")
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="json (one array) or jsonl (one snapshot per line).")
    ] = "json",
    browser: Annotated[
        str | None,
        typer.Option(
            help="auto (when a page needs JavaScript), never or always. Default: settings."
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=256, help="Pages fetched at once.")
    ] = None,
    save_db: Annotated[
        bool,
        typer.Option(
            "--save-db/--no-db",
            help="Also save the snapshots in the database (the embedded SQLite file by default).",
        ),
    ] = True,
) -> None:
    """Scrape product pages and print their snapshots as JSON."""
    from pricewatch.services import runlist
    from pricewatch.services.scrape import failure_reason

    settings = _settings()
    with _user_errors():
        targets = runlist.collect(urls or [], yaml_file)
        mode = runlist.browser_mode(browser) if browser else None
        fmt = runlist.output_format(output_format)
    if save_db:
        _prepare_database(settings)
    snapshots = asyncio.run(
        _scrape_with_progress(
            targets,
            settings=settings,
            mode=mode,
            concurrency=concurrency or settings.run.concurrency,
        )
    )
    _write_snapshots(snapshots, out=out, fmt=fmt)
    if save_db:
        _save(snapshots, settings=settings)
    failures = [(s.url, reason) for s in snapshots if (reason := failure_reason(s))]
    for url, reason in failures:
        err.print(f"[red]FAILED[/] {url}: {reason}", soft_wrap=True)
    if failures:
        err.print(f"{len(failures)} of {len(snapshots)} URL(s) failed.")
        raise typer.Exit(1)


def _prepare_database(settings: Settings) -> None:
    """Get the database ready; when it cannot be, say why (the snapshots will be spooled)."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from pricewatch.services import database

    try:
        database.prepare(settings)
    except (database.DatabaseNotReadyError, SQLAlchemyError, CommandError) as exc:
        err.print(f"[yellow]warning:[/] {_first_line(exc)}")


def _save(snapshots: Sequence[ProductSnapshot], *, settings: Settings) -> None:
    """Persist the snapshots, or spool them when the database cannot take them."""
    from pricewatch.adapters.db.engine import redact
    from pricewatch.services import pipeline

    report = pipeline.persist_snapshots(snapshots, settings=settings, batch_size=50)
    where = redact(settings.database_url)
    if report.saved:
        err.print(f"Saved {report.saved} snapshot(s) to {where}.")
    if report.spooled:
        err.print(
            f"[yellow]warning:[/] {len(report.spooled)} snapshot(s) could not be saved "
            f"({report.spooled[0].reason}); kept in {report.spool_path}. "
            "Run `pricewatch db replay-spool` once the database is back."
        )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


async def _scrape_with_progress(
    targets: Sequence[ScrapeTarget],
    *,
    settings: Settings,
    mode: BrowserMode | None,
    concurrency: int,
) -> list[ProductSnapshot]:
    from pricewatch.services.scrape import open_scraper, scrape_many

    async with open_scraper(settings, browser_mode=mode) as scraper:
        if len(targets) <= 1:
            return await scrape_many(targets, scraper=scraper, concurrency=concurrency)
        with _progress() as progress:
            task = progress.add_task("Scraping", total=len(targets))
            return await scrape_many(
                targets,
                scraper=scraper,
                concurrency=concurrency,
                on_done=lambda _: progress.advance(task),
            )


def _progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _write_snapshots(
    snapshots: Sequence[ProductSnapshot], *, out: Path | None, fmt: OutputFormat
) -> None:
    dicts = [s.to_json_dict() for s in snapshots]
    if fmt == "jsonl":
        text = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dicts)
    else:
        text = json.dumps(dicts, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        err.print(f"Wrote {len(dicts)} snapshot(s) to {out}")


@app.command()
def extract(
    file: Annotated[
        Path, typer.Argument(help="A saved page: .html or .html.gz", exists=True, dir_okay=False)
    ],
    url: Annotated[str, typer.Option("--url", help="The URL the page was saved from.")],
) -> None:
    """Read a saved product page and print its snapshot as JSON."""
    from pricewatch.services.scrape import extract_file, failure_reason

    raw = file.read_bytes()
    if file.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            err.print(f"[red]error:[/] {file} is not a valid gzip file: {exc}")
            raise typer.Exit(2) from None
    snapshot = extract_file(raw, url=url)
    sys.stdout.write(json.dumps(snapshot.to_json_dict(), ensure_ascii=False, indent=2) + "\n")
    if reason := failure_reason(snapshot):
        err.print(f"[red]FAILED[/] {file}: {reason}")
        raise typer.Exit(1)


@app.command("demo-shop")
def demo_shop(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8765,
    seed: Annotated[int, typer.Option(help="Seed for the catalog, prices and stock.")] = 1234,
    products: Annotated[int, typer.Option(min=1, help="Number of products.")] = 240,
    period: Annotated[
        float, typer.Option(min=1, help="Seconds between price and stock changes.")
    ] = 3600.0,
    verbose: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Serve the local demo shop (realistic product pages whose prices change over time)."""
    from pricewatch.demo.server import DemoShop, serve_forever

    def ready(shop: DemoShop) -> None:
        err.print(f"Demo shop serving {len(shop.catalog.products)} products at {shop.base_url}/")
        err.print(
            f"Scrape it with PW_FETCH_ALLOW_HOSTS={host} (it is a local address). Ctrl-C stops."
        )

    serve_forever(
        host=host,
        port=port,
        seed=seed,
        product_count=products,
        period=period,
        verbose=verbose,
        on_ready=ready,
    )


@app.command()
def demo(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of a table.")
    ] = False,
    count: Annotated[int, typer.Option(min=1, max=240, help="Product pages to scrape.")] = 22,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Track the demo products and run the whole app (dashboard, worker, scheduler) "
            "until Ctrl-C, instead of printing snapshots.",
        ),
    ] = False,
    shop_port: Annotated[
        int, typer.Option(min=1, max=65535, help="With --serve: the demo shop's port.")
    ] = 8765,
) -> None:
    """Start the demo shop in the background, scrape its product pages and show the snapshots."""
    from pricewatch.demo.server import running_demo_shop
    from pricewatch.services.scrape import ScrapeTarget

    if serve:
        from pricewatch.cli.serve import serve_demo

        serve_demo(count=count, shop_port=shop_port, host=None, port=None)
        return

    with running_demo_shop(host="127.0.0.1", port=0, seed=1234) as shop:
        settings = _demo_settings(_settings())
        targets = [ScrapeTarget(url=url) for url in shop.product_urls(count)]
        err.print(f"Demo shop at {shop.base_url}: scraping {len(targets)} pages")
        snapshots = asyncio.run(
            _scrape_with_progress(
                targets, settings=settings, mode=None, concurrency=settings.run.concurrency
            )
        )
    if json_output:
        _write_snapshots(snapshots, out=None, fmt="json")
    else:
        Console(width=max(Console().width, 120)).print(_snapshot_table(snapshots))


def _demo_settings(settings: Settings) -> Settings:
    """The user's settings, with the demo shop's address allowed past the SSRF guard."""
    fetch = settings.fetch.model_copy(
        update={"allow_hosts": [*settings.fetch.allow_hosts, "127.0.0.1"]}
    )
    return settings.model_copy(update={"fetch": fetch})


def _snapshot_table(snapshots: Sequence[ProductSnapshot]) -> Table:
    from rich.table import Table

    from pricewatch.services.scrape import failure_reason

    table = Table(title=f"{len(snapshots)} snapshots", title_justify="left")
    table.add_column("product", no_wrap=True, max_width=40, overflow="ellipsis")
    table.add_column("reference", no_wrap=True)
    table.add_column("price", justify="right", no_wrap=True)
    table.add_column("stock", no_wrap=True)
    table.add_column("via", no_wrap=True)
    table.add_column("status", min_width=12, overflow="fold")
    for s in snapshots:
        reason = failure_reason(s)
        table.add_row(
            s.title or s.url,
            s.reference or "",
            _display_price(s),
            s.availability.value.replace("_", " "),
            s.fetch.method.value,
            f"[red]{reason}[/]" if reason else "[green]ok[/]",
        )
    return table


def _display_price(snapshot: ProductSnapshot) -> str:
    if snapshot.price is None:
        return ""
    amount = snapshot.price
    if amount.as_tuple().exponent == -1:  # 558.9 reads better as 558.90
        amount = amount.quantize(Decimal("0.01"))
    return f"{amount:,} {snapshot.currency or ''}".strip()


@app.command()
def info() -> None:
    """Show the version, where data lives and the main settings."""
    settings = _settings()
    typer.echo(f"pricewatch {__version__}")
    for label, value in _info_lines(settings):
        typer.echo(f"{label}: {value}")  # plain lines: long paths stay whole, for copy and grep


def _info_lines(settings: Settings) -> list[tuple[str, str]]:
    """What `info` shows, as (label, value): no password, nothing that needs a connection."""
    from pricewatch.adapters.db.engine import redact
    from pricewatch.worker.engines import BrokerConfigError, queue_path, uses_celery

    worker, scheduler, web = settings.worker, settings.scheduler, settings.web
    if uses_celery(settings):
        from pricewatch.worker.celery_engine import redact_broker

        queue = f"Celery on {redact_broker(settings.broker_url or '')}"
        slots = f"{worker.workers} job(s) at once (pool processes)"
    else:
        try:
            queue = f"embedded (Huey) in {queue_path(settings)}"
        except BrokerConfigError as exc:
            queue = f"invalid: {exc}"
        slots = f"{worker.workers} job(s) at once ({worker.worker_type}s)"
    return [
        ("data directory", str(settings.data_dir)),
        ("database", redact(settings.database_url)),
        ("job queue", queue),
        ("worker", f"{slots}, nice {worker.nice}"),
        (
            "scheduler",
            f"a tick every {scheduler.tick_seconds:g} s; logs and finished jobs kept "
            f"{scheduler.retention_days:g} days",
        ),
        ("web", f"http://{web.host}:{web.port}/"),
        ("browser", f"{settings.browser.executable_path} (mode {settings.browser.mode})"),
        ("fetch allow-list", ", ".join(settings.fetch.allow_hosts) or "(none)"),
    ]


@app.command()
def version() -> None:
    """Print the version."""
    Console().print(__version__)
