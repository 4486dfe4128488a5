"""The items a catalog-wide job has finished: its table and its repository functions.

(Also the bulk insert of a job's buffered log lines, which the same per-item path writes.)

A `scrape_all` job marks each product it finished here in the same transaction as that
product's snapshot (and its lock's release), so a worker killed at any moment leaves every item
either saved and marked, or neither. A later attempt of the job reads the marks back, skips
those items and carries their counts on. Add and query only, never commit (services commit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CheckConstraint, CursorResult, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from pricewatch.adapters.db.job_tables import job_events, product_locks
from pricewatch.adapters.db.tables import Base, BigId, table
from pricewatch.adapters.db.types import UtcDateTime
from pricewatch.domain.job import EventLevel, JobCounts


class Outcome(StrEnum):
    """What one item counted for."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    SKIPPED = "skipped"
    ERROR = "error"


class JobItem(Base):
    """One finished item of one job (for `scrape_all`: a product id)."""

    __tablename__ = "job_items"

    job_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    #: Not a foreign key: a product deleted later keeps the job's history whole.
    item_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    done_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        CheckConstraint(" OR ".join(f"outcome = '{o.value}'" for o in Outcome), name="outcome"),
    )


job_items = table(JobItem)


@dataclass(frozen=True)
class Finished:
    """What earlier attempts of a job finished: the item ids and what they counted for."""

    item_ids: frozenset[int]
    counts: JobCounts


#: Built once: the statements of the per-item path are run hundreds of times a second.
_MARK = job_items.insert()
_ADD_EVENTS = job_events.insert()


def mark_done(
    *, session: Session, job_id: int, item_id: int, outcome: Outcome, now: datetime
) -> None:
    """Record that the job finished `item_id` (a second mark of the same item is an error)."""
    row = {"job_id": job_id, "item_id": item_id, "outcome": outcome.value, "done_at": now}
    session.execute(_MARK, [row])


def add_events(
    *, session: Session, job_id: int, lines: Sequence[tuple[EventLevel, str, datetime]]
) -> None:
    """Add a job's buffered log lines (level, message, time) in one statement."""
    if lines:
        rows = [
            {"job_id": job_id, "at": at, "level": level.value, "message": message}
            for level, message, at in lines
        ]
        session.execute(_ADD_EVENTS, rows)


def finished(*, session: Session, job_id: int) -> Finished:
    """The items the job finished so far, with their counts."""
    c = job_items.c
    rows = session.execute(select(c.item_id, c.outcome).where(c.job_id == job_id)).all()
    tally = Counter(Outcome(outcome) for _, outcome in rows)
    counts = JobCounts(
        created=tally[Outcome.CREATED],
        updated=tally[Outcome.UPDATED],
        deleted=tally[Outcome.DELETED],
        skipped=tally[Outcome.SKIPPED],
        errors=tally[Outcome.ERROR],
    )
    return Finished(frozenset(item_id for item_id, _ in rows), counts)


def take_over_locks(*, session: Session, holder_prefix: str, holder: str) -> int:
    """Give the product locks whose holder starts with `holder_prefix` to `holder`; how many.

    A new attempt of a job takes the locks its dead predecessor left behind (held under the
    same job id), instead of skipping those products until the locks expire.
    """
    taken = product_locks.c
    stmt = (
        update(product_locks)
        .where(taken.holder.startswith(holder_prefix, autoescape=True), taken.holder != holder)
        .values(holder=holder)
    )
    return int(cast(CursorResult[Any], session.execute(stmt)).rowcount)


__all__ = [
    "Finished",
    "JobItem",
    "Outcome",
    "add_events",
    "finished",
    "job_items",
    "mark_done",
    "take_over_locks",
]
