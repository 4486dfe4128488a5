"""House-keeping and health: prune old rows, check the database and the broker, record it all.

The scheduler tick calls `run_maintenance`, which does each duty on its own cadence
(`PW_SCHEDULER_PRUNE_EVERY_SECONDS`, `PW_SCHEDULER_HEALTH_EVERY_SECONDS`; what is pruned is older
than `PW_SCHEDULER_RETENTION_DAYS`); the cadence is a row in `ops_state` claimed atomically, so
two schedulers never both prune. Health checks
are recorded in `ops_state` too, so the web process reports the broker's health without
talking to the broker itself (`HealthProbe` only reads the database, with a short timeout).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from pricewatch.adapters.db import job_repository as job_repo
from pricewatch.adapters.db import ops_repository as ops_repo
from pricewatch.adapters.db.engine import session_factory
from pricewatch.adapters.db.ops_repository import StateRecord
from pricewatch.config import SchedulerSettings, Settings
from pricewatch.domain.snapshot import utc_now
from pricewatch.services.jobs import SessionFactory

#: Rows deleted per transaction, so pruning never holds the SQLite write lock for long.
PRUNE_BATCH = 2000
#: Seconds the web's health check waits for the database.
HEALTH_TIMEOUT = 2.0

#: `ops_state` names.
STATE_TICK = "scheduler.tick"
STATE_PRUNE = "maintenance.prune"
STATE_HEALTH_CLAIM = "maintenance.health"
STATE_DATABASE = "health.database"
STATE_BROKER = "health.broker"
WORKER_PREFIX = "worker:"

#: Asks the job engine's broker something cheap; raises when it cannot be reached.
BrokerCheck = Callable[[], object]


@dataclass(frozen=True)
class Check:
    """One health check: whether it passed, how long it took, and why not."""

    ok: bool
    latency_ms: float
    error: str | None = None

    def detail(self) -> dict[str, Any]:
        """The JSON kept in `ops_state`."""
        return {"latency_ms": round(self.latency_ms, 1), "error": self.error}


@dataclass(frozen=True)
class PruneReport:
    """Rows deleted by one prune."""

    scraping_logs: int = 0
    job_events: int = 0
    jobs: int = 0
    product_locks: int = 0
    worker_beats: int = 0


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance call did (None: not due yet, or done by another scheduler)."""

    database: Check | None = None
    broker: Check | None = None
    pruned: PruneReport | None = None


def _one_line(exc: BaseException) -> str:
    detail = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    first = (str(detail).strip().splitlines() or [""])[0]
    return f"{type(detail).__name__}: {first}" if first else type(detail).__name__


def _timed(action: Callable[[], object]) -> Check:
    """Run `action`; a passed or failed Check with its latency."""
    started = time.perf_counter()
    try:
        action()
    except Exception as exc:  # any failure is the answer of a health check
        return Check(False, (time.perf_counter() - started) * 1000, _one_line(exc))
    return Check(True, (time.perf_counter() - started) * 1000)


# --- health ------------------------------------------------------------------------------------


def check_database(*, sessions: SessionFactory) -> Check:
    """Ask the database something trivial."""

    def ping() -> None:
        with sessions() as session:
            ops_repo.list_states(session=session)

    return _timed(ping)


def check_broker(*, broker: BrokerCheck) -> Check:
    """Ask the broker something trivial."""
    return _timed(broker)


def record_health(
    *, sessions: SessionFactory, broker: BrokerCheck | None, now: datetime
) -> MaintenanceReport:
    """Check the database and the broker and record both for the health endpoint."""
    database = check_database(sessions=sessions)
    broker_check = check_broker(broker=broker) if broker is not None else None
    with sessions() as session:
        ops_repo.put_state(
            session=session, name=STATE_DATABASE, at=now, ok=database.ok, detail=database.detail()
        )
        if broker_check is not None:
            detail = broker_check.detail()
            ops_repo.put_state(
                session=session, name=STATE_BROKER, at=now, ok=broker_check.ok, detail=detail
            )
        session.commit()
    return MaintenanceReport(database=database, broker=broker_check)


def record_heartbeat(*, sessions: SessionFactory, name: str, now: datetime | None = None) -> None:
    """Record a sign of life of a process (a worker: `worker:<host:pid>`)."""
    with sessions() as session:
        ops_repo.put_state(session=session, name=name, at=now or utc_now(), ok=True)
        session.commit()


# --- pruning -----------------------------------------------------------------------------------


def _drain(sessions: SessionFactory, delete: Callable[[Session], int], batch: int) -> int:
    """Run `delete` in transactions of its own until it deletes fewer than `batch` rows."""
    total = 0
    while True:
        with sessions() as session:
            deleted = delete(session)
            session.commit()
        total += deleted
        if deleted < batch:
            return total


