"""The persist use case: snapshots -> database, one unit of work per snapshot (or per batch).

A database failure never loses an observation and never stops a run: what could not be written
goes to the local spool (`settings.spool_path`), and `replay_spool` writes it back later. Writes
are idempotent, so a snapshot that was in fact committed before the failure is not duplicated.

A run keeps one session, and on its own engine one connection, for all its units of work (each
still one transaction, committed): checking a connection out of the pool for every snapshot cost
more than saving it (a ping round trip on PostgreSQL). A connection found dead when a unit starts
(the server restarted while the run was scraping) is replaced once, which idempotence makes safe.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from pricewatch.adapters.db import repository
from pricewatch.adapters.db.engine import UnsupportedDatabaseError, engine_from_settings
from pricewatch.adapters.db.repository import SaveResult
from pricewatch.adapters.db.spool import Spool, SpoolEntry
from pricewatch.config import Settings
from pricewatch.domain.snapshot import ProductSnapshot

_T = TypeVar("_T")
SessionFactory = Callable[[], Session]

#: Attempts for one unit of work when the database reports a deadlock, a serialization failure
#: or a lock timeout; anything else is not retried.
ATTEMPTS = 3
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


@dataclass(frozen=True)
class SpooledSnapshot:
    """A snapshot that went to the spool instead of the database, and why."""

    url: str
    reason: str


@dataclass(frozen=True)
class PersistReport:
    """What `persist_snapshots` did."""

    saved: int = 0
    products_created: int = 0
    price_rows: int = 0
    logs: int = 0
    spooled: tuple[SpooledSnapshot, ...] = ()
    spool_path: str | None = None

    @property
    def ok(self) -> bool:
        """True when every snapshot reached the database."""
        return not self.spooled


@dataclass(frozen=True)
class ReplayReport:
    """What `replay_spool` did."""

    replayed: int = 0
    price_rows: int = 0
    remaining: int = 0
    unreadable: int = 0
    errors: tuple[str, ...] = ()


@dataclass
class _Tally:
    saved: int = 0
    result: SaveResult = field(default_factory=SaveResult)
    spooled: list[SpooledSnapshot] = field(default_factory=list)


def process_snapshot(snapshot: ProductSnapshot, *, session: Session) -> SaveResult:
    """Save one snapshot and commit (one unit of work); roll back and raise on failure."""
    return process_batch([snapshot], session=session)


def process_batch(snapshots: Sequence[ProductSnapshot], *, session: Session) -> SaveResult:
    """Save snapshots in one transaction and commit; roll back and raise on failure."""
    try:
        result = repository.save_snapshots(session=session, snapshots=snapshots)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


def persist_snapshots(
    snapshots: Iterable[ProductSnapshot],
    *,
    settings: Settings,
    sessions: SessionFactory | None = None,
    batch_size: int = 1,
) -> PersistReport:
    """Write snapshots to the database (`batch_size` per commit); spool what cannot be written.

    `sessions` defaults to the database in `settings`. Once the database looks unreachable, the
    remaining snapshots go straight to the spool rather than each waiting for a timeout.
    """
    spool = Spool(settings.spool_path)
    tally = _Tally()
    with _units(settings, sessions) as (units, startup_error):
        chunks = _chunks(snapshots, max(1, batch_size))
        if units is None:
            _spool_rest(spool, tally, chunks, startup_error or "no database")
        else:
            _persist_chunks(units, spool, tally, chunks)
    return PersistReport(
        saved=tally.saved,
        products_created=tally.result.products_created,
        price_rows=tally.result.price_rows,
        logs=tally.result.logs,
        spooled=tuple(tally.spooled),
        spool_path=str(spool.path) if tally.spooled else None,
    )


def _persist_chunks(
    units: _Units, spool: Spool, tally: _Tally, chunks: Iterator[list[ProductSnapshot]]
) -> None:
    for chunk in chunks:
        try:
            tally.result += units.save(chunk)
            tally.saved += len(chunk)
        except sa_exc.SQLAlchemyError as exc:
            unavailable = is_unavailable(exc)
            reason = describe_error(exc)
            reason = f"database unavailable: {reason}" if unavailable else reason
            _spool(spool, tally, chunk, reason)
            if unavailable:
                _spool_rest(spool, tally, chunks, reason)
                return


def _spool_rest(
    spool: Spool, tally: _Tally, chunks: Iterator[list[ProductSnapshot]], reason: str
) -> None:
    for chunk in chunks:
        _spool(spool, tally, chunk, reason)


def _spool(spool: Spool, tally: _Tally, chunk: list[ProductSnapshot], reason: str) -> None:
    spool.append([SpoolEntry(snapshot=s, reason=reason) for s in chunk])
    tally.spooled += [SpooledSnapshot(url=s.url, reason=reason) for s in chunk]


class _Units:
    """Runs units of work, one transaction each, on one session kept for the whole run."""

    def __init__(self, factory: SessionFactory | None, engine: Engine | None) -> None:
        self._factory = factory
        self._engine = engine
        self._session: Session | None = None
        self._connection: Connection | None = None

    def save(self, chunk: Sequence[ProductSnapshot]) -> SaveResult:
        """One unit of work, retried on deadlocks, serialization failures and a dead connection."""
        for attempt in itertools.count(1):
            try:
                return process_batch(chunk, session=self._session or self._open())
            except sa_exc.DBAPIError as exc:
                if exc.connection_invalidated:
                    self.close()
                if attempt >= ATTEMPTS or not _retryable(exc, attempt):
                    raise
                lost = exc.connection_invalidated
            if not lost:  # give the other transaction time to finish
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def _open(self) -> Session:
        if self._engine is not None:
            self._connection = self._engine.connect()
            self._session = Session(bind=self._connection, expire_on_commit=False)
        else:
            assert self._factory is not None
            self._session = self._factory()
        return self._session

    def close(self) -> None:
        """Release the session (and the connection this runner opened)."""
        session, connection = self._session, self._connection
        self._session = self._connection = None
        try:
            if session is not None:
                session.close()
        finally:
            if connection is not None:
                connection.close()


def _retryable(exc: sa_exc.DBAPIError, attempt: int) -> bool:
    if exc.connection_invalidated:
        # Once: a connection that died while idle; a database that is down fails again.
        return attempt == 1
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def is_unavailable(exc: BaseException) -> bool:
    """True when the error means the database cannot be reached or used at all right now."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)


