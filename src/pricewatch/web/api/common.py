"""What the API's routers share: documented error answers, id path parameters, job JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Path

from pricewatch.adapters.db.job_repository import JobRecord
from pricewatch.domain.job import TriggeredBy
from pricewatch.services import catalog, jobs
from pricewatch.services.catalog import CatalogInputError
from pricewatch.services.jobs import Created, SessionFactory
from pricewatch.web.api.schemas import (
    MAX_JOB_ID,
    MAX_PRODUCT_ID,
    Error,
    Job,
    JobsCreated,
    RejectedUrl,
)
from pricewatch.web.context import WebContext

JobId = Annotated[int, Path(ge=1, le=MAX_JOB_ID, description="A job's id")]
ProductId = Annotated[int, Path(ge=1, le=MAX_PRODUCT_ID, description="A product's id")]

#: Said when a job was recorded but the task engine could not take it.
WAITING = (
    "The task engine is unreachable: the job is recorded and stays pending until it is "
    "dispatched, automatically, once the engine is reachable again."
)


_SAID = {
    400: "The request body cannot be parsed",
    401: "Not authenticated",
    403: "Missing or wrong X-CSRF-Token header (session cookie)",
    404: "No such resource",
    409: "The job's state does not allow this",
    422: "Invalid request",
    503: "The database is unreachable",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error answers (all carry the `Error` body)."""
    return {code: {"model": Error, "description": _SAID[code]} for code in codes}


def json_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """As `responses`, for an endpoint whose own answers are not JSON (its errors still are)."""
    schema = {"$ref": "#/components/schemas/Error"}
    return {
        code: {"description": _SAID[code], "content": {"application/json": {"schema": schema}}}
        for code in codes
    }


#: The error answers every authenticated endpoint may give.
AUTHED = responses(400, 401, 403, 422, 503)


def job_json(sessions: SessionFactory, record: JobRecord) -> Job:
    """The job's JSON, with the products it touched."""
    touched = jobs.product_ids(sessions=sessions, records=[record])
    return Job.of(record, touched.get(record.id, []))


def created_jobs(sessions: SessionFactory, created: Sequence[Created]) -> list[Job]:
    """The JSON of newly created jobs."""
    records = [jobs.get(sessions=sessions, job_id=c.job_id) for c in created]
    touched = jobs.product_ids(sessions=sessions, records=records)
    return [Job.of(r, touched.get(r.id, [])) for r in records]


def waiting_message(created: Sequence[Created]) -> str | None:
    """The message for jobs the engine did not take (None when it took them all)."""
    return WAITING if any(not c.dispatched for c in created) else None


def no_acceptable_url(rejected: Sequence[RejectedUrl]) -> CatalogInputError:
    """The 422 of a request whose URLs are all refused: the first refusal and how many more in
    the message, every refused URL with its reason in `detail.rejected`."""
    detail: dict[str, object] = {"rejected": [r.model_dump() for r in rejected]}
    if not rejected:
        return CatalogInputError("no acceptable URL: no URL given", detail)
    more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
    first = rejected[0]
    return CatalogInputError(f"no acceptable URL: {first.url}: {first.error}{more}", detail)


async def add_pages(context: WebContext, urls: Sequence[str], *, schedule: bool) -> JobsCreated:
    """Vet `urls` and create a scrape job per acceptable page (`schedule`: the product is then
    checked on its interval); 422 when none is acceptable, the refused ones listed either way."""
    added = await catalog.add_urls(
        sessions=context.sessions,
        engine=await anyio.to_thread.run_sync(context.job_engine),
        urls=urls,
        fetch=context.settings.fetch,
        schedule=schedule,
        triggered_by=TriggeredBy.API,
    )
    rejected = [RejectedUrl.of(r) for r in added.rejected]
    if not added.accepted:
        raise no_acceptable_url(rejected)
    created = await anyio.to_thread.run_sync(created_jobs, context.sessions, added.created)
    return JobsCreated(
        job=created[0],
        jobs=created,
        accepted=added.accepted,
        rejected=rejected,
        message=waiting_message(added.created),
    )
