"""/api/jobs: list, read, create, cancel and retry jobs, their statistics and live stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import Field

from pricewatch.adapters.db.job_repository import EventRecord, JobRecord
from pricewatch.domain.job import ItemFilter, JobStatus, TriggeredBy, is_terminal
from pricewatch.services import jobs
from pricewatch.web.api.common import (
    AUTHED,
    JobId,
    add_pages,
    created_jobs,
    job_json,
    json_responses,
    responses,
    waiting_message,
)
from pricewatch.web.api.schemas import (
    Cancelled,
    Event,
    Job,
    JobCreated,
    JobList,
    JobRequest,
    JobsCreated,
    JobStatistics,
    JobWithEvents,
    ScrapeAllRequest,
    ScrapeRequest,
    Window,
)
from pricewatch.web.deps import Context

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=AUTHED)

#: Log lines shown with a job.
LAST_EVENTS = 50
#: Seconds between two looks at a streamed job.
STREAM_POLL_SECONDS = 0.5
#: Most log lines one `services.jobs.events` call returns (more follow without a pause).
EVENTS_PAGE = 1000

NOT_FOUND = responses(404)
CONFLICT = responses(404, 409)


@router.get("", response_model=JobList, summary="List jobs")
def list_jobs(
    context: Context,
    status: Annotated[list[JobStatus] | None, Query(description="Only these statuses")] = None,
    job_id: Annotated[
        list[Annotated[int, Field(ge=1)]] | None,
        Query(alias="id", max_length=200, description="Only these jobs (up to 200 ids)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> JobList:
    """Jobs newest first, with the total matching the filters (e.g. which of the jobs a page
    follows are still active: `?id=1&id=2&status=pending&status=running`)."""
    page = jobs.page(
        sessions=context.reads,
        statuses=status or (),
        ids=job_id or (),
        limit=limit,
        offset=offset,
    )
    return JobList(
        items=[Job.of(r, page.product_ids.get(r.id, [])) for r in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/stats", response_model=JobStatistics, summary="Job statistics")
def job_stats(context: Context) -> JobStatistics:
    """Queued and running jobs now; how the jobs created in the last 24 hours went."""
    s = jobs.stats(sessions=context.reads)
    window = Window(
        total=s.total,
        succeeded=s.succeeded,
        failed=s.failed,
        partial=s.partial,
        cancelled=s.cancelled,
        success_rate=s.success_rate,
        average_duration_seconds=s.average_duration_seconds,
    )
    return JobStatistics(queued=s.queued, running=s.running, last_24h=window)


@router.post("", status_code=202, response_model=JobsCreated, summary="Create a job")
async def create_job(body: JobRequest, context: Context) -> JobsCreated:
    """`scrape` some pages now (a job per page), or `scrape_all` over the catalog's products."""
    if isinstance(body, ScrapeRequest):
        return await _scrape(body, context)
    return await anyio.to_thread.run_sync(_scrape_all, body, context)


async def _scrape(body: ScrapeRequest, context: Context) -> JobsCreated:
    return await add_pages(context, body.urls, schedule=False)


def _scrape_all(body: ScrapeAllRequest, context: Context) -> JobsCreated:
    item_filter = ItemFilter(
        include_sources=frozenset(body.include.sources),
        include_categories=frozenset(body.include.categories),
        include_products=frozenset(body.include.products),
        exclude_sources=frozenset(body.exclude.sources),
        exclude_categories=frozenset(body.exclude.categories),
        exclude_products=frozenset(body.exclude.products),
    )
    created = jobs.enqueue_scrape_all(
        sessions=context.sessions,
        engine=context.job_engine(),
        item_filter=item_filter,
        triggered_by=TriggeredBy.API,
    )
    (job,) = created_jobs(context.sessions, [created])
    return JobsCreated(
        job=job, jobs=[job], accepted=[], rejected=[], message=waiting_message([created])
    )


@router.post("/cancel-all", response_model=Cancelled, summary="Cancel every active job")
def cancel_all(context: Context) -> Cancelled:
    """Cancel every pending and running job; the ids of the ones cancelled."""
    done = jobs.cancel_all(sessions=context.sessions, engine=context.job_engine())
    return Cancelled(cancelled=[c.job_id for c in done])


