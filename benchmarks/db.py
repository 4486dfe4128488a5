"""Persistence benchmark on SQLite and PostgreSQL: write throughput and the chart query.

Prints, for each database:
- snapshots persisted per second through the real pipeline (`persist_snapshots`), already
  extracted, committing one by one, and batched (500 snapshots per commit) both for a run where
  every snapshot is a different product and for many observations of the same products;
- p50/p95 latency of the chart query (one product, 3,650 points, among 1,000,000 price rows, or
  10,000,000 with --big), with the plan the database uses. The target is on the database side:
  PostgreSQL: EXPLAIN (ANALYZE, BUFFERS)'s execution time (the server; no transfer, no Python).
  SQLite, which runs inside the process: the SQL executed to completion on the raw DB-API cursor,
  `cursor.execute(sql, params)` then `fetchall()` of plain tuples (no ORM, no type conversion);
  printed beside it for information, SQLite stepping through the same rows and reading every
  column without handing them to Python, and `price_series` end to end in Python.

Then the targets, and exits 1 when one is missed. Not part of the test suite.

    python benchmarks/db.py [--big] [--backend sqlite|postgresql|both] [--postgres-url URL]

PostgreSQL: an admin URL (default PW_TEST_POSTGRES_URL or postgres@127.0.0.1:5432/postgres); a
throw-away database is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from pricewatch.adapters.db import migrate, repository
from pricewatch.adapters.db.engine import create_engine_for, normalise_url, session_factory
from pricewatch.adapters.db.tables import price_history, products
from pricewatch.config import DbSettings, Settings
from pricewatch.domain.snapshot import Availability, FetchInfo, ProductSnapshot
from pricewatch.services import pipeline

ADMIN_URL = os.environ.get(
    "PW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
T0 = datetime(2016, 1, 1, tzinfo=UTC)
CHART_POINTS = 3650
ROWS_PER_PRODUCT = 1000
CHART_RUNS = 200


@dataclass(frozen=True)
class Target:
    """A figure and the bound it must reach."""

    name: str
    value: float
    bound: float
    higher_is_better: bool = True

    @property
    def met(self) -> bool:
        return self.value >= self.bound if self.higher_is_better else self.value <= self.bound


@dataclass
class Report:
    backend: str
    lines: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def say(self, line: str) -> None:
        print(f"[{self.backend}] {line}", flush=True)
        self.lines.append(line)


# --- data --------------------------------------------------------------------------------------


def snapshot(product: int, at: datetime, *, rich: bool = True) -> ProductSnapshot:
    """An already-extracted snapshot, as the scraper produces it."""
    return ProductSnapshot(
        source="benchshop",
        reference=f"B{product:06d}",
        url=f"https://bench.example/p/{product}",
        title=f"Benchmark product {product}",
        price=Decimal(f"{10 + product % 500}.{at.minute:02d}"),
        currency="EUR",
        availability=Availability.IN_STOCK,
        brand="Acme",
        category="Kitchen",
        images=tuple(f"https://img.example/{product}/{i}.jpg" for i in range(3)) if rich else (),
        specs={f"spec {i}": f"value {i}" for i in range(5)} if rich else {},
        fetch=FetchInfo(duration_ms=350, html_size_bytes=180_000, http_status=200, fetched_at=at),
    )


def run_snapshots(count: int, products_: int, start: datetime) -> list[ProductSnapshot]:
    """`count` snapshots cycling over `products_` products, one minute apart per product."""
    return [
        snapshot(i % products_, start + timedelta(minutes=i // products_, seconds=i % 60))
        for i in range(count)
    ]


# --- databases ---------------------------------------------------------------------------------


@contextmanager
def database(backend: str, admin_url: str) -> Iterator[str]:
    """A fresh, migrated database; dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="pw-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            migrate.upgrade(migrate.alembic_config(url=url))
            yield url
        return
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"pw_bench_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = normalise_url(admin_url).set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(migrate.alembic_config(url=url))
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# --- writes ------------------------------------------------------------------------------------


def bench_writes(report: Report, url: str, data_dir: Path) -> None:
    """Pipeline throughput: one commit per snapshot, then batched.

    Beside each wall-clock rate (the one the targets use), the rate this process's CPU time alone
    would allow: on a busy machine the gap between the two is time spent waiting for a CPU (and,
    on PostgreSQL, the server's work, which runs in another process).
    """
    settings = Settings(data_dir=data_dir, db=DbSettings(url=url))
    single = run_snapshots(2000, 200, T0)
    rate, cpu = _persist_rate(single, settings, batch_size=1)
    report.say(
        f"pipeline, one commit per snapshot: {rate:,.0f} snapshots/s (2,000 snapshots; "
        f"{cpu:,.0f}/s by this process's CPU time)"
    )
    bound = 1000 if report.backend == "sqlite" else 300
    report.targets.append(Target("snapshots/s committing one by one", rate, bound))

    distinct = run_snapshots(20_000, 20_000, T0 + timedelta(days=30))
    rate, cpu = _persist_rate(distinct, settings, batch_size=500)
    report.say(
        f"pipeline, batched 500/commit, 20,000 different products: {rate:,.0f} price rows/s "
        f"({cpu:,.0f}/s by CPU time)"
    )
    repeated = run_snapshots(50_000, 100, T0 + timedelta(days=60))
    rate, cpu = _persist_rate(repeated, settings, batch_size=500)
    report.say(
        f"pipeline, batched 500/commit, 100 products x 500 observations: {rate:,.0f} price rows/s "
        f"({cpu:,.0f}/s by CPU time)"
    )
    report.targets.append(Target("price rows/s batched (100 products)", rate, 20_000))


