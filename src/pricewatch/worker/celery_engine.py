"""The distributed job engine: Celery on Redis or RabbitMQ, its thin tasks, and the worker.

`PW_BROKER_URL=redis://...` or `amqp://...` selects it. Celery only carries job ids; the job's
row in the application database says what to do and how it went (see `services.jobs`), so no
result backend is configured.

Celery facts this relies on (celery 5.7, kombu 5.7, billiard 4.3, read from their source):

- `task_acks_late` + `task_reject_on_worker_lost`: a message is acked when its task returns; when
  a pool child dies mid-task (OOM killer, SIGKILL) the message is requeued at once.
- Redis has no acks of its own: a delivered message waits in the `unacked` hash and is put back
  on the queue after `visibility_timeout` seconds (when the whole worker died). It must outlast
  the longest job, or a running job would be delivered a second time: it is the job time limit
  plus a margin. Long before that, the scheduler tick finds the dead worker's job by its stale
  heartbeat and queues it again; the late redelivery then finds the job taken and does nothing.
- `revoke(terminate=True)` signals the pool child running the task and acks its message at
  once. Celery resets SIGTERM to its default in pool children, so the child would die before
  the job's row says so, leaving its product locks behind. Our children catch SIGTERM instead:
  the job, whose cancel flag is committed before the revoke, stops through its own checks within
  `cancel_poll_seconds`, and the child exits as soon as the task returns, or after
  `TERMINATE_GRACE_SECONDS` when the job is stuck in code that never checks.
- Thread and solo pools cannot terminate a task (`NotImplementedError`): there, a running job
  stops through its own checks only.
- `worker_shutting_down` fires in the main process on SIGTERM, SIGINT and SIGQUIT. A
  fork-inherited event carries it to the pool children, whose jobs hand themselves back
  (pending) and are re-queued with `Task.retry`, so a warm shutdown does not wait for a
  six-hour catalog job.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from types import FrameType
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from celery import Celery, signals
from celery.platforms import EX_OK
from celery.worker import state as worker_state
from kombu.exceptions import KombuError
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.engine import engine_from_settings, session_factory
from pricewatch.config import Settings, WorkerSettings
from pricewatch.services import scheduler
from pricewatch.services.jobs import JobConfig, job_config
from pricewatch.worker.engines import BrokerConfigError, broker_url, import_job_code
from pricewatch.worker.heartbeat import Activity, Heartbeat
from pricewatch.worker.runs import run_delivery

_log = logging.getLogger("pricewatch.worker")

TASK_NAME = "pricewatch.run_job"
TICK_TASK_NAME = "pricewatch.scheduler_tick"
QUEUE_NAME = "pricewatch"
#: The broker's visibility timeout outlasts the job time limit by this much (seconds).
VISIBILITY_MARGIN_SECONDS = 3600.0
#: Celery's hard time limit outlasts the job's own limit by this much: it only catches a job
#: stuck where its own checks never run (the job's limit ends it cleanly first).
HARD_LIMIT_MARGIN_SECONDS = 60.0
#: How long a terminated pool child may take to let its job stop cleanly before it exits.
TERMINATE_GRACE_SECONDS = 3.0
#: Seconds to wait for a broker connection when queueing, and publish retries before giving up.
CONNECT_TIMEOUT_SECONDS = 3.0
PUBLISH_RETRIES = 2

Pool = Literal["prefork", "threads", "solo"]
WorkerConfig = WorkerSettings


class BrokerUnavailableError(ConnectionError):
    """The Celery broker cannot be reached; the message says which one and why."""


def celery_broker_url(settings: Settings) -> str:
    """`PW_BROKER_URL`, which must name a Redis or AMQP broker."""
    url = broker_url(settings)
    if url is None:
        raise BrokerConfigError("the Celery engine needs PW_BROKER_URL (redis:// or amqp://)")
    return url


def redact_broker(url: str) -> str:
    """The broker URL without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))


