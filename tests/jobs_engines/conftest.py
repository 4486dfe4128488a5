"""The job suite on each engine, database and broker pricewatch runs on.

`engine_setup` parametrises every test here: Huey on SQLite (the default deployment), Huey on
PostgreSQL, Celery with Redis on PostgreSQL, and Celery with RabbitMQ on PostgreSQL (the
RabbitMQ at PW_TEST_RABBITMQ_URL, default guest@127.0.0.1:5672, a queue and exchange of the
test's own, deleted afterwards); `engine_name` and `backend` follow it. A test
that only means one engine names its setups (`@pytest.mark.parametrize("engine_setup", ...)`).
PostgreSQL databases are a throw-away schema per test. Celery uses the Redis at
PW_TEST_REDIS_URL (default 127.0.0.1:6379, database 12) with a queue of its own per test, whose
keys are deleted afterwards; nothing else in that Redis is touched. When Redis or PostgreSQL is
unreachable the tests needing it skip with the reason, except under CI=true, where they fail.

Workers run in a background thread of the test process (Huey's consumer; Celery's worker with
a thread pool), except in the fault tests that kill or restart real worker processes.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import kombu
import pytest
import redis
from kombu.exceptions import KombuError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.engine import create_engine_for, session_factory
from pricewatch.adapters.db.job_tables import product_locks
from pricewatch.config import Settings
from pricewatch.demo import DemoShop
from pricewatch.domain.job import JobStatus
from pricewatch.services.jobs import JobConfig
from pricewatch.worker.celery_engine import CeleryEngine
from pricewatch.worker.engines import uses_celery
from pricewatch.worker.huey_engine import HueyEngine, WorkerConfig
from tests.db import conftest as db
from tests.jobs import conftest as jobs_conftest
from tests.jobs.conftest import ThreadWorker, job_settings, status_of

# The database fixtures of tests/db (same databases, same isolation).
empty_url = db.empty_url
fresh_url = db.fresh_url
postgres_admin = db.postgres_admin

REDIS_URL = os.environ.get("PW_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
RABBITMQ_URL = os.environ.get("PW_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
RUN_ID = uuid.uuid4().hex[:8]
_queues = itertools.count(1)

#: Short beats so cancels and stops are quick to see; a long time limit.
FAST = JobConfig(
    concurrency=4,
    heartbeat_seconds=0.5,
    cancel_poll_seconds=0.2,
    stale_after_seconds=3.0,
    retry_base_seconds=0.1,
    retry_cap_seconds=0.5,
    time_limit=120.0,
)
WORKERS = WorkerConfig(workers=3, shutdown_timeout=10)

AnyEngine = HueyEngine | CeleryEngine

# Celery warns at every broker connection loss that a later major version will cancel running
# tasks then; we keep them running on purpose (see worker.celery_engine), so the warning is
# expected in the tests that stop a broker. Only this message, only in this package.
_CELERY_WARNING = (
    "ignore:\\s*In Celery 5.1 we introduced an optional breaking change:"
    "celery.exceptions.CPendingDeprecationWarning"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ignore Celery's expected deprecation notice in this package's tests only."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings(_CELERY_WARNING))


def _missing(what: str, reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required when CI=true but is unreachable: {reason}")
    pytest.skip(f"{what} unreachable: {reason}")


#: The (engine, database, broker) set-ups the suite runs on, with their test ids.
HUEY_SQLITE = pytest.param(("huey", "sqlite", "sqlite"), id="huey-sqlite")
HUEY_POSTGRESQL = pytest.param(("huey", "postgresql", "sqlite"), id="huey-postgresql")
CELERY_POSTGRESQL = pytest.param(("celery", "postgresql", "redis"), id="celery-postgresql")
CELERY_RABBITMQ = pytest.param(("celery", "postgresql", "amqp"), id="celery-rabbitmq")
HUEY_SETUPS = [HUEY_SQLITE, HUEY_POSTGRESQL]
#: The set-ups of the fault tests, which stop and restart a broker of their own (Redis).
ENGINE_SETUPS = [*HUEY_SETUPS, CELERY_POSTGRESQL]
#: Every set-up, RabbitMQ included (the shared one on 127.0.0.1:5672).
ALL_SETUPS = [*ENGINE_SETUPS, CELERY_RABBITMQ]


@pytest.fixture(params=ALL_SETUPS)
def engine_setup(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    """The job engine, the database kind and the broker kind a test runs on."""
    engine_name, backend, broker = request.param
    return str(engine_name), str(backend), str(broker)


@pytest.fixture
def engine_name(engine_setup: tuple[str, str, str]) -> str:
    """The job engine a test runs on: "huey" or "celery"."""
    return engine_setup[0]


@pytest.fixture
def backend(engine_setup: tuple[str, str, str]) -> str:
    """The database kind a test runs on: "sqlite" or "postgresql"."""
    return engine_setup[1]


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    """The test RabbitMQ; skips when unreachable (fails under CI=true)."""
    with kombu.Connection(RABBITMQ_URL, connect_timeout=2) as connection:
        try:
            connection.ensure_connection(max_retries=1, timeout=2)
        except (KombuError, OSError) as exc:
            _missing(f"RabbitMQ at {RABBITMQ_URL}", str(exc))
    return RABBITMQ_URL


def delete_amqp_queue(url: str, queue: str) -> None:
    """Remove a test queue and its exchange from RabbitMQ."""
    with kombu.Connection(url, connect_timeout=2) as connection:
        channel = connection.default_channel
        channel.queue_delete(queue)
        channel.exchange_delete(queue)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis (its database number is this suite's); skips when unreachable."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        _missing(f"Redis at {REDIS_URL}", str(exc))
    finally:
        client.close()
    return REDIS_URL


def delete_queue_keys(url: str, queue: str) -> None:
    """Remove a test queue's keys, and its messages waiting for an ack, from Redis."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        keys = [
            *client.scan_iter(match=f"{queue}*"),
            f"_kombu.binding.{queue}",
            f"_kombu.binding_permanent.{queue}",
        ]
        client.delete(*keys)
        for tag, raw in client.hscan_iter("unacked"):
            if json.loads(raw)[1] == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    except redis.RedisError:
        pass  # a throw-away server that is gone already
    finally:
        client.close()


