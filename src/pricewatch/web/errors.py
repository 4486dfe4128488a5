"""JSON errors for the API: a clear message and the right status code, never a bare 500.

Every error body is `{"error": "<one sentence>", "status": <code>, "detail": <optional>}`:
HTTP errors keep their status and headers (WWW-Authenticate, Location), invalid requests are
422 with the field errors in `detail`, unknown jobs and products 404, a job in the wrong state
409, an unreachable database 503. Anything else is logged and answered with a JSON 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from pricewatch.services.catalog import CatalogInputError, ProductNotFoundError
from pricewatch.services.jobs import JobNotFoundError, JobStateError

log = logging.getLogger(__name__)

#: Database errors that mean "not reachable now" rather than "this request is wrong".
UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError)


def error_response(
    status: int, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON error body with its status."""
    body = {"error": message, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the app's exception handlers."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(JobNotFoundError, _not_found)
    app.add_exception_handler(ProductNotFoundError, _not_found)
    app.add_exception_handler(JobStateError, _conflict)
    app.add_exception_handler(CatalogInputError, _unprocessable)
    for error in UNAVAILABLE:
        app.add_exception_handler(error, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else _phrase(exc.status_code)
    detail = None if isinstance(exc.detail, str) else exc.detail
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, message, detail, headers)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(e) for e in exc.errors()]
    return error_response(422, _summary(errors), errors)


def _field_error(error: Any) -> dict[str, Any]:
    """One validation error without its input (which may be large or not JSON at all)."""
    loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
    return {"loc": loc, "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}


def _summary(errors: Sequence[dict[str, Any]]) -> str:
    """The message: where the first error is, what it says, and how many more there are."""
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid request: {where}: {first['msg']}{more}"


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return error_response(404, _sentence(exc))


async def _conflict(request: Request, exc: Exception) -> JSONResponse:
    return error_response(409, _sentence(exc))


async def _unprocessable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CatalogInputError)
    return error_response(422, _sentence(exc), exc.detail)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        503,
        "The database is unreachable right now; try again in a moment.",
        headers={"Retry-After": "5"},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "Internal error: the server could not answer this request.")


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip()
    return text[:1].upper() + text[1:] if text else type(exc).__name__


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
