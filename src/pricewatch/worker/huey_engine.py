"""The embedded job engine: Huey on a SQLite file, its one thin task, and the worker process.

The queue file is `queue.db` in the data directory, or the SQLite path in `PW_BROKER_URL`
(`sqlite:///path/queue.db`, or a bare path). Huey only carries job ids; the job's row in the
application database says what to do and how it went (see `services.jobs`).

Huey facts this relies on (huey 3.5, read from its source): a task created with `.s()` has its
id before it is enqueued, and `revoke_by_id` keeps a queued task from running; thread workers
cannot be interrupted, so a running job stops through its own checks (`services.job_run`);
a task raising `RetryTask(delay=...)` is put on the schedule and runs again after the delay
(retries counted by us, as Huey's own retry delay has no jitter); the consumer's stop flag is
set before it waits for its workers, and is fork-safe in process mode. Huey's storage module
tries to import redis and psycopg for its other back-ends: both are kept out.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.engine import engine_from_settings, session_factory
from pricewatch.config import Settings, WorkerSettings
from pricewatch.services import job_run
from pricewatch.services.jobs import JobConfig, job_config
from pricewatch.worker.engines import BrokerConfigError as BrokerConfigError
from pricewatch.worker.engines import broker_url as broker_url
from pricewatch.worker.engines import queue_path as queue_path
from pricewatch.worker.engines import without_imports
from pricewatch.worker.engines import worker_id as worker_id
from pricewatch.worker.heartbeat import Activity, Heartbeat
from pricewatch.worker.runs import run_delivery

# `huey.storage` imports redis and psycopg when they are installed, for its Redis and PostgreSQL
# back-ends, which pricewatch never uses: about 13 MB of each worker's memory.
with without_imports("redis", "psycopg"):
    from huey import SqliteHuey
    from huey.consumer import Consumer
    from huey.exceptions import RetryTask

_log = logging.getLogger("pricewatch.worker")

WorkerType = Literal["thread", "process"]
QUEUE_NAME = "pricewatch"


#: How `pricewatch worker` runs; configured by `PW_WORKER_*`.
WorkerConfig = WorkerSettings


def worker_config(settings: Settings) -> WorkerConfig:
    """The worker configuration in `settings`."""
    return settings.worker


class _NeverStop:
    def is_set(self) -> bool:
        return False


class HueyEngine:
    """The `JobEngine` on Huey, and the task its workers run."""

    def __init__(
        self,
        settings: Settings,
        *,
        config: JobConfig | None = None,
        worker: WorkerConfig | None = None,
        path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.config = config or job_config(settings)
        self.worker = worker or worker_config(settings)
        self.path = path or queue_path(settings)
        #: Set when the worker stops: running jobs hand themselves back (the consumer's flag).
        self.stopping: job_run.StopFlag = _NeverStop()
        self._lock = threading.Lock()
        self._huey: Any = None
        self._task: Any = None
        self._db: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        #: The jobs running in this process (the heartbeat beats only when there are none).
        self.activity = Activity()

    @property
    def huey(self) -> Any:
        """The Huey instance, opened on first use."""
        # Lazily: a queue that cannot be opened then fails `submit`, which leaves the job
        # pending with an event (the outbox), instead of failing the caller before the insert.
        with self._lock:
            if self._huey is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                huey = SqliteHuey(QUEUE_NAME, filename=str(self.path), results=False, utc=True)
                self._task = huey.task(context=True, name="run_job")(self._run_job)
                self._huey = huey
            return self._huey

    # --- the port ------------------------------------------------------------------------------

    def submit(self, job_id: int) -> str:
        """Queue the job; the Huey task id."""
        huey = self.huey
        task = self._task.s(job_id)
        huey.enqueue(task)
        return str(task.id)

    def revoke(self, engine_task_id: str, *, terminate: bool) -> None:
        """Keep a queued task from running (thread workers cannot be terminated: see module)."""
        self.huey.revoke_by_id(engine_task_id, revoke_once=True)

    # --- the task ------------------------------------------------------------------------------

    def _run_job(self, job_id: int, *, claims: int = 0, task: Any = None) -> None:
        """Run one job; ask Huey to deliver it again when the service or the database says so."""

        def requeue(delay: float, next_claims: int, error: sa_exc.SQLAlchemyError) -> RetryTask:
            task.kwargs = {**task.kwargs, "claims": next_claims}  # carried into the next delivery
            return RetryTask(delay=delay)

        retry_in = run_delivery(self, job_id, claims=claims, requeue=requeue)
        if retry_in is not None:
            raise RetryTask(delay=retry_in)

    def sessions(self) -> sessionmaker[Session]:
        """Sessions on the application database, opened on first use (in the worker)."""
        with self._lock:
            if self._sessions is None:
                self._db = engine_from_settings(self.settings)
                self._sessions = session_factory(self._db)
            return self._sessions

    def close(self) -> None:
        """Close the queue file and the database engine."""
        with self._lock:
            if self._db is not None:
                self._db.dispose()
            self._db = self._sessions = None
            if self._huey is not None:
                self._huey.storage.close()


class _Consumer(Consumer):  # type: ignore[misc]
    """Huey's consumer with pricewatch's stop: SIGINT and SIGTERM both stop gracefully."""

    def _set_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.request_stop(signum)

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Stop after the running jobs handed themselves back (they see the stop flag at once)."""
        self.stop_flag.set()
        self._restart, self._graceful = False, True
        self._signum = signum


class HueyWorker:
    """`pricewatch worker` on the embedded engine: Huey's consumer, run in this process."""

    def __init__(self, engine: HueyEngine, *, periodic: bool = True) -> None:
        config = engine.worker
        self.engine = engine
        self._consumer = _Consumer(
            engine.huey,
            workers=config.workers,
            worker_type=config.worker_type,
            periodic=periodic,
            # Poll the queue four times a second when idle (a cheap read of the queue file): a
            # new job starts within a quarter of a second.
            initial_delay=0.1,
            max_delay=0.25,
            shutdown_timeout=config.shutdown_timeout,
        )
        engine.stopping = self._consumer.stop_flag

    def run(self) -> None:
        """Consume until SIGINT/SIGTERM (main thread) or `request_stop` (any thread).

        A heartbeat records this process as alive meanwhile, idle or not (see `heartbeat`).
        """
        _log.info("worker consuming %s", self.engine.path)
        engine = self.engine
        beat = Heartbeat(
            engine.sessions, interval=engine.config.heartbeat_seconds, activity=engine.activity
        )
        beat.start()
        try:
            self._consumer.run()
        finally:
            beat.stop()

    def request_stop(self) -> None:
        """Ask `run` to return (thread-safe)."""
        self._consumer.request_stop()