@router.get("/{job_id}", response_model=JobWithEvents, responses=NOT_FOUND, summary="One job")
def get_job(job_id: JobId, context: Context) -> JobWithEvents:
    """The job with its last log lines."""
    record = jobs.get(sessions=context.reads, job_id=job_id)
    recent = jobs.recent_events(sessions=context.reads, job_id=job_id, limit=LAST_EVENTS)
    job = job_json(context.reads, record)
    return JobWithEvents(**job.model_dump(), events=[Event.of(e) for e in recent])


def _cancel(job_id: int, context: Context) -> Job:
    jobs.cancel(sessions=context.sessions, engine=context.job_engine(), job_id=job_id)
    return job_json(context.sessions, jobs.get(sessions=context.sessions, job_id=job_id))


@router.post(
    "/{job_id}/cancel",
    status_code=202,
    response_model=Job,
    responses=CONFLICT,
    summary="Cancel a job",
)
def cancel_job(job_id: JobId, context: Context) -> Job:
    """Cancel a pending job at once, or ask a running one to stop; 409 if it is over."""
    return _cancel(job_id, context)


@router.delete(
    "/{job_id}",
    status_code=202,
    response_model=Job,
    responses=CONFLICT,
    summary="Cancel a job",
)
def delete_job(job_id: JobId, context: Context) -> Job:
    """The same as POST /api/jobs/{job_id}/cancel (the job's record stays)."""
    return _cancel(job_id, context)


@router.post(
    "/{job_id}/retry",
    status_code=202,
    response_model=JobCreated,
    responses=CONFLICT,
    summary="Retry a job",
)
def retry_job(job_id: JobId, context: Context) -> JobCreated:
    """A new attempt of a failed, partial or cancelled job; 409 for any other."""
    created = jobs.retry(sessions=context.sessions, engine=context.job_engine(), job_id=job_id)
    (job,) = created_jobs(context.sessions, [created])
    return JobCreated(job=job, message=waiting_message([created]))


# --- the live stream ---------------------------------------------------------------------------


def existing_job(job_id: JobId, context: Context) -> JobRecord:
    """The job named in the path (404 before any stream starts)."""
    return jobs.get(sessions=context.reads, job_id=job_id)


def _resume_after(last_event_id: str | None) -> int:
    """The log line a reconnecting client saw last (`Last-Event-ID`), 0 when unknown."""
    value = (last_event_id or "").strip()
    return int(value) if value.isdigit() and len(value) < 19 else 0


@router.get(
    "/{job_id}/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`progress` (the job), `log` (a log line, id = its id), `end` (the "
            "finished job), then the stream closes",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **json_responses(400, 401, 403, 404, 422, 503),
    },
    summary="Live progress and log of a job (Server-Sent Events)",
)
async def stream_job(
    job: Annotated[JobRecord, Depends(existing_job)],
    context: Context,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Events as the job changes, until it ends (resumes after `Last-Event-ID`)."""
    after = _resume_after(last_event_id)
    shown: Job | None = None
    while True:
        current, lines = await anyio.to_thread.run_sync(_look, context, job.id, after)
        if current is not None and current != shown:
            yield ServerSentEvent(event="progress", data=current)
            shown = current
        for line in lines:
            yield ServerSentEvent(event="log", id=str(line.id), data=Event.of(line))
            after = line.id
        if current is None or is_terminal(current.status):
            yield ServerSentEvent(event="end", data=current or shown)
            return
        if len(lines) < EVENTS_PAGE:
            await anyio.sleep(STREAM_POLL_SECONDS)


def _look(context: Context, job_id: int, after: int) -> tuple[Job | None, list[EventRecord]]:
    """The job now, then its log lines after `after`.

    Read in this order, so that when the job is seen finished, all its lines are there.
    """
    try:
        record = jobs.get(sessions=context.reads, job_id=job_id)
    except jobs.JobNotFoundError:  # deleted while streamed (maintenance prunes old jobs)
        return None, []
    lines = jobs.events(sessions=context.reads, job_id=job_id, after_id=after)
    return job_json(context.reads, record), lines