def _persist_rate(
    snaps: list[ProductSnapshot], settings: Settings, *, batch_size: int
) -> tuple[float, float]:
    """Snapshots per second of wall-clock time, and of this process's CPU time."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result = pipeline.persist_snapshots(snaps, settings=settings, batch_size=batch_size)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if not result.ok or result.price_rows != len(snaps):
        raise SystemExit(f"benchmark run failed: {result.spooled[:1]} {result.price_rows}")
    return len(snaps) / elapsed, len(snaps) / cpu


# --- bulk load ---------------------------------------------------------------------------------


def bulk_load(report: Report, engine: Engine, total_rows: int) -> int:
    """Load `total_rows` price rows; return the id of the charted product (3,650 daily points)."""
    started = time.perf_counter()
    n_products = max(2, total_rows // ROWS_PER_PRODUCT)
    with engine.begin() as conn:
        rows = [
            {
                "source": "bulk",
                "reference": f"BULK{p:07d}",
                "url": f"https://bulk.example/{p}",
                "first_seen_at": T0,
                "last_updated_at": T0,
            }
            for p in range(n_products)
        ]
        conn.execute(insert(products), rows)
        first_id = conn.execute(text("SELECT min(id) FROM products WHERE source = 'bulk'"))
        base = int(first_id.scalar_one())
    chart_id = base
    others = total_rows - CHART_POINTS
    per_other = others // (n_products - 1)
    extra = others - per_other * (n_products - 1)
    plan = [(chart_id, CHART_POINTS, timedelta(days=1))]
    for p in range(1, n_products):
        count = per_other + (1 if p <= extra else 0)
        plan.append((base + p, count, timedelta(days=3650) / max(count, 1)))
    loader = _load_sqlite if engine.dialect.name == "sqlite" else _load_postgres
    loader(engine, plan)
    report.say(
        f"bulk-loaded {total_rows:,} price rows for {n_products:,} products in "
        f"{time.perf_counter() - started:,.1f} s"
    )
    return chart_id


def _rows(plan: list[tuple[int, int, timedelta]]) -> Iterator[tuple[int, datetime, Decimal]]:
    for product_id, count, step in plan:
        for i in range(count):
            yield product_id, T0 + step * i, Decimal(f"{100 + i % 50}.{i % 100:02d}")


def _processors(engine: Engine) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """The bind processors of fetched_at and price, to store values as the app does."""
    dialect = engine.dialect
    at = price_history.c.fetched_at.type.dialect_impl(dialect).bind_processor(dialect)
    price = price_history.c.price.type.dialect_impl(dialect).bind_processor(dialect)
    assert at is not None
    assert price is not None
    return at, price


def _load_sqlite(engine: Engine, plan: list[tuple[int, int, timedelta]]) -> None:
    """executemany in key order (the table is clustered on it)."""
    at, price = _processors(engine)
    sql = (
        "INSERT INTO price_history (product_id, fetched_at, price, shipping_cost, currency, "
        "stock_status, fetch_method, fetch_status) VALUES (?, ?, ?, NULL, 'EUR', 'in_stock', "
        "'http', 'ok')"
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # The app's SQLite connections are in autocommit mode (it issues BEGIN itself): without
        # this BEGIN every row would be a transaction of its own.
        cursor.execute("BEGIN")
        batch: list[tuple[Any, ...]] = []
        for product_id, when, amount in _rows(plan):
            batch.append((product_id, at(when), price(amount)))
            if len(batch) == 100_000:
                cursor.executemany(sql, batch)
                batch.clear()
        cursor.executemany(sql, batch)
        raw.commit()
        cursor.execute("ANALYZE")
        cursor.close()
    finally:
        raw.close()


def _load_postgres(engine: Engine, plan: list[tuple[int, int, timedelta]]) -> None:
    """COPY, in time order across products (as a real history is written)."""
    at, price = _processors(engine)
    raw = engine.raw_connection()
    try:
        cursor: Any = raw.cursor()
        copy_sql = (
            "COPY price_history (product_id, fetched_at, price, currency, stock_status, "
            "fetch_method, fetch_status) FROM STDIN"
        )
        with cursor.copy(copy_sql) as copy:
            for product_id, when, amount in _rows(plan):
                copy.write_row(
                    (product_id, at(when), price(amount), "EUR", "in_stock", "http", "ok")
                )
        raw.commit()
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        cursor.execute("VACUUM ANALYZE price_history")
        raw.driver_connection.autocommit = False  # type: ignore[union-attr]
        cursor.close()
    finally:
        raw.close()


# --- chart query -------------------------------------------------------------------------------


def bench_chart(report: Report, engine: Engine, product_id: int) -> None:
    """Latency of the chart query: database side, end to end, and the plan."""
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=CHART_POINTS + 1)
    stmt = repository.chart_query(product_id=product_id, start=start, end=end)
    dialect = engine.dialect
    compiled = stmt.compile(dialect=dialect)
    params = {
        name: (
            proc(value)
            if (proc := compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            else value
        )
        for name, value in compiled.params.items()
    }
    if compiled.positiontup:
        driver_params: Any = tuple(params[name] for name in compiled.positiontup)
    else:
        driver_params = params
    raw = engine.raw_connection()
    try:
        cursor: Any = raw.cursor()
        cursor.execute(compiled.string, driver_params)
        count = len(cursor.fetchall())
        if count != CHART_POINTS:
            raise SystemExit(f"chart query returned {count} rows, expected {CHART_POINTS}")
        if dialect.name == "sqlite":
            # In-process: the database side is the query run to completion on the DB-API cursor,
            # 3,650 plain tuples included (sqlite3 builds them while it steps).
            engine_sql = (
                "SELECT count(*), sum(length(fetched_at)), sum(price), sum(length(currency)), "
                f"sum(length(stock_status)) FROM ({compiled.string})"
            )
            stepping = _timed(lambda: cursor.execute(engine_sql, driver_params).fetchall())
            report.say(
                "chart query, for information: SQLite stepping through the rows and reading every "
                f"column, no Python rows: {_pcts(stepping)}"
            )
            db_ms = _timed(lambda: cursor.execute(compiled.string, driver_params).fetchall())
            plan = cursor.execute("EXPLAIN QUERY PLAN " + compiled.string, driver_params)
            plan_text = "; ".join(str(row[-1]) for row in plan.fetchall())
            side = "sqlite3 cursor.execute + fetchall() of plain tuples, no ORM, no conversion"
        else:
            explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + compiled.string
            db_ms = [_pg_execution_ms(cursor, explain, driver_params) for _ in range(CHART_RUNS)]
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + compiled.string, driver_params)
            plan_text = "\n    ".join(row[0] for row in cursor.fetchall())
            side = "PostgreSQL EXPLAIN ANALYZE execution time"
            round_trip = _timed(lambda: cursor.execute(compiled.string, driver_params).fetchall())
            report.say(f"chart query, client round trip (psycopg): {_pcts(round_trip)}")
        raw.rollback()
        cursor.close()
    finally:
        raw.close()
    report.say(f"chart query, {CHART_POINTS:,} points, database side ({side}): {_pcts(db_ms)}")
    report.say(f"  SQL: {' '.join(compiled.string.split())}")
    report.say(f"plan: {plan_text}")
    report.targets.append(Target("chart query p95 ms (database side)", _pct(db_ms, 95), 5.0, False))
    _bench_series(report, engine, product_id, start, end)


def _bench_series(
    report: Report, engine: Engine, product_id: int, start: datetime, end: datetime
) -> None:
    factory = session_factory(engine)
    with factory() as session:
        for resolution in ("raw", "day"):
            timings = _timed(
                lambda r=resolution: repository.price_series(  # type: ignore[misc]
                    session=session, product_id=product_id, start=start, end=end, resolution=r
                ),
                runs=50,
            )
            report.say(f"price_series({resolution}) end to end in Python: {_pcts(timings)}")


def _pg_execution_ms(cursor: Any, sql: str, params: Any) -> float:
    cursor.execute(sql, params)
    return float(cursor.fetchone()[0][0]["Execution Time"])


def _timed(fn: Callable[[], object], runs: int = CHART_RUNS) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _pct(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def _pcts(values: list[float]) -> str:
    return f"p50 {_pct(values, 50):.2f} ms, p95 {_pct(values, 95):.2f} ms"


# --- main --------------------------------------------------------------------------------------


def run_backend(backend: str, admin_url: str, total_rows: int) -> Report:
    """Every measurement on one database."""
    report = Report(backend)
    with database(backend, admin_url) as url, tempfile.TemporaryDirectory() as data_dir:
        report.say(f"database {make_url(url).render_as_string(hide_password=True)}")
        bench_writes(report, url, Path(data_dir))
        engine = create_engine_for(url)
        try:
            product_id = bulk_load(report, engine, total_rows)
            bench_chart(report, engine, product_id)
        finally:
            engine.dispose()
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--big", action="store_true", help="10,000,000 price rows")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres-url", default=ADMIN_URL, help="PostgreSQL admin URL")
    args = parser.parse_args(argv)
    total = 10_000_000 if args.big else 1_000_000
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}; {total:,} price rows", flush=True)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    reports = [run_backend(b, args.postgres_url, total) for b in backends]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nTargets ({os.cpu_count()} CPUs, load average now {load}):")
    missed = 0
    for report in reports:
        for target in report.targets:
            op = ">=" if target.higher_is_better else "<="
            state = "ok" if target.met else "MISSED"
            print(
                f"  [{report.backend}] {target.name}: {target.value:,.2f} "
                f"(target {op} {target.bound:,}) {state}"
            )
            missed += not target.met
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
