"""The worker process: `pricewatch worker` becomes `python -m pricewatch.worker` to run jobs.

`pricewatch worker` (the Typer command) reads its options, checks the settings and the
database (`check_database`), and says what is wrong in one clear line. Then it replaces itself
(`os.execve`: same process id, same standard streams, same signals) with `python -m
pricewatch.worker`, a fresh interpreter that imports only what running jobs need: never Typer,
Rich, Alembic, the other commands, the web stack or the other engine (about 10 MB less per
worker process). Started directly, this entry point checks the database itself.

The environment of the worker process (`worker_environment`) sets glibc's malloc arenas to one
(`MALLOC_ARENA_MAX=1`, unless set already). Each thread that allocates would otherwise get an
arena of its own (up to 8 per core), which keeps freed memory apart from the others'; in a
Python process the threads hold the GIL for nearly every allocation anyway, so one arena costs
no throughput (measured with `benchmarks/jobs.py`: 78 products/s with 1 arena, 68 with 2, on a
loaded machine) and saves about 1.5 MB per worker (3 MB against glibc's default).

A worker process also goes without optional extras that libraries import whenever they are
installed and that no job uses (`UNUSED_EXTRAS`): kombu's YAML serializer (messages are JSON
only) and redis-py's OpenTelemetry metrics (installed with the web stack), about 1.2 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from pricewatch.adapters.db.engine import UnsupportedDatabaseError, redact
from pricewatch.config import Settings, load_settings
from pricewatch.services import database
from pricewatch.worker.engines import (
    BrokerConfigError,
    engine_for,
    import_job_code,
    uses_celery,
    without_imports,
)

if TYPE_CHECKING:
    from pricewatch.worker.engines import AnyEngine

#: The module `python -m` runs for a worker process.
MODULE = "pricewatch.worker"
#: glibc malloc arenas of a worker process (see the module docstring).
MALLOC_ARENA_MAX = "1"
#: Optional extras a worker process never imports (see the module docstring).
UNUSED_EXTRAS = ("yaml", "opentelemetry")


def worker_argv(*, workers: int | None = None, processes: bool = False) -> list[str]:
    """The command line of a worker process (this interpreter, with its -X/-W/-O flags).

    `--database-checked`: the caller checked the database, so the worker does not again (the
    Celery main process, which never queries the database, then loads no database driver).
    """
    flags: list[str] = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    argv = [sys.executable, *flags, "-m", MODULE, "--database-checked"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    if processes:
        argv.append("--processes")
    return argv


def worker_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of a worker process: `environ`, with malloc's arenas capped."""
    return {"MALLOC_ARENA_MAX": MALLOC_ARENA_MAX, **environ}


class CannotStartError(Exception):
    """The worker cannot start: `message` says why in one line, `code` is the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def check_database(settings: Settings) -> None:
    """Make the database ready (see `services.database`); CannotStartError when it is not."""
    where = redact(settings.database_url)
    try:
        database.prepare(settings)
    except database.DatabaseNotReadyError as exc:
        raise CannotStartError(str(exc), 1) from exc
    except (sa_exc.ArgumentError, UnsupportedDatabaseError) as exc:
        raise CannotStartError(f"bad database URL {where}: {exc}", 2) from exc
    except sa_exc.SQLAlchemyError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CannotStartError(f"database error at {where}: {first}", 1) from exc


def exec_worker(*, workers: int | None = None, processes: bool = False) -> None:
    """Replace this process with a worker process (never returns)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(
        sys.executable,
        worker_argv(workers=workers, processes=processes),
        worker_environment(os.environ),
    )


def configure(engine: AnyEngine, *, workers: int | None, processes: bool) -> None:
    """Apply `--workers` and `--processes` to the engine's worker configuration."""
    config = engine.worker
    if workers is not None or processes:
        kind = "process" if processes else config.worker_type
        engine.worker = config.model_copy(
            update={"workers": workers or config.workers, "worker_type": kind}
        )


def run(engine: AnyEngine, *, workers: int | None = None, processes: bool = False) -> int:
    """Run jobs until SIGINT/SIGTERM (running jobs hand back); the exit code."""
    configure(engine, workers=workers, processes=processes)
    try:
        code = _run_celery(engine) if uses_celery(engine.settings) else _run_huey(engine)
    finally:
        engine.close()
    _say("Worker stopped; unfinished jobs went back to the queue.")
    return code


def _run_huey(engine: AnyEngine) -> int:
    """Huey's consumer in this process (thread or process workers)."""
    from pricewatch.worker.huey_engine import HueyEngine, HueyWorker

    assert isinstance(engine, HueyEngine)
    consumer = HueyWorker(engine)
    _say(
        f"Worker: {engine.worker.workers} {engine.worker.worker_type}(s) on the queue "
        f"{engine.path}, database {redact(engine.settings.database_url)}. Ctrl-C stops."
    )
    consumer.run()
    return 0


def _run_celery(engine: AnyEngine) -> int:
    """Celery's worker in this process, always a prefork pool (revoke can terminate there)."""
    from pricewatch.worker.celery_engine import CeleryEngine, CeleryWorker

    assert isinstance(engine, CeleryEngine)
    _say(
        f"Worker: {engine.worker.workers} process(es) on the Celery broker {engine.path}, "
        f"database {redact(engine.settings.database_url)}. Ctrl-C stops."
    )
    return CeleryWorker(engine, pool="prefork").run()


def _say(message: str) -> None:
    print(message, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m pricewatch.worker [--workers N] [--processes]`; the exit code."""
    parser = argparse.ArgumentParser(prog="pricewatch worker", description=__doc__)
    parser.add_argument("--workers", "-w", type=int, choices=range(1, 65), metavar="N")
    parser.add_argument("--processes", action="store_true")
    parser.add_argument("--database-checked", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    with without_imports(*UNUSED_EXTRAS):
        return _start(args)


def _start(args: argparse.Namespace) -> int:
    """Check, set up and run the worker `args` describe; the exit code."""
    try:
        settings = load_settings()
        if not args.database_checked:  # `pricewatch worker` checked it before it became this
            check_database(settings)
        if not uses_celery(settings):  # Celery's pool children import it (see `after_fork`)
            import_job_code()
        engine = engine_for(settings)
        lower_priority(settings.worker.nice)
    except ValidationError as exc:
        return _fail(f"invalid settings:\n{exc}", 2)
    except CannotStartError as exc:
        return _fail(exc.message, exc.code)
    except BrokerConfigError as exc:
        return _fail(str(exc), 2)
    return run(engine, workers=args.workers, processes=args.processes)


def lower_priority(nice: int) -> None:
    """Run at a lower CPU priority (`PW_WORKER_NICE`), so the web process on the same machine
    answers first; threads and pool children started later inherit it."""
    if nice > 0:
        os.nice(nice)


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code