def transport_options(config: JobConfig) -> dict[str, Any]:
    """Broker transport options: a visibility timeout longer than the longest job."""
    return {
        "visibility_timeout": int(config.time_limit + VISIBILITY_MARGIN_SECONDS),
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "max_retries": PUBLISH_RETRIES,
    }


def make_app(
    settings: Settings, *, config: JobConfig | None = None, queue: str = QUEUE_NAME
) -> Celery:
    """A Celery app configured from `settings` (no task registered yet: see `CeleryEngine`)."""
    config = config or job_config(settings)
    tick = settings.scheduler.tick_seconds
    app = Celery("pricewatch", broker=celery_broker_url(settings), set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=transport_options(config),
        broker_connection_timeout=CONNECT_TIMEOUT_SECONDS,
        broker_connection_retry_on_startup=True,
        # Keep running jobs on a broker blip: the database, not the ack, says who runs what.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_publish_retry_policy={
            "max_retries": PUBLISH_RETRIES,
            "interval_start": 0.0,
            "interval_step": 0.5,
            "interval_max": 1.0,
        },
        task_time_limit=config.time_limit + HARD_LIMIT_MARGIN_SECONDS,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        task_default_queue=queue,
        task_default_exchange=queue,
        task_default_routing_key=queue,
        # Task events let Flower show what runs where.
        worker_send_task_events=True,
        task_send_sent_event=True,
        worker_hijack_root_logger=False,
        enable_utc=True,
        timezone="UTC",
        beat_schedule={
            "pricewatch-scheduler-tick": {
                "task": TICK_TASK_NAME,
                "schedule": tick,
                # A tick nobody ran within one period is replaced by the next one.
                "options": {"expires": tick},
            }
        },
    )
    return app


class _Flag:
    """A stop flag that pool children inherit across fork (a multiprocessing event)."""

    def __init__(self) -> None:
        self._event = multiprocessing.get_context("fork").Event()

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()