def describe_error(exc: BaseException) -> str:
    """One line about a database error (the driver's first line, no SQL, no traceback)."""
    detail = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    first = (str(detail).strip().splitlines() or [type(detail).__name__])[0]
    return f"{type(detail).__name__}: {first}"


@contextmanager
def _units(
    settings: Settings, given: SessionFactory | None
) -> Iterator[tuple[_Units | None, str | None]]:
    """The runner of units of work, or None and why when the configured database is unusable."""
    if given is not None:
        units = _Units(given, None)
        try:
            yield units, None
        finally:
            units.close()
        return
    try:
        engine = engine_from_settings(settings)
    except (sa_exc.SQLAlchemyError, UnsupportedDatabaseError, OSError) as exc:
        yield None, f"database unusable: {describe_error(exc)}"
        return
    units = _Units(None, engine)
    try:
        yield units, None
    finally:
        try:
            units.close()
        finally:
            engine.dispose()


def replay_spool(
    *, settings: Settings, sessions: SessionFactory | None = None, batch_size: int = 100
) -> ReplayReport:
    """Write spooled snapshots to the database; remove exactly those that were written."""
    spool = Spool(settings.spool_path)
    replayed = price_rows = 0
    errors: list[str] = []
    with _units(settings, sessions) as (units, startup_error), spool.replay() as replay:
        entries = replay.entries
        if units is None:
            errors.append(startup_error or "no database")
            entries = []
        for chunk in _chunks(entries, max(1, batch_size)):
            snapshots = [line.entry.snapshot for line in chunk if line.entry is not None]
            try:
                assert units is not None
                result = units.save(snapshots)
            except sa_exc.SQLAlchemyError as exc:
                errors.append(describe_error(exc))
                if is_unavailable(exc):
                    break
                continue
            for line in chunk:
                line.done = True
            replayed += len(chunk)
            price_rows += result.price_rows
        remaining = sum(not line.done for line in replay.lines)
        unreadable = len(replay.lines) - len(replay.entries)
    return ReplayReport(replayed, price_rows, remaining, unreadable, tuple(errors))


def _chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    """Lazily: a chunk is pulled from `items` only when the previous one is done."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


__all__ = [
    "PersistReport",
    "ReplayReport",
    "SpooledSnapshot",
    "describe_error",
    "persist_snapshots",
    "process_batch",
    "process_snapshot",
    "replay_spool",
]