@pytest.fixture
def queue_name() -> str:
    """A Celery queue (and exchange) of the test's own."""
    return f"pw-test-{RUN_ID}-{next(_queues)}"


@pytest.fixture
def settings(
    fresh_url: str,
    tmp_path: Path,
    engine_setup: tuple[str, str, str],
    request: pytest.FixtureRequest,
) -> Settings:
    """Settings on the fresh database; the broker of the test's set-up."""
    base = job_settings(fresh_url, tmp_path / "data")
    kind = engine_setup[2]
    if kind == "sqlite":
        broker = f"sqlite:///{tmp_path / 'queue' / 'queue.db'}"
    else:
        broker = request.getfixturevalue("redis_url" if kind == "redis" else "rabbitmq_url")
    return base.model_copy(update={"broker_url": broker, "jobs": FAST, "worker": WORKERS})


def make_engine(settings: Settings, *, queue: str) -> AnyEngine:
    """The engine `settings` name, on `queue` for Celery."""
    if uses_celery(settings):
        return CeleryEngine(settings, queue=queue)
    return HueyEngine(settings)


@pytest.fixture
def engine(settings: Settings, queue_name: str) -> Iterator[AnyEngine]:
    """The test's engine (closed, and its broker queue deleted, at the end)."""
    made = make_engine(settings, queue=queue_name)
    try:
        yield made
    finally:
        made.close()
        if isinstance(made, CeleryEngine) and made.url.startswith("amqp"):
            delete_amqp_queue(made.url, queue_name)
        elif isinstance(made, CeleryEngine):
            delete_queue_keys(made.url, queue_name)