def prune(
    *,
    sessions: SessionFactory,
    now: datetime,
    retention: timedelta,
    batch: int = PRUNE_BATCH,
) -> PruneReport:
    """Delete what is older than `retention`, and the product locks of dead holders."""
    cutoff = now - retention
    logs = _drain(
        sessions,
        lambda s: ops_repo.delete_scraping_logs_before(session=s, cutoff=cutoff, limit=batch),
        batch,
    )
    events = _drain(
        sessions,
        lambda s: ops_repo.delete_job_events_before(session=s, cutoff=cutoff, limit=batch),
        batch,
    )
    old_jobs = _drain(
        sessions,
        lambda s: ops_repo.delete_finished_jobs_before(session=s, cutoff=cutoff, limit=batch),
        batch,
    )
    with sessions() as session:
        locks = job_repo.purge_expired_locks(session=session, now=now)
        beats = ops_repo.delete_states_before(session=session, prefix=WORKER_PREFIX, cutoff=cutoff)
        session.commit()
    return PruneReport(logs, events, old_jobs, locks, beats)


def run_maintenance(
    *,
    sessions: SessionFactory,
    broker: BrokerCheck | None,
    now: datetime,
    config: SchedulerSettings,
) -> MaintenanceReport:
    """Check health and prune, each when its cadence in `config` says so (see the module)."""
    report = MaintenanceReport()
    if _claim(sessions, STATE_HEALTH_CLAIM, now, config.health_every):
        report = record_health(sessions=sessions, broker=broker, now=now)
    if _claim(sessions, STATE_PRUNE, now, config.prune_every):
        pruned = prune(sessions=sessions, now=now, retention=config.retention)
        with sessions() as session:
            detail = asdict(pruned)
            ops_repo.put_state(session=session, name=STATE_PRUNE, at=now, ok=True, detail=detail)
            session.commit()
        report = MaintenanceReport(report.database, report.broker, pruned)
    return report


def _claim(sessions: SessionFactory, name: str, now: datetime, every: timedelta) -> bool:
    with sessions() as session:
        claimed = ops_repo.claim_state(session=session, name=name, now=now, last_before=now - every)
        session.commit()
    return claimed


# --- reading health (the web process) ----------------------------------------------------------


@dataclass(frozen=True)
class HealthStatus:
    """What /health answers: the database now, the rest as last recorded."""

    database: Check
    checked_at: datetime
    states: dict[str, StateRecord] = field(default_factory=dict)
    job_heartbeat_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when the database answers (the one thing the web process cannot do without)."""
        return self.database.ok

    def worker_heartbeat_at(self) -> datetime | None:
        """The newest sign of life of any worker: a beat of its own, or a running job's."""
        beats = [s.at for name, s in self.states.items() if name.startswith(WORKER_PREFIX)]
        if self.job_heartbeat_at is not None:
            beats.append(self.job_heartbeat_at)
        return max(beats, default=None)

    def to_json(self) -> dict[str, Any]:
        """The JSON document of /health."""
        broker = self.states.get(STATE_BROKER)
        tick = self.states.get(STATE_TICK)
        return {
            "status": "ok" if self.ok else "unavailable",
            "checked_at": self.checked_at.isoformat(),
            "database": {"ok": self.database.ok, **self.database.detail()},
            "broker": None
            if broker is None
            else {
                "ok": broker.ok,
                "checked_at": broker.at.isoformat(),
                "age_seconds": self._age(broker.at),
                "error": broker.detail.get("error"),
            },
            "worker": {"last_heartbeat_age_seconds": self._age(self.worker_heartbeat_at())},
            "scheduler": {"last_tick_age_seconds": self._age(tick.at if tick else None)},
        }

    def _age(self, at: datetime | None) -> float | None:
        return None if at is None else round((self.checked_at - at).total_seconds(), 1)


class HealthProbe:
    """Reads the health of the system for the web process: cheap, and quick to give up."""

    def __init__(self, settings: Settings, *, timeout: float = HEALTH_TIMEOUT) -> None:
        self._engine: Engine = ops_repo.probe_engine(settings.database_url, timeout=timeout)
        self._sessions = session_factory(self._engine)

    def read(self) -> HealthStatus:
        """The database checked now, and the recorded state of the rest."""
        started = time.perf_counter()
        try:
            with self._sessions() as session:
                states = {s.name: s for s in ops_repo.list_states(session=session)}
                beat = ops_repo.latest_job_heartbeat(session=session)
        except Exception as exc:  # a health check reports failures, it does not raise them
            failed = Check(False, (time.perf_counter() - started) * 1000, _one_line(exc))
            return HealthStatus(failed, utc_now())
        database = Check(True, (time.perf_counter() - started) * 1000)
        return HealthStatus(database, utc_now(), states, beat)

    def close(self) -> None:
        """Release the probe's connections."""
        self._engine.dispose()
