"""A worker's sign of life: `worker:<host>:<pid>` in the ops state, every few seconds.

A running job renews its own lease, but an idle worker wrote nothing, so /health could not tell
an idle worker from a dead one. Each worker process (Huey: the consumer's process; Celery: each
pool child, so the main process needs no database driver) records a beat from a daemon thread
every `heartbeat_seconds` while it is idle; while it runs a job, the job's lease renewals are
its sign of life (/health takes the newer of the two), and the beat is skipped so that it does
not hold a second database connection beside the job's (about 1.5 MB per worker process). A
database that does not answer skips a beat: the next one tries again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc

from pricewatch.services.jobs import SessionFactory
from pricewatch.services.maintenance import WORKER_PREFIX, record_heartbeat

_log = logging.getLogger("pricewatch.worker")


def heartbeat_name() -> str:
    """This process's name in the ops state: `worker:<host>:<pid>`."""
    return f"{WORKER_PREFIX}{socket.gethostname()}:{os.getpid()}"


class Activity:
    """How many jobs this process runs at the moment (thread-safe)."""

    def __init__(self) -> None:
        self._running = 0
        self._lock = threading.Lock()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count one job as running for the duration of the block."""
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1

    def busy(self) -> bool:
        """True while a job runs."""
        return self._running > 0


class Heartbeat:
    """Records this process's beat at once, then every `interval` seconds until `stop()`.

    No beat while `activity` says a job runs (its lease renewals say the worker lives).
    """

    def __init__(
        self,
        sessions: Callable[[], SessionFactory],
        *,
        interval: float,
        activity: Activity | None = None,
    ) -> None:
        self.sessions = sessions
        self.interval = interval
        self.activity = activity or Activity()
        self.beats = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        """Start beating on a daemon thread (named after the process, read when it beats)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pricewatch-heartbeat", daemon=True)
        self._thread.start()
        return self

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop beating; wait for a beat in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def beat(self) -> bool:
        """Record one beat now; False when the database did not take it."""
        try:
            record_heartbeat(sessions=self.sessions(), name=heartbeat_name())
        except sa_exc.SQLAlchemyError as exc:
            _log.warning("worker heartbeat not recorded: %s", str(exc).splitlines()[0])
            return False
        self.beats += 1
        return True

    def _run(self) -> None:
        while True:
            if not self.activity.busy():
                self.beat()
            if self._stop.wait(self.interval):
                return
