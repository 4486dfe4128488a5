"""Job engines benchmark: Huey on SQLite and Celery on Redis with PostgreSQL.

Prints, per engine:
- jobs dispatched per second (create the row, hand its id to the broker; no worker running);
- end-to-end products scraped per second from the local demo shop with 2 worker processes
  (`pricewatch worker`, one job slot each; fetch + extract + persist; one `scrape_all` job per
  worker over half of the catalog each);
- the scheduler tick's duration with 100,000 products scheduled (200 of them due);
- each worker process's resident memory (VmRSS, the target; PSS beside it for information;
  Celery: main process and pool child), read
  after the end-to-end run, so with everything a scrape loads. `pricewatch worker` replaces
  itself with `python -m pricewatch.worker` (same pid) and sets MALLOC_ARENA_MAX=1 unless the
  environment sets it (see `pricewatch.worker.main`): the figures are the process users run.

Then the targets (>= 50 products/s, tick < 2 s, < 80 MB per worker process) and exits 1 when
one is missed. Not part of the test suite.

For Celery it also prints two floors, for information: a bare Celery prefork pool child (an
app with one no-op task and nothing of pricewatch, started the way `pricewatch worker` starts
its Celery worker, idle) and the job code alone in a fresh interpreter (fetch, parse, save,
with the PostgreSQL driver). A pricewatch pool child holds both.

    python benchmarks/jobs.py [--engine huey|celery|both] [--products 240]

Celery uses a throw-away `redis-server` (AOF on, everysec) on a free port and a throw-away
PostgreSQL database (admin URL: PW_TEST_POSTGRES_URL or postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert
from sqlalchemy.engine import make_url

from pricewatch.adapters.db import migrate
from pricewatch.adapters.db.engine import create_engine_for, normalise_url, session_factory
from pricewatch.adapters.db.tables import products
from pricewatch.config import BrowserSettings, DbSettings, FetchSettings, JobsSettings, Settings
from pricewatch.demo import DemoShop, ManualClock, running_demo_shop
from pricewatch.domain.job import ItemFilter, is_terminal
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import jobs, scheduler
from pricewatch.worker.celery_engine import CeleryEngine
from pricewatch.worker.engines import AnyEngine, engine_for

ADMIN_URL = os.environ.get(
    "PW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
DISPATCHED_JOBS = 500
TICK_PRODUCTS = 100_000
DUE_PRODUCTS = 200
WORKERS = 2
TARGET_PRODUCTS_PER_S = 50.0
TARGET_TICK_S = 2.0
TARGET_RSS_MB = 80.0


@dataclass
class Result:
    """What one engine measured."""

    engine: str
    dispatch_per_s: float = 0.0
    products_per_s: float = 0.0
    scraped: int = 0
    tick_s: float = 0.0
    #: (process, VmRSS MB, PSS MB); the target is on VmRSS.
    rss_mb: tuple[tuple[str, float, float], ...] = ()
    #: (what, VmRSS MB): what any process running jobs on this engine must hold (information).
    floors: tuple[tuple[str, float], ...] = ()


# --- infrastructure ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _redis(directory: Path) -> Iterator[str]:
    """A throw-away redis-server with AOF (everysec); its URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
         "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def _postgres() -> Iterator[str]:
    """A throw-away PostgreSQL database; its URL."""
    admin = create_engine(normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"pw_bench_jobs_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(str(normalise_url(ADMIN_URL)))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def _infrastructure(engine: str, workdir: Path) -> Iterator[Settings]:
    """Settings for `engine` on a migrated database of its own."""
    fetch = FetchSettings(allow_hosts=["127.0.0.1"], retries=0)
    browser = BrowserSettings(mode="never")
    if engine == "huey":
        url = f"sqlite:///{workdir / 'bench.db'}"
        migrate.upgrade(migrate.alembic_config(url=url))
        yield Settings(
            data_dir=workdir,
            db=DbSettings(url=url),
            broker_url=f"sqlite:///{workdir / 'queue.db'}",
            fetch=fetch,
            browser=browser,
        )
        return
    (workdir / "redis").mkdir()
    with _redis(workdir / "redis") as broker, _postgres() as url:
        migrate.upgrade(migrate.alembic_config(url=url))
        yield Settings(
            data_dir=workdir,
            db=DbSettings(url=url),
            broker_url=broker,
            fetch=fetch,
            browser=browser,
        )


# --- measures ----------------------------------------------------------------------------------


def measure_dispatch(settings: Settings, engine: AnyEngine) -> float:
    """Jobs created and handed to the broker per second (then cancelled, as nobody runs them)."""
    db = create_engine_for(settings.database_url)
    sessions = session_factory(db)
    urls = [f"https://shop.example/p/{n}" for n in range(DISPATCHED_JOBS)]
    started = time.perf_counter()
    created = jobs.enqueue_urls(sessions=sessions, engine=engine, urls=urls)
    elapsed = time.perf_counter() - started
    assert all(c.dispatched for c in created), created[0].reason
    jobs.cancel_all(sessions=sessions, engine=None)  # revoking 500 ids is not measured
    _purge(engine)
    db.dispose()
    return DISPATCHED_JOBS / elapsed


def _purge(engine: AnyEngine) -> None:
    """Drop the cancelled jobs' messages, so the end-to-end run starts on an empty queue.

    Otherwise its workers first drain 500 messages of jobs that no longer run (claiming each
    fails), which took about 2.8 s of a 6.6 s run: a measure of the leftovers, not of scraping.
    """
    if isinstance(engine, CeleryEngine):
        engine.app.control.purge()
    else:
        engine.huey.flush()


def _worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PW_")}
    env.update(
        PW_DATA_DIR=str(settings.data_dir),
        PW_DB_URL=settings.database_url,
        PW_BROKER_URL=settings.broker_url or "",
        PW_FETCH_ALLOW_HOSTS="127.0.0.1",
        PW_FETCH_RETRIES="0",
        PW_BROWSER_MODE="never",
        PW_WORKER_WORKERS="1",
        PW_JOBS_CONCURRENCY="8",
    )
    return env


def _wait_ready(logs: list[Path], timeout: float = 60.0) -> None:
    """Until every worker said it consumes (a fixed sleep measured slow start-ups as waiting)."""
    deadline = time.monotonic() + timeout
    while not all("Worker:" in log.read_text(errors="replace") for log in logs):
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start: " + logs[0].read_text()[-2000:])
        time.sleep(0.05)
    time.sleep(1.0 if any("Celery" in log.read_text() for log in logs) else 0.3)  # connected


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pss_mb(pid: int) -> float:
    """Proportional set size: resident memory with each shared page split among its sharers
    (a forked pool child shares most of its parent's pages)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def measure_end_to_end(
    settings: Settings, engine: AnyEngine, shop: DemoShop, count: int
) -> tuple[float, int, tuple[tuple[str, float, float], ...]]:
    """Products per second through 2 worker processes; and their resident memory."""
    db = create_engine_for(settings.database_url)
    sessions = session_factory(db)
    now = utc_now()
    urls = shop.product_urls(count)
    with db.begin() as conn:
        conn.execute(
            insert(products),
            [
                {
                    "source": "demo",
                    "reference": f"BENCH-{n}",
                    "url": url,
                    "category": f"half{n % 2}",
                    "first_seen_at": now,
                    "last_updated_at": now,
                }
                for n, url in enumerate(urls)
            ],
        )
    logs = [settings.data_dir / f"worker{n}.log" for n in range(WORKERS)]
    procs = []
    for log in logs:
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", "from pricewatch.cli import main; main()", "worker"],
                    env=_worker_env(settings),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        _wait_ready(logs)
        started = time.perf_counter()
        ids = [
            jobs.enqueue_scrape_all(
                sessions=sessions,
                engine=engine,
                item_filter=ItemFilter(include_categories=[f"half{n}"]),
            ).job_id
            for n in range(WORKERS)
        ]
        while not all(is_terminal(jobs.get(sessions=sessions, job_id=j).status) for j in ids):
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        done = sum(jobs.get(sessions=sessions, job_id=j).progress.completed for j in ids)
        for j in ids:  # where the time went: waiting for a worker, then running
            job = jobs.get(sessions=sessions, job_id=j)
            assert job.started_at is not None
            assert job.finished_at is not None
            waited = (job.started_at - job.created_at).total_seconds()
            ran = (job.finished_at - job.started_at).total_seconds()
            print(f"  job {j}: waited {waited:.2f} s, ran {ran:.2f} s", file=sys.stderr)
        rss = []
        for n, proc in enumerate(procs, start=1):
            rss.append((f"worker {n}", _rss_mb(proc.pid), _pss_mb(proc.pid)))
            rss += [(f"worker {n} pool child", _rss_mb(c), _pss_mb(c)) for c in _children(proc.pid)]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        db.dispose()
    return done / elapsed, done, tuple(rss)


#: A Celery app with one no-op task and nothing of pricewatch (see `measure_floors`).
BARE_CELERY_APP = """
import os
from celery import Celery
app = Celery("bare", broker=os.environ["BARE_BROKER_URL"], set_as_current=False)
app.conf.update(worker_hijack_root_logger=False, task_default_queue="bare")
@app.task(name="bare.noop")
def noop():
    return None
"""
#: Resident memory of a fresh interpreter with the job code imported, as a pool child has it.
JOB_CODE_PROBE = """
import gc
from pricewatch.worker.engines import import_job_code, without_imports
from pricewatch.worker.main import UNUSED_EXTRAS
with without_imports(*UNUSED_EXTRAS):
    import_job_code()
    import psycopg, sqlalchemy.dialects.postgresql.psycopg
gc.collect()
print([l for l in open("/proc/self/status") if l.startswith("VmRSS:")][0].split()[1])
"""


def measure_floors(settings: Settings) -> tuple[tuple[str, float], ...]:
    """VmRSS of a bare Celery pool child (idle) and of the job code alone (MB)."""
    env = {**os.environ, "MALLOC_ARENA_MAX": "1", "BARE_BROKER_URL": settings.broker_url or ""}
    (settings.data_dir / "bare_celery.py").write_text(BARE_CELERY_APP)
    start = (
        "from bare_celery import app\n"
        "app.Worker(pool='prefork', concurrency=1, without_mingle=True, without_gossip=True,"
        " loglevel='WARNING', quiet=True).start()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", start],
        cwd=settings.data_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _children(proc.pid):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the bare Celery worker did not start its pool")
            time.sleep(0.1)
        time.sleep(2.0)  # the child finishes its set-up
        bare = max(_rss_mb(child) for child in _children(proc.pid))
    finally:
        proc.terminate()
        proc.wait(30)
    probe = subprocess.run(
        [sys.executable, "-c", JOB_CODE_PROBE], env=env, capture_output=True, text=True, check=True
    )
    job_code = int(probe.stdout.split()[-1]) / 1024
    return (
        ("bare Celery pool child, idle", bare),
        ("job code alone, PostgreSQL driver", job_code),
    )


def measure_tick(settings: Settings, engine: AnyEngine) -> float:
    """Seconds of one scheduler tick with TICK_PRODUCTS products scheduled, DUE_PRODUCTS due."""
    db = create_engine_for(settings.database_url)
    now = utc_now()
    rows = [
        {
            "source": "tick",
            "reference": f"TICK-{n}",
            "url": f"https://shop.example/tick/{n}",
            "first_seen_at": now,
            "last_updated_at": now,
            "check_interval": 86_400,
            "next_check_at": now - timedelta(minutes=1)
            if n < DUE_PRODUCTS
            else now + timedelta(seconds=n),
        }
        for n in range(TICK_PRODUCTS)
    ]
    with db.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(products), rows[start : start + 10_000])
    with db.connect() as conn:
        conn.exec_driver_sql("ANALYZE")  # both databases: plan the tick on current statistics
    sessions = session_factory(db)
    started = time.perf_counter()
    report = scheduler.tick(settings=settings, engine=engine, sessions=sessions)
    elapsed = time.perf_counter() - started
    assert len(report.scheduled) == DUE_PRODUCTS, report.summary()
    db.dispose()
    return elapsed


def run_engine(name: str, count: int) -> Result:
    """All the measures on one engine."""
    result = Result(name)
    with (
        tempfile.TemporaryDirectory(prefix=f"pw-bench-{name}-") as tmp,
        _infrastructure(name, Path(tmp)) as settings,
        running_demo_shop(host="127.0.0.1", port=0, seed=1234, clock=ManualClock()) as shop,
    ):
        settings = settings.model_copy(update={"jobs": JobsSettings(concurrency=8)})
        engine = engine_for(settings)
        try:
            result.dispatch_per_s = measure_dispatch(settings, engine)
            result.products_per_s, result.scraped, result.rss_mb = measure_end_to_end(
                settings, engine, shop, count
            )
            result.tick_s = measure_tick(settings, engine)
            if name == "celery":
                result.floors = measure_floors(settings)
        finally:
            engine.close()
    return result


def report(results: list[Result]) -> bool:
    """Print the figures and the targets; True when every target is met."""
    ok = True
    for r in results:
        print(f"== {r.engine}")
        print(f"  dispatch:            {r.dispatch_per_s:8.0f} jobs/s ({DISPATCHED_JOBS} jobs)")
        print(
            f"  end to end:          {r.products_per_s:8.1f} products/s ({r.scraped} products, "
            f"{WORKERS} workers)"
        )
        print(f"  tick:                {r.tick_s:8.3f} s ({TICK_PRODUCTS:,} products scheduled)")
        for label, mb, pss in r.rss_mb:
            print(f"  rss {label + ':':<20}{mb:8.1f} MB  (pss {pss:.1f} MB)")
        for label, mb in r.floors:
            print(f"  floor: {label + ':':<36}{mb:6.1f} MB  (information)")
        checks = [
            (r.products_per_s >= TARGET_PRODUCTS_PER_S, f">= {TARGET_PRODUCTS_PER_S:g} products/s"),
            (r.tick_s < TARGET_TICK_S, f"tick < {TARGET_TICK_S:g} s"),
            (
                all(mb < TARGET_RSS_MB for label, mb, _ in r.rss_mb if "pool" not in label),
                f"< {TARGET_RSS_MB:g} MB per worker process",
            ),
        ]
        if any("pool" in label for label, _, _ in r.rss_mb):
            pool_ok = all(mb < TARGET_RSS_MB for label, mb, _ in r.rss_mb if "pool" in label)
            checks.append((pool_ok, f"< {TARGET_RSS_MB:g} MB per pool process (see the floors)"))
        for passed, label in checks:
            print(f"  {'ok  ' if passed else 'MISS'} {label}")
            ok = ok and passed
    return ok


def main() -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["huey", "celery", "both"], default="both")
    parser.add_argument("--products", type=int, default=240)
    args = parser.parse_args()
    names = ["huey", "celery"] if args.engine == "both" else [args.engine]
    results = [run_engine(name, args.products) for name in names]
    sys.exit(0 if report(results) else 1)


if __name__ == "__main__":
    main()
