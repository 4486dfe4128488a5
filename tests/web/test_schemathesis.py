"""Property-based run over the app's OpenAPI schema (schemathesis): for every /api operation,
a bounded number of generated requests, valid and invalid, sent with the admin's bearer token;
no answer may be a 5xx, and every answer must match the schema (status code, content type, body).

The catalog holds a few products and jobs first, so that generated ids sometimes exist. The SSE
stream is left out: for a job that never ends (no worker runs here) it never closes; its
answers are checked in test_api_jobs. Derandomized: the same requests on every run.

Generating the requests costs about twice as much as sending them, and derandomized generation
yields the same requests on every backend anyway: the first backend to run generates them (and
checks its answers), the other backends replay the very same requests with the same checks.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session, sessionmaker

from .conftest import BASE_URL, WebClient
from .test_api_products import seed_catalog

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Generated requests per operation: valid ones (which reach the endpoints' code) and invalid
#: ones (which FastAPI's request validation answers with a 422 before any endpoint code runs;
#: fewer are enough to try each parameter's wrong types and bounds, and they cost the most to
#: generate).
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}
SKIPPED = ("/api/jobs/{job_id}/stream",)


def httpx_arguments(case: schemathesis.Case) -> dict[str, Any]:
    """The case as keyword arguments of `httpx.AsyncClient.request`."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    kept = {k: kwargs[k] for k in ("method", "url", "headers", "params") if k in kwargs}
    if "json" in kwargs:
        kept["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), str | bytes):
        kept["content"] = kwargs["data"]
    elif "data" in kwargs:
        kept["data"] = kwargs["data"]
    return kept


@pytest.mark.slow
def test_the_api_answers_every_generated_request_within_its_schema(
    app: FastAPI, authed: WebClient, db_sessions: sessionmaker[Session]
) -> None:
    seed_catalog(db_sessions)
    authed.post("/api/jobs", json={"kind": "scrape", "urls": ["https://shop.example/p/1"]})
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.startswith("/api/") and result.ok().path not in SKIPPED
    ]
    assert len(operations) >= 18  # the contract's endpoints (and any added since)
    for operation in operations:
        _exercise(operation, GenerationMode.POSITIVE, authed)
        try:
            _exercise(operation, GenerationMode.NEGATIVE, authed)
        except Unsatisfiable:
            assert operation.method.upper() in ("GET", "POST")  # no input to get wrong


#: The requests generated per (method, path, mode) by the first backend's run, for the others;
#: None when the schema leaves nothing to generate (no input to get wrong).
_GENERATED: dict[tuple[str, str, GenerationMode], list[schemathesis.Case] | None] = {}


def _exercise(operation: Any, mode: GenerationMode, client: WebClient) -> None:
    """Send EXAMPLES[mode] generated requests of `operation` and check each answer."""
    key = (operation.method.upper(), operation.path, mode)
    if key in _GENERATED:
        cases = _GENERATED[key]
        if cases is None:
            raise Unsatisfiable(f"nothing to generate for {key}")
        for case in cases:
            _send(case, client)
        return
    generated: list[schemathesis.Case] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        _send(case, client)
        generated.append(case)

    try:
        check()
    except Unsatisfiable:
        _GENERATED[key] = None
        raise
    _GENERATED[key] = generated


def _send(case: schemathesis.Case, client: WebClient) -> None:
    response = client.request(**httpx_arguments(case))
    case.validate_response(response, checks=CHECKS)
