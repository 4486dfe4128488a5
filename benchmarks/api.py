"""Web API latency benchmark: the dashboard, the product list, /health and a long price history,
idle and while 2 workers scrape the demo shop flat out.

Everything runs as users run it, as separate processes talking over loopback:
- the database (SQLite by default, or a scratch PostgreSQL database with --postgres) is created
  with `pricewatch db init` and bulk-loaded with 10,000 products and 1,000,000 price rows (one
  product with 3,650 daily points), stored as the app stores them;
- the admin account and an API token come from the CLI (`pricewatch users create-admin
  --password-stdin`, `pricewatch tokens create`);
- `pricewatch demo-shop`, `pricewatch web` and 2 x `pricewatch worker` (Huey queue, one job slot
  each, PW_FETCH_ALLOW_HOSTS=127.0.0.1); the demo shop's 240 product pages are added through
  scrape jobs before measuring (9,760 seeded + 240 = 10,000 products).

A sequential client (httpx, keep-alive, one request at a time, endpoints taken in turn after a
warm-up) measures GET / (logged in through POST /login, session cookie), GET /api/products
(default page, bearer token), GET /health and GET /api/products/{id}/history (the 3,650-point
product, whole range): first idle (workers started, queue empty), then while the workers run
`scrape_all` jobs over the demo shop's products, two in flight, a new one queued as one ends.
It prints p50/p95/p99/max per endpoint and phase, the web process's CPU time per request and the
load average (on a shared machine, other load shows there), the workers' throughput during the
loaded phase, and the targets (loaded: p95 <= 10 ms for the product list and /health, <= 30 ms
for the history) as ok/MISSED lines. Exits 1 only on errors (a failed request, a process that
did not start), not on a missed target. Not part of the test suite.

    python benchmarks/api.py [--requests 300] [--postgres ADMIN_URL] [--keep]

--postgres: an admin URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres); a scratch
database is created and dropped. The job queue is the embedded Huey queue (SQLite) either way.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, func, insert, select, text

from pricewatch.adapters.db.engine import create_engine_for, normalise_url, session_factory
from pricewatch.adapters.db.tables import price_history, products, scraping_logs
from pricewatch.demo import Catalog

PRODUCTS = 10_000
PRICE_ROWS = 1_000_000
HISTORY_POINTS = 3650
DEMO_SEED = 1234
DEMO_PRODUCTS = 240
WORKERS = 2
WARMUP_ROUNDS = 30
ADMIN_USER = "admin"
ADMIN_PASSWORD = "bench-Password-4711"
#: Loaded-phase targets (p95, ms).
TARGETS = {"product list": 10.0, "health": 10.0, "history (3,650 points)": 30.0}
MODULE = [sys.executable, "-m", "pricewatch"]


# --- processes ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Bench:
    """The scratch environment: where things live and the processes started."""

    workdir: Path
    db_url: str
    procs: list[tuple[str, subprocess.Popen[bytes], Path]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PW_")}
        env.update(
            PW_DATA_DIR=str(self.workdir),
            PW_DB_URL=self.db_url,
            PW_BROKER_URL=f"sqlite:///{self.workdir / 'queue.db'}",
            PW_FETCH_ALLOW_HOSTS="127.0.0.1",
            PW_FETCH_RETRIES="0",
            PW_BROWSER_MODE="never",
            PW_WORKER_WORKERS="1",
            PW_JOBS_CONCURRENCY="8",
            PW_WEB_SECURE_COOKIES="never",
        )
        return env

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run `pricewatch <args>` to completion; its stdout (stderr too on failure)."""
        done = subprocess.run(
            [*MODULE, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.workdir,  # no stray .env file
            timeout=300,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(
                f"pricewatch {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
        return done.stdout + done.stderr

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start `pricewatch <args>` in the background, output in <workdir>/<name>.log."""
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*MODULE, *args],
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.procs.append((name, proc, log))
        return proc

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def tails(self, lines: int = 30) -> str:
        """The last lines of every process's output (to explain a failure)."""
        return "".join(
            f"\n--- {name}.log (last {lines} lines):\n"
            + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for name, _, log in self.procs
            if log.exists()
        )

    def check_alive(self) -> None:
        for name, proc, log in self.procs:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")

    def stop_all(self) -> None:
        for _, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for _, proc, _ in reversed(self.procs):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait_for(what: str, ready: Callable[[], bool], bench: Bench, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        bench.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout:g} s")
        time.sleep(0.05)


def _listening(port: int) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    return ready


@contextmanager
def _database(workdir: Path, postgres_admin: str | None) -> Iterator[str]:
    """The URL of an empty scratch database (PostgreSQL: created, and dropped afterwards)."""
    if postgres_admin is None:
        yield f"sqlite:///{workdir / 'pricewatch.db'}"
        return
    admin = create_engine(normalise_url(postgres_admin), isolation_level="AUTOCOMMIT")
    name = f"pw_bench_api_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield normalise_url(postgres_admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# --- data --------------------------------------------------------------------------------------

SOURCES = [f"shop{n}.example" for n in range(1, 13)]
CATEGORIES = ["Laptops", "Smartphones", "Headphones", "Cameras", "Kitchen", "Garden", "Toys",
              "Books", "Monitors", "Tablets", "Watches", "Shoes"]  # fmt: skip
BRANDS = ["Acme", "Lumio", "Pyxel", "Nordik", "Vanta", "Orbis", "Kestrel", "Solvay"]


def seed(engine: Engine, *, product_count: int, price_rows: int, now: datetime) -> int:
    """Bulk-load the synthetic catalog and its price history; the id of the 3,650-point product.

    Products: `product_count` of them, over 12 sources. Prices: one product with HISTORY_POINTS
    daily points ending today; the other rows spread over the other products (about 100 each),
    each product's observations spread from its first sighting (up to 2 years ago) to about now,
    a random walk in cents with occasional stock-outs. Values go through the columns' own bind
    processors, so they are stored exactly as the app stores them.
    """
    rng = random.Random(20261122)
    rows: list[dict[str, Any]] = []
    for n in range(product_count):
        src = SOURCES[n % len(SOURCES)]
        first = now - timedelta(days=HISTORY_POINTS if n == 0 else rng.randint(30, 730))
        rows.append(
            {
                "source": src,
                "reference": f"REF-{n:06d}",
                "url": f"https://{src}/p/{n}",
                "title": f"{BRANDS[n % len(BRANDS)]} {CATEGORIES[n % len(CATEGORIES)][:-1]} "
                f"model {n} with a reasonably long product title",
                "category": CATEGORIES[n % len(CATEGORIES)],
                "brand": BRANDS[n % len(BRANDS)],
                "currency": "EUR" if n % 3 else "USD",
                "first_seen_at": first,
                "last_updated_at": now - timedelta(minutes=rng.randint(1, 24 * 60)),
                "enabled": n % 50 != 0,
                "check_interval": 86_400,
                "next_check_at": now + timedelta(seconds=rng.randint(60, 86_400)),
            }
        )
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(products), rows[start : start + 5000])
        ids = [
            int(i) for i in conn.execute(select(products.c.id).order_by(products.c.id)).scalars()
        ]
    history_id = ids[0]
    others = ids[1:]
    per, extra = divmod(price_rows - HISTORY_POINTS, len(others))

    at_proc, price_proc = _processors(engine)
    # The stored price straight from integer cents (what the Amount column's processor makes of
    # the Decimal: cents on SQLite, NUMERIC elsewhere); checked against the processor below.
    sqlite = engine.dialect.name == "sqlite"
    stock = ["in_stock"] * 18 + ["out_of_stock", "preorder"]
    later = now - timedelta(hours=2)

    def product_rows() -> Iterator[tuple[Any, ...]]:
        draw = rng.random
        for index, pid in enumerate([history_id, *others]):
            count = HISTORY_POINTS if index == 0 else per + (1 if index <= extra else 0)
            first = rows[index]["first_seen_at"]
            step = (later - first) / count
            cents = rng.randint(500, 200_000)
            currency = rows[index]["currency"]
            assert price_proc(Decimal(cents).scaleb(-2)) == (
                cents if sqlite else Decimal(cents).scaleb(-2)
            )
            for i in range(count):
                r = draw()  # one draw: move, its size, stock status and the minute's jitter
                if r < 0.15 or r > 0.85:
                    size = 1 + int(r * 1e6) % max(1, cents // 20)
                    cents = max(99, cents - size if r < 0.15 else cents + size)
                yield (
                    pid,
                    at_proc(first + step * i + timedelta(seconds=int(r * 1e9) % 600)),
                    cents if sqlite else Decimal(cents).scaleb(-2),
                    currency,
                    stock[int(r * 1e7) % 20],
                )

    if engine.dialect.name == "sqlite":
        _load_sqlite(engine, product_rows())
    else:
        _load_postgres(engine, product_rows())
    return history_id


def _processors(engine: Engine) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    dialect = engine.dialect
    at = price_history.c.fetched_at.type.dialect_impl(dialect).bind_processor(dialect)
    price = price_history.c.price.type.dialect_impl(dialect).bind_processor(dialect)
    assert at is not None
    assert price is not None
    return at, price


def _load_sqlite(engine: Engine, rows: Iterator[tuple[Any, ...]]) -> None:
    """executemany in batches in one transaction, in key order (the table is clustered on it).

    The engine's connections are in sqlite3's autocommit mode (`isolation_level = None`, so that
    SQLAlchemy's "begin" hook decides how transactions start): without the explicit BEGIN, each
    row would be a transaction of its own, about 15 times slower.
    """
    sql = (
        "INSERT INTO price_history (product_id, fetched_at, price, shipping_cost, currency, "
        "stock_status, fetch_method, fetch_status) VALUES (?, ?, ?, NULL, ?, ?, 'http', 'ok')"
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 100_000:
                cursor.executemany(sql, batch)
                batch.clear()
        cursor.executemany(sql, batch)
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE")
        cursor.close()
    finally:
        raw.close()


def _load_postgres(engine: Engine, rows: Iterator[tuple[Any, ...]]) -> None:
    """COPY, then VACUUM ANALYZE (visibility map for index-only scans, fresh statistics)."""
    raw = engine.raw_connection()
    try:
        cursor: Any = raw.cursor()
        sql = (
            "COPY price_history (product_id, fetched_at, price, currency, stock_status, "
            "fetch_method, fetch_status) FROM STDIN"
        )
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row((*row, "http", "ok"))
        raw.commit()
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        cursor.execute("VACUUM ANALYZE")
        raw.driver_connection.autocommit = False  # type: ignore[union-attr]
        cursor.close()
    finally:
        raw.close()


def demo_urls(base_url: str) -> list[str]:
    """The demo shop's product URLs (the same catalog `pricewatch demo-shop --seed` serves)."""
    catalog = Catalog(seed=DEMO_SEED, product_count=DEMO_PRODUCTS)
    return [base_url + p.url_path for p in catalog.sample(DEMO_PRODUCTS)]


# --- accounts ----------------------------------------------------------------------------------


def credentials(bench: Bench) -> tuple[str, str]:
    """Create the admin account and an API token, through the CLI when it has the commands
    (else through `services.accounts`, what the commands call); the token and how it was made."""
    commands = bench.cli("--help")
    if all(re.search(rf"^\W*{name}\s", commands, re.MULTILINE) for name in ("users", "tokens")):
        bench.cli("users", "create-admin", "--username", ADMIN_USER, "--password-stdin",
                  stdin=ADMIN_PASSWORD + "\n")  # fmt: skip
        said = bench.cli("tokens", "create", "--user", ADMIN_USER, "--name", "benchmark")
        found = re.search(r"\bpw_[A-Za-z0-9_\-]{16,}", said)
        if not found:
            raise RuntimeError(f"no token in the output of `tokens create`: {said!r}")
        return found.group(0), "CLI"
    from pricewatch.services import accounts

    db = create_engine_for(bench.db_url)
    try:
        sessions = session_factory(db)
        accounts.create_admin(sessions=sessions, username=ADMIN_USER, password=ADMIN_PASSWORD)
        made = accounts.create_token_for(sessions=sessions, username=ADMIN_USER, name="benchmark")
    finally:
        db.dispose()
    return made.token, "services.accounts (no `users`/`tokens` commands yet)"


def login(client: httpx.Client) -> None:
    """Log in through the login form (session cookie in the client's jar)."""
    page = client.get("/login")
    page.raise_for_status()
    form = {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "next": "/"}
    found = re.search(r'name="csrf_token"\s+value="([^"]+)"', page.text)
    if found:
        form["csrf_token"] = found.group(1)
    answer = client.post("/login", data=form)
    if answer.status_code not in (200, 302, 303):
        raise RuntimeError(f"POST /login answered {answer.status_code}: {answer.text[:300]}")
    check = client.get("/")
    if check.status_code != 200:
        raise RuntimeError(f"GET / after login answered {check.status_code} (not logged in?)")


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Endpoint:
    name: str
    client: httpx.Client
    path: str
    ms: list[float] = field(default_factory=list)
    size: int = 0

    def hit(self) -> float:
        started = time.perf_counter()
        answer = self.client.get(self.path)  # the whole body is read
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise RuntimeError(
                f"GET {self.path} answered {answer.status_code}: {answer.text[:300]}"
            )
        self.size = len(answer.content)
        return elapsed


def measure(endpoints: list[Endpoint], requests: int) -> dict[str, list[float]]:
    """Warm up, then `requests` rounds taking each endpoint in turn; milliseconds per endpoint."""
    for _ in range(WARMUP_ROUNDS):
        for ep in endpoints:
            ep.hit()
    timings: dict[str, list[float]] = {ep.name: [] for ep in endpoints}
    for _ in range(requests):
        for ep in endpoints:
            timings[ep.name].append(ep.hit())
    return timings


def _pct(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def _row(name: str, values: list[float]) -> str:
    return (
        f"  {name:<24} p50 {_pct(values, 50):7.2f}  p95 {_pct(values, 95):7.2f}  "
        f"p99 {_pct(values, 99):7.2f}  max {max(values):7.2f} ms"
    )


class Feeder:
    """Keeps the workers busy: two `scrape_all` jobs over the demo shop's products in flight
    (each over half of them), a new one queued as soon as one ends."""

    def __init__(self, bench: Bench, halves: list[list[int]]) -> None:
        from pricewatch.config import load_settings
        from pricewatch.worker.engines import engine_for

        self.settings = load_settings(
            data_dir=bench.workdir, db={"url": bench.db_url}, broker_url=bench.env["PW_BROKER_URL"]
        )
        self.db = create_engine_for(bench.db_url)
        self.sessions = session_factory(self.db)
        self.engine = engine_for(self.settings)
        self.halves = halves
        self.jobs_done = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _enqueue(self, half: list[int]) -> int:
        from pricewatch.domain.job import ItemFilter
        from pricewatch.services import jobs

        chosen = ItemFilter(include_products=[str(i) for i in half])
        return jobs.enqueue_scrape_all(
            sessions=self.sessions, engine=self.engine, item_filter=chosen
        ).job_id

    def _run(self) -> None:
        from pricewatch.domain.job import is_terminal
        from pricewatch.services import jobs

        try:
            running = {n: self._enqueue(h) for n, h in enumerate(self.halves)}
            while not self._stop.wait(0.25):
                for n, job_id in list(running.items()):
                    if is_terminal(jobs.get(sessions=self.sessions, job_id=job_id).status):
                        self.jobs_done += 1
                        running[n] = self._enqueue(self.halves[n])
            for job_id in running.values():
                # A job that ended since the last look has nothing left to cancel.
                with contextlib.suppress(jobs.JobStateError):
                    jobs.cancel(sessions=self.sessions, engine=self.engine, job_id=job_id)
        except BaseException as exc:
            self.error = exc

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self.engine.close()
        self.db.dispose()
        if self.error is not None:
            raise RuntimeError(f"feeding the workers failed: {self.error!r}") from self.error


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _phase(
    endpoints: list[Endpoint], requests: int, web_pid: int
) -> tuple[dict[str, list[float]], float, str]:
    """`measure`, the web process's CPU milliseconds per request, and the load average."""
    cpu = _cpu_seconds(web_pid)
    timings = measure(endpoints, requests)
    cpu = _cpu_seconds(web_pid) - cpu
    per_request = cpu * 1000 / ((WARMUP_ROUNDS + requests) * len(endpoints))
    return timings, per_request, ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _fetches(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(scraping_logs)).scalar_one())


def _wait_jobs_idle(bench: Bench, engine: Engine, timeout: float) -> None:
    def idle() -> bool:
        with engine.connect() as conn:
            busy = conn.execute(
                text("SELECT count(*) FROM jobs WHERE status IN ('pending', 'running')")
            ).scalar_one()
        return int(busy) == 0

    _wait_for("the first scrape of the demo shop", idle, bench, timeout)


# --- main --------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}", flush=True)
    with ExitStack() as stack:
        tmp = tempfile.mkdtemp(prefix="pw-bench-api-")
        if not args.keep:
            stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        workdir = Path(tmp)
        db_url = stack.enter_context(_database(workdir, args.postgres))
        bench = Bench(workdir, db_url)
        stack.callback(bench.stop_all)
        try:
            return _run(args, stack, bench, db_url, workdir)
        except (RuntimeError, httpx.HTTPError) as exc:
            raise RuntimeError(f"{exc}{bench.tails()}") from exc
    return 0


def _run(
    args: argparse.Namespace, stack: ExitStack, bench: Bench, db_url: str, workdir: Path
) -> int:
    """`run` once the scratch directory and database exist."""
    backend = "postgresql" if args.postgres else "sqlite"
    print(f"database: {backend}; work directory {workdir}", flush=True)

    bench.cli("db", "init")
    engine = create_engine_for(db_url)
    stack.callback(engine.dispose)
    now = datetime.now(UTC)
    started = time.perf_counter()
    history_id = seed(
        engine, product_count=args.products - DEMO_PRODUCTS, price_rows=args.rows, now=now
    )
    print(
        f"seeded {args.products - DEMO_PRODUCTS:,} products and {args.rows:,} price rows in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    token, made_by = credentials(bench)
    print(f"admin account and API token created through {made_by}", flush=True)

    shop_port, web_port = _free_port(), _free_port()
    bench.start("demo-shop", "demo-shop", "--port", str(shop_port), "--seed", str(DEMO_SEED),
                "--products", str(DEMO_PRODUCTS))  # fmt: skip
    web = bench.start("web", "web", "--host", "127.0.0.1", "--port", str(web_port))
    for n in range(WORKERS):
        bench.start(f"worker{n + 1}", "worker")
    _wait_for("the demo shop", _listening(shop_port), bench)
    _wait_for("the web process", _listening(web_port), bench)
    _wait_for(
        "the workers",
        lambda: all("Worker:" in bench.log(f"worker{n + 1}") for n in range(WORKERS)),
        bench,
    )

    # The demo shop's products enter as users add them: one scrape job per URL.
    from pricewatch.services import jobs as jobs_service

    feeder = Feeder(bench, [])
    urls = demo_urls(f"http://127.0.0.1:{shop_port}")
    started = time.perf_counter()
    jobs_service.enqueue_urls(sessions=feeder.sessions, engine=feeder.engine, urls=urls)
    _wait_jobs_idle(bench, engine, timeout=300)
    with engine.connect() as conn:
        demo_ids = [
            int(i)
            for i in conn.execute(
                select(products.c.id).where(products.c.source == "127.0.0.1")
            ).scalars()
        ]
        total = int(conn.execute(select(func.count()).select_from(products)).scalar_one())
        rows = int(conn.execute(select(func.count()).select_from(price_history)).scalar_one())
    print(
        f"added the demo shop's {len(demo_ids)} products through jobs in "
        f"{time.perf_counter() - started:.1f} s: {total:,} products, {rows:,} price rows",
        flush=True,
    )
    feeder.halves = [demo_ids[0::2], demo_ids[1::2]]

    base = f"http://127.0.0.1:{web_port}"
    browser = stack.enter_context(httpx.Client(base_url=base, timeout=30))
    script = stack.enter_context(
        httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
    )
    public = stack.enter_context(httpx.Client(base_url=base, timeout=30))
    login(browser)
    start = (now - timedelta(days=HISTORY_POINTS + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    endpoints = [
        Endpoint("dashboard", browser, "/"),
        Endpoint("product list", script, "/api/products"),
        Endpoint("health", public, "/health"),
        Endpoint(
            "history (3,650 points)",
            script,
            f"/api/products/{history_id}/history?from={start}&to={end}",
        ),
    ]
    points = len(script.get(endpoints[3].path).json()["points"])
    print(f"history endpoint returns {points:,} points", flush=True)

    idle, idle_cpu, idle_load = _phase(endpoints, args.requests, web.pid)
    bench.check_alive()

    feeder.start()
    time.sleep(2.0)  # both workers inside their first job
    fetched_before, started = _fetches(engine), time.perf_counter()
    loaded, loaded_cpu, loaded_load = _phase(endpoints, args.requests, web.pid)
    elapsed = time.perf_counter() - started
    fetched = _fetches(engine) - fetched_before
    feeder.stop()
    bench.check_alive()

    print(f"\n{backend}: {args.requests} requests per endpoint, sequential, keep-alive")
    sizes = ", ".join(f"{ep.name} {ep.size:,} B" for ep in endpoints)
    print(f"  response sizes: {sizes}")
    print(
        f"idle (workers started, queue empty; web process CPU {idle_cpu:.1f} ms per "
        f"request; load average {idle_load}):"
    )
    for ep in endpoints:
        print(_row(ep.name, idle[ep.name]))
    print(
        f"loaded ({WORKERS} workers scraping the demo shop; web process CPU "
        f"{loaded_cpu:.1f} ms per request; load average {loaded_load}):"
    )
    for ep in endpoints:
        print(_row(ep.name, loaded[ep.name]))
    print(
        f"  workers: {fetched / elapsed:.1f} products/s ({fetched:,} fetches in "
        f"{elapsed:.1f} s, {feeder.jobs_done} scrape_all jobs finished)"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nTargets, loaded ({os.cpu_count()} CPUs, load average now {load}):")
    for name, bound in TARGETS.items():
        p95 = _pct(loaded[name], 95)
        state = "ok" if p95 <= bound else "MISSED"
        print(f"  [{backend}] {name} p95: {p95:.2f} ms (target <= {bound:g} ms) {state}")
    if args.keep:
        print(f"kept {workdir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint and phase")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="PostgreSQL instead of SQLite")
    parser.add_argument("--products", type=int, default=PRODUCTS, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=PRICE_ROWS, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (RuntimeError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
