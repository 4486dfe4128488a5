"""Request dependencies shared by the API and the pages: the context, and who is asking.

Contract (used by `web.api`, `web.pages` and `web.auth_pages`):
- `Context`: the `WebContext` of the app.
- `ApiUser`: the authenticated caller of an /api endpoint, by bearer token
  (`Authorization: Bearer pw_...`) or by the session cookie of a logged-in page; with the cookie,
  unsafe methods (POST, PUT, PATCH, DELETE) also need the `X-CSRF-Token` header holding the
  session's CSRF token. Otherwise a 401 (or 403 for a bad CSRF token) JSON error.
- `PageUser`: the logged-in user of a page (session cookie only); otherwise a redirect to
  /login?next=<path> (or to /setup when no account exists yet).
- `CsrfForm`: for page form posts: the form field `csrf_token` must match the session's token,
  else 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from pricewatch.web.context import WebContext


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a user, through a session cookie or an API token."""

    user_id: int
    username: str
    is_admin: bool
    via: Literal["session", "token"]
    #: The session's CSRF token, to put in forms and in the X-CSRF-Token header of page
    #: scripts; None for API tokens (a bearer token is not sent by browsers on their own).
    csrf_token: str | None = None


def get_context(request: Request) -> WebContext:
    """The app's `WebContext`."""
    context: WebContext = request.app.state.context
    return context


Context = Annotated[WebContext, Depends(get_context)]


async def api_user(request: Request) -> Principal:
    """The authenticated caller of an /api endpoint (see the module docstring)."""
    raise NotImplementedError("implemented with the accounts work")


async def page_user(request: Request) -> Principal:
    """The logged-in user of a page (see the module docstring)."""
    raise NotImplementedError("implemented with the accounts work")


async def csrf_form(request: Request) -> None:
    """Refuse a page form post whose `csrf_token` field does not match the session's."""
    raise NotImplementedError("implemented with the accounts work")


ApiUser = Annotated[Principal, Depends(api_user)]
PageUser = Annotated[Principal, Depends(page_user)]
CsrfForm = Annotated[None, Depends(csrf_form)]
