"""The jobs console (/jobs) and one job's page (/jobs/{id}) with its live log.

The pages render the current state; `static/console.js` and `static/job.js` keep it live from
/api/jobs (polled while the page is visible) and /api/jobs/{id}/stream (server-sent events).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pricewatch.adapters.db.job_repository import EventRecord, JobRecord
from pricewatch.domain.job import ACTIVE_STATUSES, RETRYABLE_STATUSES
from pricewatch.services import jobs
from pricewatch.web.deps import Context, PageUser
from pricewatch.web.pages.render import not_found, page, parse_id

router = APIRouter()

#: Jobs the console shows at first (the script then keeps the same number).
CONSOLE_JOBS = 50
#: Log lines a job's page shows at first (the stream then appends new ones).
LOG_LINES = 500

KIND_LABELS = {
    "scrape_product": "Check product",
    "scrape_all": "Scrape all",
    "maintenance": "Maintenance",
    "discover": "Discover",
    "sync_catalog": "Sync catalog",
    "backup": "Backup",
}


@dataclass(frozen=True)
class JobView:
    """A job as the pages show it."""

    job: JobRecord
    kind_label: str
    subject: str
    percent: int
    active: bool
    retryable: bool
    seconds: float | None


def view(job: JobRecord, now: datetime | None = None) -> JobView:
    """What the console and the job page show of `job`."""
    progress = job.progress
    done = job.status not in ACTIVE_STATUSES
    percent = round(progress.fraction * 100) if progress.total else (100 if done else 0)
    return JobView(
        job=job,
        kind_label=KIND_LABELS.get(job.kind.value, job.kind.value),
        subject=_subject(job),
        percent=percent,
        active=job.status in ACTIVE_STATUSES,
        retryable=job.status in RETRYABLE_STATUSES,
        seconds=_seconds(job, now or datetime.now(UTC)),
    )


def _subject(job: JobRecord) -> str:
    """What the job works on: its URL, or its filter in words."""
    if url := job.params.get("url"):
        return str(url)
    urls = job.params.get("urls")
    if isinstance(urls, list) and urls:
        return f"{len(urls)} URL{'s' if len(urls) != 1 else ''}"
    if job.kind.value == "scrape_all":
        return "every enabled product" if not job.params.get("filter") else "filtered products"
    return ""


def _seconds(job: JobRecord, now: datetime) -> float | None:
    if job.started_at is None:
        return None
    return ((job.finished_at or now) - job.started_at).total_seconds()


@router.get("/jobs", response_class=HTMLResponse)
async def console(request: Request, context: Context, user: PageUser) -> HTMLResponse:
    """Running and recent jobs, stats at the top; kept live by console.js."""
    recent, stats = await anyio.to_thread.run_sync(_console_data, context.reads)
    values = {
        "jobs": [view(job) for job in recent.items],
        "total": recent.total,
        "stats": stats,
        "limit": CONSOLE_JOBS,
    }
    return page(context, request, user, "jobs.html", values)


def _console_data(sessions: jobs.SessionFactory) -> tuple[jobs.JobPage, jobs.JobStats]:
    return jobs.page(sessions=sessions, limit=CONSOLE_JOBS), jobs.stats(sessions=sessions)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(job_id: str, request: Request, context: Context, user: PageUser) -> HTMLResponse:
    """One job: progress, counts, facts and its live log."""
    number = parse_id(job_id)
    found = (
        None
        if number is None
        else await anyio.to_thread.run_sync(_job_and_log, context.reads, number)
    )
    if found is None:
        return not_found(context, request, user, f"job {job_id}")
    job, log, touched = found
    values = {"v": view(job), "log": log, "product_ids": touched}
    return page(context, request, user, "job.html", values)


def _job_and_log(
    sessions: jobs.SessionFactory, job_id: int
) -> tuple[JobRecord, list[EventRecord], list[int]] | None:
    try:
        job = jobs.get(sessions=sessions, job_id=job_id)
    except jobs.JobNotFoundError:
        return None
    log = jobs.events(sessions=sessions, job_id=job_id)[-LOG_LINES:]
    touched = jobs.product_ids(sessions=sessions, records=[job]).get(job.id, [])
    return job, log, touched
