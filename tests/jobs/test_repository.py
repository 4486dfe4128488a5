"""Job repository on SQLite and PostgreSQL: claims, leases, cancel flags, events and locks."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import job_repository as repo
from pricewatch.domain.job import (
    EventLevel,
    JobCounts,
    JobKind,
    JobProgress,
    JobStatus,
    TriggeredBy,
)
from tests.db.conftest import T0

from .conftest import make_snapshot

MIN = timedelta(minutes=1)


def _job(session: Session, **params: object) -> int:
    return repo.create_job(
        session=session,
        kind=JobKind.SCRAPE_PRODUCT,
        params={"url": "https://shop.example/p/1", **params},
        triggered_by=TriggeredBy.MANUAL,
        now=T0,
    )


def test_create_get_and_list_newest_first(session: Session) -> None:
    first, second, third = (_job(session, n=i) for i in range(3))
    repo.claim_job(session=session, job_id=second, worker_id="w", now=T0)
    job = repo.get_job(session=session, job_id=first)
    assert job is not None
    assert (job.status, job.kind, job.triggered_by) == (
        JobStatus.PENDING,
        JobKind.SCRAPE_PRODUCT,
        TriggeredBy.MANUAL,
    )
    assert job.params == {"url": "https://shop.example/p/1", "n": 0}
    assert job.created_at == T0
    assert job.counts == JobCounts()
    assert job.progress == JobProgress()
    assert [j.id for j in repo.list_jobs(session=session)][:3] == [third, second, first]
    pending = repo.list_jobs(session=session, statuses=[JobStatus.PENDING], limit=1)
    assert [j.id for j in pending] == [third]
    older = repo.list_jobs(session=session, statuses=[JobStatus.PENDING], before_id=third)
    assert first in [j.id for j in older]
    assert third not in [j.id for j in older]
    assert repo.get_job(session=session, job_id=10**9) is None


def test_claim_once_heartbeat_progress_finish(session: Session) -> None:
    job_id = _job(session)
    claimed = repo.claim_job(session=session, job_id=job_id, worker_id="w1", now=T0)
    assert claimed is not None
    assert (claimed.status, claimed.lease_owner, claimed.attempts) == (JobStatus.RUNNING, "w1", 1)
    assert claimed.started_at == T0
    assert repo.claim_job(session=session, job_id=job_id, worker_id="w2", now=T0) is None
    assert repo.heartbeat(session=session, job_id=job_id, worker_id="w1", now=T0 + MIN) is False
    assert repo.heartbeat(session=session, job_id=job_id, worker_id="w2", now=T0) is None
    saved = repo.record_progress(
        session=session,
        job_id=job_id,
        worker_id="w1",
        progress=JobProgress(3, 2, "item 2"),
        counts=JobCounts(created=1, errors=1),
        now=T0 + MIN,
    )
    assert saved is False
    assert (
        repo.finish_job(
            session=session, job_id=job_id, worker_id="w2", status=JobStatus.FAILED, now=T0
        )
        is False
    )
    assert repo.finish_job(
        session=session, job_id=job_id, worker_id="w1", status=JobStatus.PARTIAL, now=T0 + MIN
    )
    job = repo.get_job(session=session, job_id=job_id)
    assert job is not None
    assert job.status is JobStatus.PARTIAL
    assert job.lease_owner is None
    assert job.progress == JobProgress(3, 2, None)
    assert job.counts == JobCounts(created=1, errors=1)
    assert job.finished_at == T0 + MIN


def test_cancel_pending_at_once_running_by_flag(session: Session) -> None:
    pending, running = _job(session), _job(session)
    repo.claim_job(session=session, job_id=running, worker_id="w", now=T0)
    cancelled = repo.request_cancel(session=session, job_id=pending, now=T0)
    assert cancelled is not None
    assert cancelled.status is JobStatus.CANCELLED
    assert repo.claim_job(session=session, job_id=pending, worker_id="w", now=T0) is None
    flagged = repo.request_cancel(session=session, job_id=running, now=T0)
    assert flagged is not None
    assert flagged.status is JobStatus.RUNNING
    assert repo.heartbeat(session=session, job_id=running, worker_id="w", now=T0) is True
    assert repo.cancel_requested(session=session, job_id=running)
    assert repo.request_cancel(session=session, job_id=pending, now=T0) is None
    assert {j.id for j in repo.active_jobs(session=session)} >= {running}
    assert pending not in {j.id for j in repo.active_jobs(session=session)}


def test_release_stale_and_undispatched(session: Session) -> None:
    sent, unsent, running = _job(session), _job(session), _job(session)
    repo.mark_dispatched(session=session, job_id=sent, engine_task_id="t1", now=T0)
    repo.claim_job(session=session, job_id=running, worker_id="w", now=T0)
    waiting = {j.id for j in repo.undispatched_jobs(session=session, created_before=T0 + MIN)}
    assert unsent in waiting
    assert sent not in waiting
    assert running not in waiting
    stale = {j.id for j in repo.stale_jobs(session=session, heartbeat_before=T0 + MIN)}
    assert running in stale
    assert repo.release_job(session=session, job_id=running, worker_id="w", now=T0 + MIN)
    job = repo.get_job(session=session, job_id=running)
    assert job is not None
    assert job.status is JobStatus.PENDING
    assert job.lease_owner is None
    again = repo.claim_job(session=session, job_id=running, worker_id="w2", now=T0 + MIN)
    assert again is not None
    assert again.attempts == 2
    assert again.started_at == T0


def test_a_hand_back_at_shutdown_is_not_an_attempt(session: Session) -> None:
    job_id = _job(session)
    first = repo.claim_job(session=session, job_id=job_id, worker_id="w1", now=T0)
    assert first is not None
    assert first.attempts == 1
    handed = repo.release_job(
        session=session, job_id=job_id, worker_id="w1", now=T0 + MIN, count_attempt=False
    )
    assert handed
    pending = repo.get_job(session=session, job_id=job_id)
    assert pending is not None
    assert (pending.status, pending.attempts) == (JobStatus.PENDING, 0)
    again = repo.claim_job(session=session, job_id=job_id, worker_id="w2", now=T0 + MIN)
    assert again is not None
    assert again.attempts == 1  # the run that was handed back is not counted
    # A transient failure gives the job back too, and that run counts.
    assert repo.release_job(session=session, job_id=job_id, worker_id="w2", now=T0 + 2 * MIN)
    third = repo.claim_job(session=session, job_id=job_id, worker_id="w3", now=T0 + 2 * MIN)
    assert third is not None
    assert third.attempts == 2


def test_events_in_order_after_an_id(session: Session) -> None:
    job_id = _job(session)
    ids = [
        repo.add_event(
            session=session, job_id=job_id, level=EventLevel.INFO, message=f"line {i}", now=T0
        )
        for i in range(3)
    ]
    lines = repo.list_events(session=session, job_id=job_id)
    assert [e.message for e in lines] == ["line 0", "line 1", "line 2"]
    assert [
        e.message for e in repo.list_events(session=session, job_id=job_id, after_id=ids[0])
    ] == [
        "line 1",
        "line 2",
    ]


def test_product_lock_is_exclusive_and_expires(session: Session) -> None:
    key = repo.lock_key("https://Shop.example/p/1/?utm_source=x")
    assert key == repo.lock_key("https://shop.example/p/1")
    ttl = timedelta(minutes=5)
    assert repo.acquire_product_lock(session=session, key=key, holder="a", now=T0, ttl=ttl)
    assert not repo.acquire_product_lock(session=session, key=key, holder="b", now=T0, ttl=ttl)
    assert repo.acquire_product_lock(session=session, key=key, holder="a", now=T0, ttl=ttl)
    later = T0 + ttl
    assert repo.acquire_product_lock(session=session, key=key, holder="b", now=later, ttl=ttl)
    repo.release_product_lock(session=session, key=key, holder="a")  # not a's any more
    assert not repo.acquire_product_lock(session=session, key=key, holder="a", now=later, ttl=ttl)
    repo.release_product_lock(session=session, key=key, holder="b")
    assert repo.acquire_product_lock(session=session, key=key, holder="a", now=later, ttl=ttl)
    assert repo.purge_expired_locks(session=session, now=later + ttl) == 1


def test_catalog_items(session: Session) -> None:
    from pricewatch.services import pipeline

    pipeline.process_batch(
        [make_snapshot("R1", category="Phones"), make_snapshot("R2", source="other")],
        session=session,
    )
    items = {i.reference: i for i in repo.catalog_items(session=session)}
    assert items["R1"].category == "Phones"
    assert items["R2"].source == "other"


def test_concurrent_claims_one_winner(real_sessions: sessionmaker[Session]) -> None:
    with real_sessions() as s:
        job_id = _job(s)
        s.commit()
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def claim(name: str) -> None:
        with real_sessions() as s:
            barrier.wait()
            if repo.claim_job(session=s, job_id=job_id, worker_id=name, now=T0):
                winners.append(name)
            s.commit()

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(winners) == 1
