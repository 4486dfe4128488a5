"""Running one job: claim it, do its items, keep its lease, stop when asked, record how it ended.

`run_job` is what an engine's task calls with a job id. The run claims the row (pending ->
running, atomic), so a redelivered or duplicated task runs a job at most once at a time. While
the job's items run, a watcher renews the lease and looks at the cancel flag every
`cancel_poll_seconds`; a cancel, a worker shutdown, a lost lease or the time limit cancel the
items' asyncio tasks at once (an in-flight fetch included), so a job stops within a second or
two of being asked. Between items and before each fetch the items check too.

Progress, counts and log lines are kept in memory and written together, with the lease's
renewal, at most every `FLUSH_SECONDS` (and when the job ends): the job console reads them, and
a per-item commit of each cost more than the item's own save. What must never be lost is
written per item instead: a `scrape_all` item's snapshot, its mark in `job_items` and its
lock's release are one transaction, so a worker killed at any moment leaves each item saved and
marked, or neither; a later attempt (after a kill, a hand-back or a transient failure) skips the
marked items and carries their counts on. Two checks of one product never overlap: each item
holds the product's lock (`product_locks`) from before its fetch until its snapshot is saved; a
later attempt takes over the locks an earlier attempt of the same job left behind.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from pricewatch.adapters.db import job_items, repository
from pricewatch.adapters.db import job_repository as repo
from pricewatch.adapters.db.job_items import Outcome
from pricewatch.adapters.db.job_repository import CatalogItem, JobRecord
from pricewatch.adapters.db.repository import SaveResult
from pricewatch.config import Settings
from pricewatch.domain.job import (
    EventLevel,
    ItemFilter,
    JobCounts,
    JobKind,
    JobProgress,
    JobStatus,
    final_status,
    retry_delay,
)
from pricewatch.domain.snapshot import ProductSnapshot, utc_now
from pricewatch.services import pipeline
from pricewatch.services.jobs import JobConfig, SessionFactory, job_config
from pricewatch.services.scrape import Scraper, failure_reason, open_scraper

#: Longest time progress, counts and log lines wait in memory before they are written.
FLUSH_SECONDS = 0.5


class StopReason(StrEnum):
    CANCELLED = "cancelled"
    SHUTDOWN = "worker shutting down"
    LEASE_LOST = "lease lost"
    TIME_LIMIT = "time limit exceeded"


class StopFlag(Protocol):
    """Set when the worker shuts down (a `threading.Event`, or Huey's fork-safe flag)."""

    def is_set(self) -> bool:
        """True once the worker is stopping."""
        ...


class JobStoppedError(Exception):
    """Raised inside a job's items when the job must stop (see `Run.stop_reason`)."""


@dataclass(frozen=True)
class RunOutcome:
    """What `run_job` did with a job id.

    `claimed` is False when the job was not pending (done, cancelled, or run by another worker).
    `retry_in` is set when the job went back to pending and the engine should run it again
    after that many seconds (a transient failure, or a worker shutting down).
    """

    job_id: int
    claimed: bool
    status: JobStatus | None = None
    retry_in: float | None = None


def run_job(
    job_id: int,
    *,
    settings: Settings,
    sessions: SessionFactory,
    worker_id: str,
    config: JobConfig | None = None,
    stopping: StopFlag | None = None,
) -> RunOutcome:
    """Claim and run job `job_id` to its end (see the module docstring)."""
    config = config or job_config(settings)
    with sessions() as session:
        job = repo.claim_job(session=session, job_id=job_id, worker_id=worker_id, now=utc_now())
        if job is None:
            session.rollback()
            return RunOutcome(job_id, claimed=False)
        session.commit()
        run = Run(job, session=session, worker_id=worker_id, config=config, stopping=stopping)
        run.event(EventLevel.INFO, f"started on {worker_id} (attempt {job.attempts})")
        return asyncio.run(_execute(run, settings))


class Run:
    """One run of one job: its session, lease, progress, counts, and why it must stop."""

    def __init__(
        self,
        job: JobRecord,
        *,
        session: Session,
        worker_id: str,
        config: JobConfig,
        stopping: StopFlag | None,
    ) -> None:
        self.job = job
        self.session = session
        self.worker_id = worker_id
        self.config = config
        self.stopping: StopFlag = stopping or threading.Event()
        self.progress = JobProgress()
        self.counts = JobCounts()
        self.stop_reason: StopReason | None = None
        #: The first item of this run that failed, and why: (url, reason).
        self.first_item_error: tuple[str, str] | None = None
        self._events: list[tuple[EventLevel, str, datetime]] = []
        self._dirty = False
        self._flushed_at = time.monotonic()

    # --- stopping ------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise JobStoppedError when the job must stop (between items, before fetches)."""
        if self.stop_reason is None and self.stopping.is_set():
            self.stop_reason = StopReason.SHUTDOWN
        if self.stop_reason is not None:
            raise JobStoppedError(self.stop_reason.value)

    async def watch(self, items: asyncio.Task[JobCounts]) -> None:
        """Renew the lease and look for a reason to stop until `items` is done; cancel it then."""
        last_beat = time.monotonic()
        while not items.done():
            await asyncio.sleep(self.config.cancel_poll_seconds)
            beat = time.monotonic() - last_beat >= self.config.heartbeat_seconds
            if beat:
                last_beat = time.monotonic()
            reason = self._poll(beat=beat)
            if reason is not None and not items.done():
                self.stop_reason = reason
                items.cancel()
                return

    def _poll(self, *, beat: bool) -> StopReason | None:
        """One look at the worker and the job's row; a database hiccup is not a reason."""
        if self.stopping.is_set():
            return StopReason.SHUTDOWN
        try:
            if beat or self._dirty or self._events:
                flag = self.flush()  # renews the lease too
            else:
                flag = repo.cancel_requested(session=self.session, job_id=self.job.id)
                self.session.commit()
        except sa_exc.SQLAlchemyError:
            self.session.rollback()
            return None
        if flag is None:
            return StopReason.LEASE_LOST
        return StopReason.CANCELLED if flag else None

    # --- recording -----------------------------------------------------------------------------

    def event(self, level: EventLevel, message: str) -> None:
        """Log one line to the job (written with the next flush)."""
        self._events.append((level, message, utc_now()))

    def set_total(self, total: int) -> None:
        """Announce how many items the job has (written at once)."""
        self.progress = JobProgress(total, self.progress.completed, None)
        self._dirty = True
        self.flush()

    def item_done(self, counts: JobCounts, label: str) -> None:
        """Count one finished item (written with the next flush, at most `FLUSH_SECONDS` on)."""
        done = self.progress.completed + 1
        self.progress = JobProgress(self.progress.total, done, label)
        self.counts += counts
        self._dirty = True
        if time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> bool | None:
        """Write the buffered log lines, progress and counts, renewing the lease; as `heartbeat`.

        One transaction; on a database error it is rolled back and everything stays buffered.
        """
        try:
            job_items.add_events(session=self.session, job_id=self.job.id, lines=self._events)
            flag = repo.record_progress(
                session=self.session,
                job_id=self.job.id,
                worker_id=self.worker_id,
                progress=self.progress,
                counts=self.counts,
                now=utc_now(),
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        self._events.clear()
        self._dirty = False
        self._flushed_at = time.monotonic()
        return flag

    def flush_events(self) -> None:
        """Write the buffered log lines only (the lease may be gone)."""
        job_items.add_events(session=self.session, job_id=self.job.id, lines=self._events)
        self.session.commit()
        self._events.clear()

    # --- items of a catalog-wide job ----------------------------------------------------------

    def resume(self, items: list[CatalogItem]) -> list[CatalogItem]:
        """The items earlier attempts did not finish; their counts and progress carried on."""
        done = job_items.finished(session=self.session, job_id=self.job.id)
        # An earlier run (a failed attempt, or one handed back at a worker's shutdown, which is
        # not counted as an attempt) may have left locks on the items it was checking.
        job_items.take_over_locks(
            session=self.session, holder_prefix=self._job_holder, holder=self._holder
        )
        self.session.commit()
        remaining = [i for i in items if i.id not in done.item_ids]
        total = len(remaining) + len(done.item_ids)
        self.progress = JobProgress(total, len(done.item_ids), None)
        self.counts = done.counts
        if done.item_ids:
            self.event(
                EventLevel.INFO,
                f"resumed: {len(done.item_ids)} of {total} item(s) were done by earlier attempts",
            )
        return remaining

    def save_item(self, item: CatalogItem, snapshot: ProductSnapshot) -> None:
        """Save the item's snapshot, mark it done and release its lock: one transaction."""
        try:
            saved = repository.save_snapshots(session=self.session, snapshots=[snapshot])
            outcome = _outcome(snapshot, saved)
            self._mark(item, outcome)
            repo.release_product_lock(
                session=self.session, key=repo.lock_key(item.url), holder=self._holder
            )
            self.session.commit()
        except BaseException:
            self.session.rollback()
            self.unlock(item.url)
            raise
        self.item_done(_counted(self, snapshot, outcome), item.url)

    def skip_item(self, item: CatalogItem, reason: str) -> None:
        """Mark an item skipped (another job holds its lock)."""
        try:
            self._mark(item, Outcome.SKIPPED)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        self.event(EventLevel.WARNING, f"skipped {item.url}: {reason}")
        self.item_done(JobCounts(skipped=1), item.url)

    def _mark(self, item: CatalogItem, outcome: Outcome) -> None:
        self.mark_product(item.id, outcome)

    def mark_product(self, product_id: int, outcome: Outcome) -> None:
        """Record (uncommitted) that the job finished this product."""
        job_items.mark_done(
            session=self.session,
            job_id=self.job.id,
            item_id=product_id,
            outcome=outcome,
            now=utc_now(),
        )

    # --- product locks -------------------------------------------------------------------------

    def lock(self, url: str) -> bool:
        """Take the product lock of `url`; False when another check holds it."""
        taken = repo.acquire_product_lock(
            session=self.session,
            key=repo.lock_key(url),
            holder=self._holder,
            now=utc_now(),
            ttl=self.config.lock_ttl,
        )
        self.session.commit()
        return taken

    def unlock(self, url: str) -> None:
        """Give the product lock of `url` back (a lock left behind expires on its own)."""
        try:
            repo.release_product_lock(
                session=self.session, key=repo.lock_key(url), holder=self._holder
            )
            self.session.commit()
        except sa_exc.SQLAlchemyError:
            self.session.rollback()

    @property
    def _holder(self) -> str:
        return f"{self._job_holder}{self.worker_id}"

    @property
    def _job_holder(self) -> str:
        """What every lock holder of this job starts with, whichever attempt it is."""
        return f"job {self.job.id} on "


# --- the run -----------------------------------------------------------------------------------


async def _execute(run: Run, settings: Settings) -> RunOutcome:
    """Run the job's items beside the watcher, under the time limit; record the end."""
    items = asyncio.create_task(_HANDLERS[run.job.kind](run, settings))
    watcher = asyncio.create_task(run.watch(items))
    done, _ = await asyncio.wait({items}, timeout=run.config.time_limit)
    if not done:
        run.stop_reason = StopReason.TIME_LIMIT
        items.cancel()
        await asyncio.wait({items})
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)
    return _conclude(run, items)


def _conclude(run: Run, items: asyncio.Task[JobCounts]) -> RunOutcome:
    """Write how the run ended, from the items' result and the stop reason."""
    error = None if items.cancelled() else items.exception()
    if items.cancelled() or isinstance(error, JobStoppedError):
        return _stopped(run)
    if error is not None:
        return _failed(run, _first_leaf(error))
    counts = items.result()
    status = final_status(counts)
    why = None if status is JobStatus.SUCCEEDED else _item_errors(run, counts)
    return _finish(run, status, why)


def _item_errors(run: Run, counts: JobCounts) -> str:
    """Why a job whose items failed is not a success: the reason for a job of one item (its
    page is the job's target); else how many failed, and the first one (of this run: earlier
    attempts' are in the log)."""
    if run.first_item_error is None:
        return f"{counts.errors} of {run.progress.total} item(s) failed"
    url, reason = run.first_item_error
    if run.progress.total == 1:
        return reason  # the job names its one page already
    return f"{counts.errors} of {run.progress.total} item(s) failed; the first: {url}: {reason}"


def _first_leaf(error: BaseException) -> BaseException:
    """The first real error inside the exception groups a task group raises."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _stopped(run: Run) -> RunOutcome:
    reason = run.stop_reason or StopReason.CANCELLED
    done = f"after {run.progress.completed} of {run.progress.total} item(s)"
    if reason is StopReason.LEASE_LOST:
        run.session.rollback()
        run.flush_events()
        return RunOutcome(run.job.id, claimed=True)  # another worker owns the job now
    if reason is StopReason.SHUTDOWN:
        message = f"the worker is shutting down {done}; the job runs again"
        return _release(run, message, 0.0, count_attempt=False)
    if reason is StopReason.TIME_LIMIT:
        limit = f"time limit of {run.config.time_limit:g} s exceeded {done}"
        return _finish(run, JobStatus.FAILED, limit)
    return _finish(run, JobStatus.CANCELLED, f"cancelled {done}")


def _failed(run: Run, error: BaseException) -> RunOutcome:
    """A transient failure is retried later (up to `max_attempts` runs); anything else fails."""
    reason = pipeline.describe_error(error)
    if pipeline.is_unavailable(error) and run.job.attempts < run.config.max_attempts:
        delay = retry_delay(
            run.job.attempts, base=run.config.retry_base_seconds, cap=run.config.retry_cap_seconds
        )
        return _release(run, f"transient failure ({reason}); next attempt in {delay:.1f} s", delay)
    return _finish(run, JobStatus.FAILED, reason)


def _finish(run: Run, status: JobStatus, error: str | None) -> RunOutcome:
    run.session.rollback()  # whatever a failed item left open
    level = EventLevel.INFO if status is JobStatus.SUCCEEDED else EventLevel.WARNING
    c = run.counts
    summary = (
        f"{status.value}: {run.progress.completed} of {run.progress.total} item(s); "
        f"{c.created} created, {c.updated} updated, {c.skipped} skipped, {c.errors} error(s)"
    )
    run.event(level, f"{summary} ({error})" if error else summary)
    run.flush()
    finished = repo.finish_job(
        session=run.session,
        job_id=run.job.id,
        worker_id=run.worker_id,
        status=status,
        now=utc_now(),
        error=error,
    )
    run.session.commit()
    return RunOutcome(run.job.id, claimed=True, status=status if finished else None)


def _release(run: Run, message: str, delay: float, *, count_attempt: bool = True) -> RunOutcome:
    run.session.rollback()
    run.flush()
    repo.release_job(
        session=run.session,
        job_id=run.job.id,
        worker_id=run.worker_id,
        now=utc_now(),
        error=None,
        count_attempt=count_attempt,
    )
    run.session.commit()
    run.event(EventLevel.WARNING, message)
    run.flush_events()
    return RunOutcome(run.job.id, claimed=True, status=JobStatus.PENDING, retry_in=delay)


# --- kinds -------------------------------------------------------------------------------------


async def _scrape_product(run: Run, settings: Settings) -> JobCounts:
    """One product page: check it (and set its schedule when the job carries one)."""
    url = str(run.job.params["url"])
    run.set_total(1)
    async with open_scraper(settings) as scraper:
        counts, saved = await _check(run, scraper, url)
    product_id = saved.product_ids[0] if saved is not None and saved.product_ids else None
    if product_id:
        _record_product(run, product_id, counts)
        interval = run.job.params.get("check_interval")
        if interval:
            _set_schedule(run, product_id, int(interval))
    run.item_done(counts, url)
    return run.counts


def _record_product(run: Run, product_id: int, counts: JobCounts) -> None:
    """Mark the product the page turned out to be (the URL may have redirected), so the job
    links to it; once, whatever the number of attempts."""
    if product_id in job_items.finished(session=run.session, job_id=run.job.id).item_ids:
        return
    outcome = (
        Outcome.ERROR if counts.errors else Outcome.CREATED if counts.created else Outcome.UPDATED
    )
    run.mark_product(product_id, outcome)
    run.session.commit()


def _set_schedule(run: Run, product_id: int, interval: int) -> None:
    next_at = utc_now() + timedelta(seconds=interval)
    repo.set_check_schedule(
        session=run.session, product_id=product_id, check_interval=interval, next_check_at=next_at
    )
    run.session.commit()
    run.event(EventLevel.INFO, f"product {product_id} checked every {interval} s from now on")


async def _scrape_all(run: Run, settings: Settings) -> JobCounts:
    """Every product the job's filter selects, `concurrency` at a time; resumes a later attempt."""
    item_filter = ItemFilter.model_validate(run.job.params.get("filter") or {})
    selected = [i for i in repo.catalog_items(session=run.session) if item_filter.selects(i)]
    run.event(EventLevel.INFO, f"{len(selected)} product(s) selected")
    items = run.resume(selected)
    run.set_total(run.progress.total)
    limit = asyncio.Semaphore(run.config.concurrency)
    async with open_scraper(settings) as scraper:
        try:
            async with asyncio.TaskGroup() as group:
                for item in items:
                    group.create_task(_catalog_item(run, scraper, item, limit))
        except* JobStoppedError as stopped:
            raise stopped.exceptions[0] from None
    return run.counts


async def _catalog_item(
    run: Run, scraper: Scraper, item: CatalogItem, limit: asyncio.Semaphore
) -> None:
    """Check one product under its lock; its save, mark and unlock are one transaction."""
    run.check()
    async with limit:
        run.check()
        if not run.lock(item.url):
            run.skip_item(item, "another job is checking it")
            return
        try:
            run.check()
            snapshot = await scraper.scrape(item.url)
        except BaseException:
            run.unlock(item.url)
            raise
        run.save_item(item, snapshot)


async def _check(run: Run, scraper: Scraper, url: str) -> tuple[JobCounts, SaveResult | None]:
    """Fetch and save one product page under its lock; what it counts for, what was saved."""
    run.check()
    if not run.lock(url):
        run.event(EventLevel.WARNING, f"skipped {url}: another job is checking it")
        return JobCounts(skipped=1), None
    try:
        run.check()
        snapshot = await scraper.scrape(url)
        saved = pipeline.process_snapshot(snapshot, session=run.session)
    finally:
        run.unlock(url)
    return _counted(run, snapshot, _outcome(snapshot, saved)), saved


def _outcome(snapshot: ProductSnapshot, saved: SaveResult) -> Outcome:
    """What a saved snapshot counts for."""
    if failure_reason(snapshot) is not None:
        return Outcome.ERROR
    return Outcome.CREATED if saved.products_created else Outcome.UPDATED


def _counted(run: Run, snapshot: ProductSnapshot, outcome: Outcome) -> JobCounts:
    """Log the item and say what it counts for."""
    reason = failure_reason(snapshot)
    if reason is not None:
        run.event(EventLevel.ERROR, f"{snapshot.url}: {reason}")
        run.first_item_error = run.first_item_error or (snapshot.url, reason)
    else:
        price = f"{snapshot.price} {snapshot.currency or ''}".strip() if snapshot.price else ""
        run.event(
            EventLevel.INFO,
            f"{snapshot.url}: {snapshot.title or 'untitled'} ({price or 'no price'})",
        )
    return _OUTCOME_COUNTS[outcome]


_OUTCOME_COUNTS = {
    Outcome.CREATED: JobCounts(created=1),
    Outcome.UPDATED: JobCounts(updated=1),
    Outcome.DELETED: JobCounts(deleted=1),
    Outcome.SKIPPED: JobCounts(skipped=1),
    Outcome.ERROR: JobCounts(errors=1),
}


async def _maintenance(run: Run, settings: Settings) -> JobCounts:
    """House-keeping: drop the product locks of dead holders (more comes with the scheduler)."""
    run.set_total(1)
    purged = repo.purge_expired_locks(session=run.session, now=utc_now())
    run.session.commit()
    run.item_done(JobCounts(deleted=purged), "expired product locks")
    return run.counts


async def _not_implemented(run: Run, settings: Settings) -> JobCounts:
    raise NotImplementedError(f"jobs of kind {run.job.kind.value} are not implemented yet")


_Handler = Callable[[Run, Settings], Coroutine[Any, Any, JobCounts]]
_HANDLERS: dict[JobKind, _Handler] = {
    JobKind.SCRAPE_PRODUCT: _scrape_product,
    JobKind.SCRAPE_ALL: _scrape_all,
    JobKind.MAINTENANCE: _maintenance,
    JobKind.DISCOVER: _not_implemented,
    JobKind.SYNC_CATALOG: _not_implemented,
    JobKind.BACKUP: _not_implemented,
}
