"""Job fixtures: the database fixtures of tests/db (SQLite and PostgreSQL), a fake engine, the demo
shop seeded into a catalog, and a real Huey worker consuming in a background thread.

Tests that run jobs for real (threads, a consumer) use `fresh_url`: a migrated database of their
own, committed for real. The rolled-back `sessions` suit the repository and service tests.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.engine import create_engine_for, session_factory
from pricewatch.config import BrowserSettings, DbSettings, FetchSettings, Settings
from pricewatch.demo import DemoShop
from pricewatch.domain.job import JobStatus, is_terminal
from pricewatch.domain.snapshot import ProductSnapshot
from pricewatch.services import jobs, pipeline
from pricewatch.services.jobs import JobConfig
from pricewatch.worker.celery_engine import CeleryEngine, CeleryWorker
from pricewatch.worker.engines import AnyEngine
from pricewatch.worker.huey_engine import HueyEngine, HueyWorker, WorkerConfig
from tests.db import conftest as db

# The database fixtures of tests/db, for this package too (same databases, same isolation).
backend = db.backend
connection = db.connection
empty_url = db.empty_url
engine = db.engine
fresh_url = db.fresh_url
postgres_admin = db.postgres_admin
session = db.session
sessions = db.sessions
shared_engines = db.shared_engines
shared_urls = db.shared_urls
make_snapshot = db.make_snapshot

#: Short beats so cancels and stops are quick to see; a long time limit.
FAST = JobConfig(
    concurrency=4,
    heartbeat_seconds=0.5,
    cancel_poll_seconds=0.2,
    retry_base_seconds=0.1,
    retry_cap_seconds=0.5,
)


def job_settings(url: str, data_dir: Path) -> Settings:
    """Settings on `url` that may fetch the demo shop, without a browser or fetch retries."""
    return Settings(
        data_dir=data_dir,
        db=DbSettings(url=url),
        fetch=FetchSettings(allow_hosts=["127.0.0.1"], retries=0, total_timeout=30),
        browser=BrowserSettings(mode="never"),
    )


@dataclass
class FakeEngine:
    """A JobEngine that records what it is handed; `down` makes it fail like a dead broker."""

    down: bool = False
    submitted: list[int] = field(default_factory=list)
    revoked: list[tuple[str, bool]] = field(default_factory=list)

    def submit(self, job_id: int) -> str:
        if self.down:
            raise ConnectionError("broker unreachable")
        self.submitted.append(job_id)
        return f"task-{job_id}"

    def revoke(self, engine_task_id: str, *, terminate: bool) -> None:
        self.revoked.append((engine_task_id, terminate))


@pytest.fixture
def fake_engine() -> FakeEngine:
    """A recording engine."""
    return FakeEngine()


@pytest.fixture
def real_sessions(fresh_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions committing for real on a fresh database of the test's backend."""
    db = create_engine_for(fresh_url)
    try:
        yield session_factory(db)
    finally:
        db.dispose()


@pytest.fixture
def settings(fresh_url: str, tmp_path: Path) -> Settings:
    """Settings on the fresh database, data (the queue) under tmp_path."""
    return job_settings(fresh_url, tmp_path / "data")


def seed_catalog(sessions: sessionmaker[Session], snapshots: list[ProductSnapshot]) -> None:
    """Products (one snapshot each) for catalog-wide jobs to select."""
    with sessions() as s:
        pipeline.process_batch(snapshots, session=s)


def catalog_snapshot(
    shop: DemoShop, path: str, *, reference: str, source: str = "demo", category: str = "misc"
) -> ProductSnapshot:
    """A product of the demo shop at `path` (any page, also a failing one)."""
    return make_snapshot(reference, source=source, url=shop.url(path), category=category)


def wait_for(
    condition: Callable[[], bool], *, timeout: float = 20.0, interval: float = 0.05
) -> float:
    """Poll until `condition()`; the seconds it took (fails the test on timeout)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)
    return time.monotonic() - started


def status_of(sessions: sessionmaker[Session], job_id: int) -> JobStatus:
    """The job's status now."""
    return jobs.get(sessions=sessions, job_id=job_id).status


def ended(sessions: sessionmaker[Session], *job_ids: int) -> Callable[[], bool]:
    """A condition: all these jobs are over."""
    return lambda: all(is_terminal(status_of(sessions, j)) for j in job_ids)


def seed_slow(
    shop: DemoShop,
    sessions: sessionmaker[Session],
    n: int,
    delay: float,
    *,
    category: str = "slow",
    first: int = 0,
) -> None:
    """`n` products whose pages answer after `delay` seconds, in `category`."""
    products = shop.catalog.products[first : first + n]
    seed_catalog(
        sessions,
        [
            catalog_snapshot(
                shop,
                f"/slow?delay={delay:g}&sku={p.sku}",
                reference=f"SLOW-{p.sku}",
                category=category,
            )
            for p in products
        ],
    )


class ThreadWorker:
    """A worker of either engine consuming in a background thread; `stop()` is graceful."""

    def __init__(self, engine: AnyEngine) -> None:
        self.engine = engine
        self._celery: CeleryWorker | None = None
        self._huey: HueyWorker | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ThreadWorker:
        engine = self.engine
        if isinstance(engine, CeleryEngine):
            engine.stopping.clear()
            self._celery = CeleryWorker(
                engine, pool="threads", hostname=f"pw-test-{uuid.uuid4().hex[:8]}@localhost"
            ).start_in_thread()
        else:
            self._huey = HueyWorker(engine, periodic=False)
            self._thread = threading.Thread(target=self._huey.run, name="huey", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._celery is not None:
            self._celery.request_stop(timeout=20)
            self._celery = None
        if self._huey is not None and self._thread is not None:
            self._huey.request_stop()
            self._thread.join(20)
            assert not self._thread.is_alive(), "the Huey consumer did not stop"
            self._huey = None


@pytest.fixture
def huey_engine(settings: Settings, tmp_path: Path) -> Iterator[HueyEngine]:
    """The embedded engine on a queue file in tmp_path (closed at the end)."""
    engine = HueyEngine(
        settings,
        config=FAST,
        worker=WorkerConfig(workers=3, shutdown_timeout=10),
        path=tmp_path / "queue.db",
    )
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def start_worker(huey_engine: HueyEngine) -> Iterator[Callable[[], ThreadWorker]]:
    """Starts the consumer on `huey_engine` when called; stops it at the end of the test."""
    started: list[ThreadWorker] = []

    def start() -> ThreadWorker:
        worker = ThreadWorker(huey_engine).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
