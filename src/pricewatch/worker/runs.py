"""One delivery of a job to a worker, on either engine: run it, and say when to run it again.

Both engines' tasks call `run_delivery`; each re-queues the job its own way (Huey raises
`RetryTask`, Celery calls `Task.retry`). The job code is imported at the first delivery, not
with this module: a Celery worker's main process imports its engine but never runs a job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.config import Settings, WorkerSettings
from pricewatch.domain.job import retry_delay
from pricewatch.services.jobs import JobConfig
from pricewatch.worker.engines import worker_id
from pricewatch.worker.heartbeat import Activity

if TYPE_CHECKING:
    from pricewatch.services.job_run import StopFlag

#: Re-queues a job whose claim failed: (delay in seconds, claims the next delivery carries,
#: the database error) -> the exception that tells the engine so.
Requeue = Callable[[float, int, sa_exc.SQLAlchemyError], BaseException]


class Runner(Protocol):
    """What a delivery needs of its engine."""

    @property
    def settings(self) -> Settings: ...

    @property
    def config(self) -> JobConfig: ...

    @property
    def worker(self) -> WorkerSettings: ...

    @property
    def stopping(self) -> StopFlag: ...

    @property
    def activity(self) -> Activity: ...

    def sessions(self) -> sessionmaker[Session]: ...


def run_delivery(engine: Runner, job_id: int, *, claims: int, requeue: Requeue) -> float | None:
    """Run job `job_id` once; the seconds after which the job asked to run again, or None.

    When the database cannot be reached, the job is re-queued through `requeue` after a
    backoff, for up to `PW_WORKER_CLAIM_ATTEMPTS` deliveries in all (`claims` counts those
    before this one); any other error, and the last delivery's, propagates.
    """
    from pricewatch.services import job_run, pipeline  # job code: see the module docstring

    try:
        with engine.activity.running():
            outcome = job_run.run_job(
                job_id,
                settings=engine.settings,
                sessions=engine.sessions(),
                worker_id=worker_id(),
                config=engine.config,
                stopping=engine.stopping,
            )
    except sa_exc.SQLAlchemyError as exc:
        if not pipeline.is_unavailable(exc) or claims + 1 >= engine.worker.claim_attempts:
            raise
        raise requeue(retry_delay(claims + 1), claims + 1, exc) from exc
    return outcome.retry_in