@pytest.fixture
def real_sessions(fresh_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions committing for real on the fresh database."""
    made = create_engine_for(fresh_url)
    try:
        yield session_factory(made)
    finally:
        made.dispose()


class Worker(Protocol):
    def stop(self) -> None: ...


@pytest.fixture
def start_worker(engine: AnyEngine) -> Iterator[Callable[[], ThreadWorker]]:
    """Starts a worker thread on the test's engine when called; stops it at the end."""
    started: list[ThreadWorker] = []

    def start() -> ThreadWorker:
        worker = ThreadWorker(engine).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


# --- real worker processes ---------------------------------------------------------------------


def worker_environment(settings: Settings, shop: DemoShop) -> dict[str, str]:
    """The environment of a `pricewatch worker` process on `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PW_")}
    jobs_config = settings.jobs
    env.update(
        PW_DATA_DIR=str(settings.data_dir),
        PW_DB_URL=settings.database_url,
        PW_BROKER_URL=settings.broker_url or "",
        PW_FETCH_ALLOW_HOSTS="127.0.0.1",
        PW_FETCH_RETRIES="0",
        PW_BROWSER_MODE="never",
        PW_JOBS_CONCURRENCY=str(jobs_config.concurrency),
        PW_JOBS_HEARTBEAT_SECONDS=str(jobs_config.heartbeat_seconds),
        PW_JOBS_CANCEL_POLL_SECONDS=str(jobs_config.cancel_poll_seconds),
        PW_JOBS_STALE_AFTER_SECONDS=str(jobs_config.stale_after_seconds),
        PW_JOBS_TIME_LIMIT=str(jobs_config.time_limit),
        PW_WORKER_WORKERS=str(settings.worker.workers),
        PW_WORKER_SHUTDOWN_TIMEOUT="5",
        PYTHONUNBUFFERED="1",
    )
    return env


def worker_command() -> list[str]:
    """How to start `pricewatch worker` with this interpreter."""
    if (Path(__file__).parents[2] / "src" / "pricewatch" / "__main__.py").is_file():
        return [sys.executable, "-m", "pricewatch", "worker"]
    return [sys.executable, "-c", "from pricewatch.cli import main; main()", "worker"]


class ProcessWorker:
    """`pricewatch worker` in a process group of its own (so SIGKILL reaches its children)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ProcessWorker:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                worker_command(),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children) at once."""
        assert self.proc is not None
        os.killpg(self.proc.pid, 9)
        self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL when it does not end in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


# --- throw-away Redis --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowAwayRedis:
    """A `redis-server` of the test's own on a free port in tmp_path, to stop and restart."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowAwayRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.directory),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            finally:
                client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[ThrowAwayRedis]:
    """A private Redis server (skips when redis-server is not installed)."""
    if not Path(REDIS_SERVER).is_file():
        _missing("redis-server", f"not installed at {REDIS_SERVER}")
    server = ThrowAwayRedis(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


# --- helpers -----------------------------------------------------------------------------------


#: The engine suites start real brokers and processes: give conditions a little longer.
wait_for = functools.partial(jobs_conftest.wait_for, timeout=30.0)


def count(sessions: sessionmaker[Session], table: object) -> int:
    """Rows in `table`."""
    with sessions() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def wait_until_claimed(
    sessions: sessionmaker[Session], *job_ids: int, at_least: int | None = None
) -> None:
    """Wait until workers claimed (are running) `at_least` of these jobs, by default all."""
    wanted = len(job_ids) if at_least is None else at_least

    def claimed() -> bool:
        return sum(status_of(sessions, j) is JobStatus.RUNNING for j in job_ids) >= wanted

    wait_for(claimed)


def fetching(sessions: sessionmaker[Session]) -> Callable[[], bool]:
    """A condition: a running job holds a product lock (a fetch is in flight)."""
    return lambda: count(sessions, product_locks) > 0
