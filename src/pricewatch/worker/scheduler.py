"""The scheduler process: the tick (`services.scheduler`) every `PW_SCHEDULER_TICK_SECONDS`
(30 s by default) until SIGINT or SIGTERM.

A plain loop rather than Huey's periodic tasks: those run at most once a minute, and a loop
works the same on either engine. With Celery, beat may run the tick instead (`tick_once`).
A tick that fails (database down) is logged in one line and the loop carries on: the next tick
does the work that was missed, since every duty reads what is due from the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import exc as sa_exc

from pricewatch.config import Settings
from pricewatch.services import pipeline
from pricewatch.services.jobs import JobEngine, SessionFactory, open_sessions
from pricewatch.services.maintenance import BrokerCheck
from pricewatch.services.scheduler import TickReport, tick
from pricewatch.worker.signals import stopping_on_signals

_log = logging.getLogger("pricewatch.scheduler")


def broker_check(engine: object) -> BrokerCheck | None:
    """A cheap question to the engine's broker: its own `ping()`, or the Huey queue's size."""
    ping = getattr(engine, "ping", None)
    if callable(ping):
        return ping  # type: ignore[no-any-return]
    huey = getattr(engine, "huey", None)  # Huey's queue (not imported here: see `engines`)
    if huey is not None:
        return lambda: huey.storage.queue_size()
    return None


def tick_once(
    settings: Settings, *, engine: JobEngine, sessions: SessionFactory | None = None
) -> TickReport:
    """One tick with the engine's broker check (what Celery beat's task calls)."""
    return tick(settings=settings, engine=engine, sessions=sessions, broker=broker_check(engine))


class SchedulerLoop:
    """Ticks every `interval` s (default: the settings') until `request_stop()` or a signal."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: JobEngine,
        interval: float | None = None,
        on_tick: Callable[[TickReport], None] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.interval = settings.scheduler.tick_seconds if interval is None else interval
        self.on_tick = on_tick
        self.ticks = 0
        self._stop = threading.Event()

    def run(self) -> None:
        """Tick until asked to stop; signal handlers only when run on the main thread."""
        with stopping_on_signals(self.request_stop), open_sessions(self.settings) as sessions:
            _log.info("scheduler ticking every %g s", self.interval)
            while not self._stop.is_set():
                started = time.monotonic()
                self._tick(sessions)
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
        _log.info("scheduler stopped")

    def request_stop(self) -> None:
        """Ask `run` to return after the current tick (thread-safe)."""
        self._stop.set()

    def _tick(self, sessions: SessionFactory) -> None:
        try:
            report = tick_once(self.settings, engine=self.engine, sessions=sessions)
        except sa_exc.SQLAlchemyError as exc:
            _log.warning("tick failed, database unusable: %s", pipeline.describe_error(exc))
            return
        except Exception:  # the loop must outlive any one tick; the next one retries
            _log.exception("tick failed")
            return
        self.ticks += 1
        _log.info(report.summary())
        if self.on_tick is not None:
            self.on_tick(report)