class CeleryEngine:
    """The `JobEngine` on Celery, the tasks its workers run, and the beat schedule's tick."""

    def __init__(
        self,
        settings: Settings,
        *,
        config: JobConfig | None = None,
        worker: WorkerConfig | None = None,
        queue: str = QUEUE_NAME,
    ) -> None:
        self.settings = settings
        self.config = config or job_config(settings)
        self.worker = worker or settings.worker
        self.url = celery_broker_url(settings)
        self.app = make_app(settings, config=self.config, queue=queue)
        #: Set when the worker stops: running jobs hand themselves back.
        self.stopping = _Flag()
        self._lock = threading.Lock()
        self._db: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._terminating = threading.Event()
        self._pool_child = False
        self._heartbeat: Heartbeat | None = None
        #: The jobs running in this process (the heartbeat beats only when there are none).
        self.activity = Activity()
        self.task, self.tick_task = self._register()

    @property
    def path(self) -> str:
        """Where the queue is (the broker URL without its password), for messages."""
        return redact_broker(self.url)

    # --- the port ------------------------------------------------------------------------------

    def submit(self, job_id: int) -> str:
        """Queue the job; the Celery task id. BrokerUnavailableError when the broker is down."""
        task_id = str(uuid.uuid4())
        try:
            self.task.apply_async(args=(job_id,), task_id=task_id)
        except (KombuError, OSError) as exc:  # kombu wraps the transport's connection errors
            raise self._unavailable(exc) from exc
        return task_id

    def revoke(self, engine_task_id: str, *, terminate: bool) -> None:
        """Drop a queued task; with `terminate`, signal the process that runs it (SIGTERM)."""
        try:
            self.app.control.revoke(engine_task_id, terminate=terminate, signal="SIGTERM")
        except (KombuError, OSError) as exc:  # the cancel flag stands; revoking speeds it up
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: BaseException) -> BrokerUnavailableError:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return BrokerUnavailableError(
            f"the Celery broker at {self.path} is unreachable ({type(exc).__name__}: {first})"
        )

    # --- the tasks -----------------------------------------------------------------------------

    def _register(self) -> tuple[Any, Any]:
        """The job task and the tick task, on this engine's app."""
        engine = self

        @self.app.task(  # type: ignore[untyped-decorator]
            name=TASK_NAME, bind=True, max_retries=None, ignore_result=True, shared=False
        )
        def run_job(task: Any, job_id: int, claims: int = 0) -> None:
            engine.run_task(task, job_id, claims=claims)

        @self.app.task(name=TICK_TASK_NAME, ignore_result=True, shared=False)  # type: ignore[untyped-decorator]
        def scheduler_tick() -> None:
            engine.tick()

        return run_job, scheduler_tick

    def run_task(self, task: Any, job_id: int, *, claims: int = 0) -> None:
        """Run one job (thin: the service does the work); re-queue it when the service says so."""

        def requeue(delay: float, next_claims: int, error: sa_exc.SQLAlchemyError) -> Any:
            kwargs = {"claims": next_claims}
            return task.retry(args=(job_id,), kwargs=kwargs, countdown=delay, exc=error)

        self._handle_terminate()
        try:
            retry_in = run_delivery(self, job_id, claims=claims, requeue=requeue)
        finally:
            self._exit_if_terminated()
        if retry_in is not None:
            raise task.retry(args=(job_id,), kwargs={}, countdown=retry_in)

    def tick(self) -> None:
        """The scheduler tick (Celery beat runs it every `PW_SCHEDULER_TICK_SECONDS`)."""
        report = scheduler.tick(settings=self.settings, engine=self, broker=self.ping)
        _log.info("%s", report.summary())

    def ping(self) -> None:
        """Reach the broker once (the tick's health check); BrokerUnavailableError if down."""
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=CONNECT_TIMEOUT_SECONDS)
        except (KombuError, OSError) as exc:
            raise self._unavailable(exc) from exc

    def sessions(self) -> sessionmaker[Session]:
        """Sessions on the application database, opened on first use (in the worker process)."""
        with self._lock:
            if self._sessions is None:
                self._db = engine_from_settings(self.settings)
                self._sessions = session_factory(self._db)
            return self._sessions

    # --- pool children -------------------------------------------------------------------------

    def after_fork(self) -> None:
        """In a new pool child: a database engine of its own; SIGTERM handled at the first task.

        The child records its heartbeat from now on, idle or not (the main process opens no
        database connection: see `heartbeat`).
        """
        with self._lock:
            if self._db is not None:
                self._db.dispose(close=False)  # the parent's connections stay the parent's
            self._db = self._sessions = None
        self._pool_child = True
        # The job code (fetching, parsing, saving) is imported here, in the pool children that
        # run jobs, and not by the main process, which only talks to the broker (~10 MB less).
        import_job_code()
        interval = self.config.heartbeat_seconds
        self._heartbeat = Heartbeat(self.sessions, interval=interval, activity=self.activity)
        self._heartbeat.start()

    def _handle_terminate(self) -> None:
        # Not in after_fork: billiard installs its own SIGTERM handler (SystemExit) after the
        # process initializer, and a SystemExit inside the job would leave its row running.
        if self._pool_child and signal.getsignal(signal.SIGTERM) != self._on_terminate:
            signal.signal(signal.SIGTERM, self._on_terminate)

    def _on_terminate(self, signum: int, frame: FrameType | None) -> None:
        """Revoke with terminate: let the job stop by its checks; exit soon in any case."""
        self._terminating.set()
        timer = threading.Timer(TERMINATE_GRACE_SECONDS, os._exit, args=(1,))
        timer.daemon = True
        timer.start()

    def _exit_if_terminated(self) -> None:
        # The child leaves before it takes another task, which its exit would otherwise kill.
        if self._terminating.is_set():
            os._exit(0)

    def close(self) -> None:
        """Close broker connections and the database engine."""
        if self._heartbeat is not None:
            self._heartbeat.stop()
        with self._lock:
            if self._db is not None:
                self._db.dispose()
            self._db = self._sessions = None
        self.app.close()


def default_hostname() -> str:
    """The Celery node name of this process (unique per host and process)."""
    return f"pricewatch-{os.getpid()}@{socket.gethostname()}"


