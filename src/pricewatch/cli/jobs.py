"""`pricewatch jobs ...`: list, show, follow the log of, cancel and retry background jobs."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pricewatch.domain.job import EventLevel, JobStatus, is_terminal

# The database, the services and the job engines are imported by the commands that use them:
# every process started as `pricewatch <command>` (a worker, the web process) imports this
# module, and should not carry what other commands need (see `pricewatch.cli`).
if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from pricewatch.adapters.db.job_repository import EventRecord, JobRecord
    from pricewatch.config import Settings
    from pricewatch.services import jobs
    from pricewatch.worker.engines import AnyEngine

jobs_app = typer.Typer(
    help="Background jobs: list, show, follow logs, cancel, cancel all, retry.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

_STATUS_STYLE = {
    JobStatus.PENDING: "yellow",
    JobStatus.RUNNING: "cyan",
    JobStatus.SUCCEEDED: "green",
    JobStatus.PARTIAL: "magenta",
    JobStatus.FAILED: "red",
    JobStatus.CANCELLED: "dim",
}
_LEVEL_STYLE = {
    EventLevel.DEBUG: "dim",
    EventLevel.INFO: "",
    EventLevel.WARNING: "yellow",
    EventLevel.ERROR: "red",
}


# --- plumbing shared with `cli.worker` ---------------------------------------------------------


def load(**overrides: object) -> Settings:
    """The settings, or one clear line and exit code 2."""
    from pydantic import ValidationError

    from pricewatch.config import load_settings

    try:
        return load_settings(**overrides)
    except ValidationError as exc:
        err.print(f"[red]error:[/] invalid settings:\n{exc}")
        raise typer.Exit(2) from None


@contextmanager
def failures(settings: Settings) -> Iterator[None]:
    """One clear line instead of a traceback when the database or the queue cannot be used."""
    from alembic.util import CommandError
    from sqlalchemy import exc as sa_exc

    from pricewatch.adapters.db.engine import UnsupportedDatabaseError, redact
    from pricewatch.services import database, jobs, pipeline
    from pricewatch.worker.huey_engine import BrokerConfigError

    where = redact(settings.database_url)
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        reason = pipeline.describe_error(exc).split(": ", 1)[-1]
        err.print(f"[red]error:[/] cannot use the database at {where}: {reason}")
        raise typer.Exit(1) from None
    except (sa_exc.ArgumentError, UnsupportedDatabaseError) as exc:
        err.print(f"[red]error:[/] bad database URL {where}: {exc}")
        raise typer.Exit(2) from None
    except sa_exc.SQLAlchemyError as exc:
        err.print(f"[red]error:[/] database error at {where}: {pipeline.describe_error(exc)}")
        raise typer.Exit(1) from None
    except (database.DatabaseNotReadyError, CommandError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except BrokerConfigError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    except (jobs.JobNotFoundError, jobs.JobStateError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


@contextmanager
def job_services(settings: Settings) -> Iterator[tuple[sessionmaker[Session], AnyEngine]]:
    """The database (made ready) and the job engine, both closed at the end."""
    from pricewatch.services import database, jobs
    from pricewatch.worker.engines import engine_for

    with ExitStack() as stack:
        database.prepare(settings)
        sessions = stack.enter_context(jobs.open_sessions(settings))
        engine = engine_for(settings)
        stack.callback(engine.close)
        yield sessions, engine


def describe_created(created: jobs.Created, what: str) -> None:
    """Say what was recorded and what happens next."""
    if created.dispatched:
        out.print(
            f"Job {created.job_id} ({what}) recorded and queued; "
            "a worker (`pricewatch worker`) runs it."
        )
        return
    err.print(
        f"[yellow]warning:[/] job {created.job_id} ({what}) is recorded but the task queue is "
        f"unreachable ({created.reason}): it stays pending and is queued once the queue is back."
    )


# --- commands ----------------------------------------------------------------------------------


@jobs_app.command("list")
def list_(
    status: Annotated[
        list[JobStatus] | None, typer.Option("--status", "-s", help="Only these statuses.")
    ] = None,
    active: Annotated[bool, typer.Option("--active", help="Only pending and running.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 30,
) -> None:
    """List jobs, newest first."""
    from pricewatch.services import jobs

    settings = load()
    wanted = list(status or [])
    if active:
        wanted += [JobStatus.PENDING, JobStatus.RUNNING]
    with failures(settings), job_services(settings) as (sessions, _):
        found = jobs.list_jobs(sessions=sessions, statuses=wanted, limit=limit)
    # Wide enough for the table even where the terminal width is unknown (pipes, tests).
    Console(width=max(out.width, 150), soft_wrap=True).print(_jobs_table(found))


@jobs_app.command()
def show(job_id: Annotated[int, typer.Argument(help="The job's id.")]) -> None:
    """Show one job and its latest log lines."""
    from pricewatch.services import jobs

    settings = load()
    with failures(settings), job_services(settings) as (sessions, _):
        job = jobs.get(sessions=sessions, job_id=job_id)
        lines = jobs.events(sessions=sessions, job_id=job_id)
    for label, value in _details(job):
        out.print(f"[bold]{label:>13}[/] {value}")
    for event in lines[-15:]:
        _print_event(event)


@jobs_app.command()
def logs(
    job_id: Annotated[int, typer.Argument(help="The job's id.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")
    ] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between looks.")] = 0.5,
) -> None:
    """Print a job's log; with --follow, until the job ends (Ctrl-C stops following)."""
    from pricewatch.services import jobs

    settings = load()
    with failures(settings), job_services(settings) as (sessions, _):
        job = jobs.get(sessions=sessions, job_id=job_id)
        last = 0
        try:
            while True:
                for event in jobs.events(sessions=sessions, job_id=job_id, after_id=last):
                    _print_event(event)
                    last = event.id
                if not follow or is_terminal(job.status):
                    break
                time.sleep(interval)
                job = jobs.get(sessions=sessions, job_id=job_id)
        except KeyboardInterrupt:
            return
    if follow:
        out.print(f"job {job_id} {_status(job.status)}")


