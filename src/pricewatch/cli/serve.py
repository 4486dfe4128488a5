"""`pricewatch serve`, `scheduler` and `web`: the long-running processes of the embedded setup.

The functions are registered on the main app by `pricewatch.cli` (`app.command()(serve)`...).
`serve` starts `web`, `worker` and `scheduler` as separate processes and supervises them.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
from contextlib import ExitStack, closing
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from pricewatch.cli.jobs import err, failures, load, out

# uvicorn, the web app, the scheduler and the engines are imported by the commands that run
# them: `serve` starts each as a process of its own, which loads only what it runs.
if TYPE_CHECKING:
    from pricewatch.config import Settings

#: The module the children run as (`python -m pricewatch <command>`).
CHILD_MODULE = "pricewatch"
_Host = Annotated[
    str | None,
    typer.Option(help="Address the web process listens on [default: PW_WEB_HOST, 127.0.0.1]."),
]
_Port = Annotated[
    int | None,
    typer.Option(
        min=1, max=65535, help="Port the web process listens on [default: PW_WEB_PORT, 8000]."
    ),
]


def _logging(settings: Settings) -> None:
    """Log lines of the long-running processes to stderr, at the configured level."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic says at INFO what it loads and checks on every start; only its problems matter.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.root.level))


def _check_broker(settings: Settings) -> None:
    """One clear line and exit code 1 when the job engine's broker cannot be reached."""
    from pricewatch.worker.engines import engine_for
    from pricewatch.worker.scheduler import broker_check

    engine = engine_for(settings)
    try:
        ping = broker_check(engine)
        if ping is not None:
            ping()
    except Exception as exc:  # whatever the broker raises, the user gets one line
        err.print(f"[red]error:[/] cannot reach the task queue: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    finally:
        engine.close()


def scheduler(
    interval: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Seconds between two ticks [default: PW_SCHEDULER_TICK_SECONDS, 30].",
        ),
    ] = None,
) -> None:
    """Run the scheduler: requeue lost jobs, queue due checks, maintenance; until Ctrl-C."""
    from pricewatch.adapters.db.engine import redact
    from pricewatch.services import database
    from pricewatch.worker.engines import engine_for
    from pricewatch.worker.scheduler import SchedulerLoop

    settings = load()
    _logging(settings)
    with failures(settings):
        database.prepare(settings)
        _check_broker(settings)
        engine = engine_for(settings)
    try:
        loop = SchedulerLoop(settings, engine=engine, interval=interval)
        out.print(
            f"Scheduler: a tick every {loop.interval:g} s on {redact(settings.database_url)}. "
            "Ctrl-C stops."
        )
        loop.run()
    finally:
        engine.close()
    out.print("Scheduler stopped.")


def web(host: _Host = None, port: _Port = None) -> None:
    """Run the web process (dashboard, REST API, health) until Ctrl-C."""
    import uvicorn

    from pricewatch.services import database
    from pricewatch.web.app import create_app

    settings = load()
    with failures(settings):
        database.prepare(settings)
    config = uvicorn.Config(
        create_app(settings),
        host=host or settings.web.host,
        port=port or settings.web.port,
        log_level=settings.log_level,
        access_log=False,
        # X-Forwarded-Proto/For are believed only from these proxies (Secure cookies, HSTS).
        proxy_headers=True,
        forwarded_allow_ips=settings.web.forwarded_allow_ips,
    )
    # uvicorn re-raises the signal that stopped it once it is done; with these handlers in
    # place that ends the process normally (exit code 0) instead of by the signal.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _ignore)
    _quiet_garbage_collector()
    uvicorn.Server(config).run()  # exits with code 3 itself when it cannot listen


def _quiet_garbage_collector() -> None:
    """Fewer, shorter collector pauses in the web process (they show as tail latency).

    The ~150,000 objects of start-up (modules, routes, schemas, templates) never become garbage:
    `gc.freeze()` keeps them out of every later collection. The young generation is collected
    every 10,000 allocations instead of 700; a request allocates far fewer objects than that
    which outlive it, so memory stays flat.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)


def _ignore(signum: int, frame: FrameType | None) -> None:
    """Swallow a signal uvicorn already handled."""


def serve(
    host: _Host = None,
    port: _Port = None,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=1, max=64, help="Jobs run at once.")
    ] = None,
) -> None:
    """Start the web process, a worker and the scheduler; restart crashed ones; Ctrl-C stops."""
    settings = load()
    _logging(settings)
    _prepare(settings)
    _supervise(host or settings.web.host, port or settings.web.port, workers)


def serve_demo(*, count: int, shop_port: int, host: str | None, port: int | None) -> None:
    """`pricewatch demo --serve`: the demo shop, `count` of its products tracked, and `serve`.

    The demo shop runs in this process; the web process, worker and scheduler are children, as
    with `serve`. They are told through `PW_FETCH_ALLOW_HOSTS` (inherited) that the shop's
    local address may be fetched. Products are tracked with `schedule` jobs, so they appear on
    the dashboard as the worker checks them, and are checked again every day.
    """
    from datetime import timedelta

    from pricewatch.demo.server import running_demo_shop
    from pricewatch.services import jobs
    from pricewatch.worker.engines import engine_for

    shop_host = "127.0.0.1"
    allowed = ",".join([*load().fetch.allow_hosts, shop_host])
    os.environ["PW_FETCH_ALLOW_HOSTS"] = allowed  # for this process's settings and the children
    settings = load()
    _logging(settings)
    _prepare(settings)
    with ExitStack() as stack:
        try:
            shop = stack.enter_context(
                running_demo_shop(host=shop_host, port=shop_port, seed=1234, period=600.0)
            )
        except OSError as exc:
            err.print(f"[red]error:[/] cannot start the demo shop on port {shop_port}: {exc}")
            raise typer.Exit(1) from None
        engine = stack.enter_context(closing(engine_for(settings)))
        with failures(settings), jobs.open_sessions(settings) as sessions:
            for url in shop.product_urls(count):
                jobs.schedule_product(
                    sessions=sessions, engine=engine, url=url, interval=timedelta(days=1)
                )
        out.print(
            f"Demo shop at {shop.base_url}/ (prices move every 10 minutes); "
            f"{count} of its products are being tracked."
        )
        _supervise(host or settings.web.host, port or settings.web.port, None)


def _prepare(settings: Settings) -> None:
    """Migrate the embedded database once (before three processes would race to) and check
    that the job queue answers."""
    from pricewatch.services import database

    with failures(settings):
        database.prepare(settings)
        _check_broker(settings)


def _supervise(host: str, port: int, workers: int | None) -> None:
    """Run the web process, a worker and the scheduler until Ctrl-C or SIGTERM."""
    from pricewatch.worker.supervisor import ChildSpec, Supervisor

    prefix = [sys.executable, "-m", CHILD_MODULE]
    children = [
        ChildSpec("web", [*prefix, "web", "--host", host, "--port", str(port)]),
        ChildSpec("worker", [*prefix, "worker", *(["--workers", str(workers)] if workers else [])]),
        ChildSpec("scheduler", [*prefix, "scheduler"]),
    ]
    out.print(
        f"pricewatch serving on http://{host}:{port}/ (the first visit asks for an admin "
        "account; health: /health). Ctrl-C stops."
    )
    code = Supervisor(children, say=lambda line: err.print(f"serve: {line}")).run()
    out.print("pricewatch stopped.")
    if code:
        raise typer.Exit(code)
