"""What a worker relies on, below the engines: a later attempt resumes a catalog job, and the
product lock. On both databases; the job suite on real engines is tests/jobs_engines.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import job_items
from pricewatch.adapters.db import job_repository as repo
from pricewatch.adapters.db.job_items import Outcome
from pricewatch.adapters.db.job_tables import product_locks
from pricewatch.adapters.db.tables import price_history
from pricewatch.config import Settings
from pricewatch.demo import DemoShop
from pricewatch.domain.job import JobKind, JobStatus, TriggeredBy
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import jobs
from pricewatch.services.job_run import run_job

from .conftest import catalog_snapshot, seed_catalog


def _count(sessions: sessionmaker[Session], table: object) -> int:
    with sessions() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_later_attempt_resumes_a_scrape_all_where_the_earlier_one_stopped(
    real_sessions: sessionmaker[Session], settings: Settings, demo_shop: DemoShop
) -> None:
    """Items marked done are not checked again, their counts carry on, and the dead attempt's
    locks are taken over rather than skipped (what a SIGKILL leaves behind: tests/jobs_engines).
    """
    seed_catalog(
        real_sessions,
        [
            catalog_snapshot(demo_shop, url_path, reference=f"R-{n}")
            for n, url_path in enumerate(p.url_path for p in demo_shop.catalog.products[:4])
        ],
    )
    with real_sessions() as s:
        items = repo.catalog_items(session=s)
        job_id = repo.create_job(
            session=s,
            kind=JobKind.SCRAPE_ALL,
            params={},
            triggered_by=TriggeredBy.MANUAL,
            now=utc_now(),
        )
        # Attempt 1 (on a worker that died) finished the first two items and held the third.
        assert repo.claim_job(session=s, job_id=job_id, worker_id="dead", now=utc_now())
        for item in items[:2]:
            job_items.mark_done(
                session=s, job_id=job_id, item_id=item.id, outcome=Outcome.UPDATED, now=utc_now()
            )
        assert repo.acquire_product_lock(
            session=s,
            key=repo.lock_key(items[2].url),
            holder=f"job {job_id} on dead",
            now=utc_now(),
            ttl=timedelta(minutes=5),
        )
        assert repo.release_job(session=s, job_id=job_id, worker_id="dead", now=utc_now())
        s.commit()
    before = _count(real_sessions, price_history)
    outcome = run_job(job_id, settings=settings, sessions=real_sessions, worker_id="alive")
    assert outcome.status is JobStatus.SUCCEEDED
    job = jobs.get(sessions=real_sessions, job_id=job_id)
    assert (job.progress.completed, job.progress.total, job.attempts) == (4, 4, 2)
    assert (job.counts.updated + job.counts.created, job.counts.skipped) == (4, 0)
    assert _count(real_sessions, price_history) == before + 2  # only the two unfinished ones
    assert _count(real_sessions, job_items.job_items) == 4
    assert _count(real_sessions, product_locks) == 0
    messages = [e.message for e in jobs.events(sessions=real_sessions, job_id=job_id)]
    assert "resumed: 2 of 4 item(s) were done by earlier attempts" in messages


def test_acquire_product_lock_is_one_prepared_statement(
    real_sessions: sessionmaker[Session],
) -> None:
    """Taken once, refused to another holder, taken over once expired (built once, reused)."""
    now = utc_now()
    ttl = timedelta(seconds=60)
    with real_sessions() as session:
        take = repo.acquire_product_lock
        assert take(session=session, key="k", holder="a", now=now, ttl=ttl)
        assert not take(session=session, key="k", holder="b", now=now, ttl=ttl)
        assert take(session=session, key="k", holder="a", now=now, ttl=ttl)
        later = now + ttl + timedelta(seconds=1)
        assert take(session=session, key="k", holder="b", now=later, ttl=ttl)
        session.commit()
        holder = session.execute(select(product_locks.c.holder)).scalar_one()
    assert holder == "b"
