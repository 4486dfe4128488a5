"""Rendering a page: the template, the logged-in user, its CSRF token, the page filters."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from pricewatch.web.context import WebContext
from pricewatch.web.deps import Principal
from pricewatch.web.pages import format


def page(
    context: WebContext,
    request: Request,
    user: Principal,
    template: str,
    values: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """`template` rendered for `user` (base.html gets `user` and `csrf_token`)."""
    templates = context.templates
    format.install(templates.env)
    data = {"user": user, "csrf_token": user.csrf_token, **(values or {})}
    response: HTMLResponse = templates.TemplateResponse(
        request, template, data, status_code=status_code
    )
    return response


def not_found(context: WebContext, request: Request, user: Principal, what: str) -> HTMLResponse:
    """The 404 page, saying what was not found (e.g. 'product 12')."""
    return page(context, request, user, "not_found.html", {"what": what}, status_code=404)


#: The largest id a database row can have (64-bit signed).
MAX_ID = 2**63 - 1


def parse_id(text: str) -> int | None:
    """A row id from a URL segment; None when it cannot be one (the page is then a 404)."""
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
