"""Ops fixtures: the job fixtures of tests/jobs (SQLite and PostgreSQL databases, a recording
engine, a real Huey consumer), and helpers to read and backdate rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import job_repository as repo
from pricewatch.adapters.db.job_tables import jobs
from pricewatch.domain.job import JobKind, TriggeredBy
from tests.jobs import conftest as jobs_conftest

backend = jobs_conftest.backend
connection = jobs_conftest.connection
empty_url = jobs_conftest.empty_url
engine = jobs_conftest.engine
fresh_url = jobs_conftest.fresh_url
postgres_admin = jobs_conftest.postgres_admin
session = jobs_conftest.session
sessions = jobs_conftest.sessions
shared_engines = jobs_conftest.shared_engines
shared_urls = jobs_conftest.shared_urls
real_sessions = jobs_conftest.real_sessions
settings = jobs_conftest.settings
fake_engine = jobs_conftest.fake_engine
huey_engine = jobs_conftest.huey_engine
start_worker = jobs_conftest.start_worker

Sessions = sessionmaker[Session]


def add_job(sessions: Sessions, *, url: str, created_at: datetime) -> int:
    """A pending scrape_product job created at `created_at`, never dispatched."""
    with sessions() as s:
        job_id = repo.create_job(
            session=s,
            kind=JobKind.SCRAPE_PRODUCT,
            params={"url": url},
            triggered_by=TriggeredBy.MANUAL,
            now=created_at,
        )
        s.commit()
    return job_id


def claim_as_dead_worker(sessions: Sessions, job_id: int, *, last_beat: datetime) -> None:
    """Mark the job running for a worker that was last heard of at `last_beat`."""
    with sessions() as s:
        assert repo.claim_job(session=s, job_id=job_id, worker_id="dead:1:w", now=last_beat)
        s.execute(update(jobs).where(jobs.c.id == job_id).values(dispatched_at=last_beat))
        s.commit()


def count(sessions: Sessions, table: object) -> int:
    """Rows in `table`."""
    with sessions() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