class CeleryWorker:
    """`pricewatch worker` on Celery: a worker in this process (prefork pool by default).

    `run()` blocks until SIGTERM/SIGINT (Celery's own handlers: warm shutdown; a second signal is
    a cold one). `start_in_thread()` runs it without signal handlers, for tests and embedding;
    `request_stop()` then stops it warmly from any thread.
    """

    def __init__(
        self,
        engine: CeleryEngine,
        *,
        pool: Pool = "prefork",
        concurrency: int | None = None,
        beat: bool = False,
        hostname: str | None = None,
        loglevel: str = "INFO",
    ) -> None:
        self.engine = engine
        self.pool = pool
        self.concurrency = concurrency or engine.worker.workers
        self.beat = beat
        self.hostname = hostname or default_hostname()
        self.loglevel = loglevel
        self._controller: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._connect_signals()

    def _connect_signals(self) -> None:
        """Shutdown reaches the jobs; pool children set themselves up after fork."""
        engine = self.engine

        def shutting_down(**_: Any) -> None:
            engine.stopping.set()

        def process_init(**_: Any) -> None:
            engine.after_fork()

        # Strong references, kept on the worker: Celery's signals hold weak ones by default.
        self._receivers: tuple[Callable[..., None], ...] = (shutting_down, process_init)
        signals.worker_shutting_down.connect(shutting_down, weak=False)
        signals.worker_process_init.connect(process_init, weak=False)

    def _options(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "pool": self.pool,
            "concurrency": self.concurrency,
            "loglevel": self.loglevel,
            "beat": self.beat,
            # Job state lives in the database: no need to sync revokes with other nodes.
            "without_mingle": True,
            "without_gossip": True,
        }

    def run(self) -> int:
        """Consume until SIGTERM/SIGINT; the worker's exit code."""
        _log.info("celery worker consuming %s", self.engine.path)
        worker = self.engine.app.Worker(**self._options(), quiet=True)
        self._controller = worker
        try:
            worker.start()
        finally:
            self._disconnect()
        return int(worker.exitcode or 0)

    def start_in_thread(self, *, timeout: float = 30.0) -> CeleryWorker:
        """Start consuming in a background thread (no signal handlers); wait until ready."""
        worker_state.should_stop = None  # left set by an earlier worker of this process
        # Pool threads find tasks through the process's default app (`app.Worker` sets it too).
        self.engine.app.set_default()
        self.engine.app.set_current()
        self._controller = self.engine.app.WorkController(
            **self._options(), ready_callback=lambda *_: self._ready.set()
        )
        self._thread = threading.Thread(
            target=self._controller.start, name="celery-worker", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the Celery worker was not ready within {timeout:g} s")
        return self

    def request_stop(self, *, timeout: float = 30.0) -> None:
        """Warm shutdown from any thread: running jobs hand themselves back; wait for the
        worker's thread to end.

        A worker started by `start_in_thread` stops itself: Celery's event loop checks its
        `should_stop` flag at every turn and then shuts down in its own thread, as it does on
        SIGTERM. Stopping it from here instead would use its broker connection from two threads
        at once, which py-amqp (RabbitMQ) does not survive: both read the same socket.
        """
        self.engine.stopping.set()
        if self._thread is not None:
            worker_state.should_stop = EX_OK
            try:
                self._thread.join(timeout)
            finally:
                worker_state.should_stop = None
        elif self._controller is not None:
            self._controller.stop()
        self._disconnect()

    def _disconnect(self) -> None:
        shutting_down, process_init = self._receivers
        signals.worker_shutting_down.disconnect(shutting_down)
        signals.worker_process_init.disconnect(process_init)


def module_app() -> Celery:
    """The app for Celery's own commands (`celery -A pricewatch.worker.celery_engine ...`)."""
    from pricewatch.config import load_settings

    return CeleryEngine(load_settings()).app


def __getattr__(name: str) -> Any:
    # `celery -A pricewatch.worker.celery_engine beat|flower|inspect` looks for `app`; it is built
    # from the settings on first access only, so importing this module reads no environment.
    if name == "app":
        return module_app()
    raise AttributeError(name)
