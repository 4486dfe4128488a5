"""Job reads of the web app: pages of jobs with their total, statistics over a recent window,
and which products a job touched. Query only (the services own the transactions).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pricewatch.adapters.db import job_repository
from pricewatch.adapters.db.job_items import job_items
from pricewatch.adapters.db.job_repository import EventRecord, JobRecord
from pricewatch.adapters.db.job_tables import job_events, jobs
from pricewatch.adapters.db.tables import products
from pricewatch.domain.job import EventLevel, JobKind, JobStatus

__all__ = [
    "JobWindow",
    "count_jobs",
    "job_page",
    "recent_events",
    "touched_products",
    "window_stats",
]


@dataclass(frozen=True)
class JobWindow:
    """Jobs created within a window: how many per status, how long the finished ones took."""

    by_status: dict[JobStatus, int]
    average_duration_seconds: float | None


def _where(statuses: Collection[JobStatus], ids: Collection[int] = ()) -> list[Any]:
    where = []
    if statuses:
        where.append(jobs.c.status.in_(sorted(s.value for s in statuses)))
    if ids:
        where.append(jobs.c.id.in_(sorted(set(ids))))
    return where


def count_jobs(
    *, session: Session, statuses: Collection[JobStatus] = (), ids: Collection[int] = ()
) -> int:
    """How many jobs have one of `statuses` and one of `ids` (no restriction when empty)."""
    stmt = select(func.count()).select_from(jobs).where(*_where(statuses, ids))
    return int(session.execute(stmt).scalar_one())


def job_page(
    *,
    session: Session,
    statuses: Collection[JobStatus] = (),
    ids: Collection[int] = (),
    limit: int = 50,
    offset: int = 0,
) -> list[JobRecord]:
    """Jobs newest first, skipping `offset` of them.

    The id at the page's start is found by OFFSET on the id index alone; the page itself is
    then read by `job_repository.list_jobs` from that id on.
    """
    first = (
        select(jobs.c.id)
        .where(*_where(statuses, ids))
        .order_by(jobs.c.id.desc())
        .limit(1)
        .offset(offset)
    )
    first_id = session.execute(first).scalar_one_or_none()
    if first_id is None:
        return []
    return job_repository.list_jobs(
        session=session, statuses=statuses, ids=ids, limit=limit, before_id=first_id + 1
    )


def recent_events(*, session: Session, job_id: int, limit: int) -> list[EventRecord]:
    """A job's last `limit` log lines, oldest first."""
    e = job_events.c
    stmt = (
        select(e.id, e.job_id, e.at, e.level, e.message)
        .where(e.job_id == job_id)
        .order_by(e.id.desc())
        .limit(limit)
    )
    rows = list(session.execute(stmt))
    return [EventRecord(r.id, r.job_id, r.at, EventLevel(r.level), r.message) for r in rows[::-1]]


def window_stats(*, session: Session, since: datetime) -> JobWindow:
    """Statistics of the jobs created since `since`."""
    j = jobs.c
    counts = select(j.status, func.count()).where(j.created_at >= since).group_by(j.status)
    by_status = {JobStatus(status): int(n) for status, n in session.execute(counts)}
    seconds = _seconds_between(session, j.started_at, j.finished_at)
    average = select(func.avg(seconds)).where(
        j.created_at >= since, j.started_at.is_not(None), j.finished_at.is_not(None)
    )
    value = session.execute(average).scalar_one_or_none()
    return JobWindow(by_status, None if value is None else round(float(value), 3))


def _seconds_between(session: Session, start: Any, end: Any) -> Any:
    """SQL for the seconds from `start` to `end` (the two databases spell it differently)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def touched_products(*, session: Session, records: Sequence[JobRecord]) -> dict[int, list[int]]:
    """Per job, the ids of the products it checked (as far as is known yet).

    A catalog-wide job marks each product it finished in `job_items`. A `scrape_product` job
    names its product in its params when it was created for one ("check now"), else it is the
    product at the job's URL (once the first scrape created it).
    """
    touched: dict[int, set[int]] = defaultdict(set)
    ids = [r.id for r in records]
    if ids:
        stmt = select(job_items.c.job_id, job_items.c.item_id).where(job_items.c.job_id.in_(ids))
        for job_id, item_id in session.execute(stmt):
            touched[job_id].add(item_id)
    by_url: dict[str, list[int]] = defaultdict(list)
    for record in records:
        if record.kind is not JobKind.SCRAPE_PRODUCT:
            continue
        named = record.params.get("product_id")
        if isinstance(named, int):
            touched[record.id].add(named)
        elif isinstance(record.params.get("url"), str):
            by_url[record.params["url"]].append(record.id)
    if by_url:
        found = select(products.c.url, products.c.id).where(products.c.url.in_(sorted(by_url)))
        for url, product_id in session.execute(found):
            for job_id in by_url[url]:
                touched[job_id].add(product_id)
    return {r.id: sorted(touched.get(r.id, ())) for r in records}