@jobs_app.command()
def cancel(job_ids: Annotated[list[int], typer.Argument(help="Ids of the jobs.")]) -> None:
    """Cancel jobs: a pending job never starts, a running job stops within seconds."""
    from pricewatch.services import jobs

    settings = load()
    with failures(settings), job_services(settings) as (sessions, engine):
        for job_id in job_ids:
            _say_cancelled(jobs.cancel(sessions=sessions, engine=engine, job_id=job_id))


@jobs_app.command("cancel-all")
def cancel_all() -> None:
    """Cancel every pending and running job."""
    from pricewatch.services import jobs

    settings = load()
    with failures(settings), job_services(settings) as (sessions, engine):
        done = jobs.cancel_all(sessions=sessions, engine=engine)
    for cancelled in done:
        _say_cancelled(cancelled)
    if not done:
        out.print("No active job.")


@jobs_app.command()
def retry(
    job_id: Annotated[int, typer.Argument(help="A failed, partial or cancelled job.")],
) -> None:
    """Run a failed, partial or cancelled job again, as a new job linked to it."""
    from pricewatch.services import jobs

    settings = load()
    with failures(settings), job_services(settings) as (sessions, engine):
        created = jobs.retry(sessions=sessions, engine=engine, job_id=job_id)
    describe_created(created, f"retry of job {job_id}")


# --- rendering ---------------------------------------------------------------------------------


def _say_cancelled(cancelled: jobs.Cancelled) -> None:
    if cancelled.status is JobStatus.CANCELLED:
        out.print(f"Job {cancelled.job_id} cancelled; it will not run.")
    else:
        out.print(f"Job {cancelled.job_id} is running: asked to stop (within a few seconds).")


def _status(status: JobStatus) -> str:
    style = _STATUS_STYLE[status]
    return f"[{style}]{status.value}[/]"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _target(job: JobRecord) -> str:
    if "url" in job.params:
        return escape(str(job.params["url"]))
    chosen = job.params.get("filter") or {}
    text = ", ".join(f"{k}={','.join(v)}" for k, v in chosen.items()) or "all products"
    return escape(text)


def _jobs_table(found: Sequence[JobRecord]) -> Table:
    table = Table(title=f"{len(found)} job(s)", title_justify="left")
    for name in ("id", "kind", "status", "progress", "created/updated/skipped/errors"):
        table.add_column(name, no_wrap=True, justify="right" if name == "id" else "left")
    table.add_column("created at", no_wrap=True)
    table.add_column("target", overflow="fold", max_width=60)
    for job in found:
        c = job.counts
        table.add_row(
            str(job.id),
            job.kind.value,
            _status(job.status),
            f"{job.progress.completed}/{job.progress.total}",
            f"{c.created}/{c.updated}/{c.skipped}/{c.errors}",
            _when(job.created_at),
            _target(job),
        )
    return table


def _details(job: JobRecord) -> list[tuple[str, str]]:
    c = job.counts
    current = escape(job.progress.current or "")
    rows = [
        ("job", f"{job.id} ({job.kind.value}, by {job.triggered_by.value})"),
        ("status", _status(job.status) + (" (cancel requested)" if job.cancel_requested else "")),
        ("target", _target(job)),
        ("progress", f"{job.progress.completed}/{job.progress.total} {current}"),
        (
            "counts",
            f"{c.created} created, {c.updated} updated, {c.deleted} deleted, "
            f"{c.skipped} skipped, {c.errors} error(s)",
        ),
        ("attempts", str(job.attempts)),
        ("created", _when(job.created_at)),
        ("started", _when(job.started_at)),
        ("finished", _when(job.finished_at)),
    ]
    if job.lease_owner:
        rows.append(("worker", f"{job.lease_owner} (heartbeat {_when(job.heartbeat_at)})"))
    if job.retry_of:
        rows.append(("retry of", str(job.retry_of)))
    if job.error:
        rows.append(("error", escape(job.error)))
    return rows


def _print_event(event: EventRecord) -> None:
    style = _LEVEL_STYLE[event.level]
    level = f"[{style}]{event.level.value:<7}[/]" if style else f"{event.level.value:<7}"
    out.print(f"{_when(event.at)} {level} {escape(event.message)}", highlight=False)
