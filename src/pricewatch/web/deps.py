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

The database is read in a worker thread, never on the event loop. A request's session is looked
up once, however many of these dependencies it uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import Depends, Request

from pricewatch.services import accounts
from pricewatch.web.context import WebContext
from pricewatch.web.security import (
    SAFE_METHODS,
    SESSION_COOKIE,
    ApiAuthError,
    CsrfError,
    LoginRequiredError,
    login_location,
    refresh_session_cookie,
    tokens_match,
)

#: Where a request's session principal (or None) is cached.
_PRINCIPAL = "pricewatch_principal"


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


async def get_context(request: Request) -> WebContext:
    """The app's `WebContext`.

    Async although it never awaits: FastAPI runs a sync dependency in a worker thread, a
    thread hop per request for reading one attribute.
    """
    return _context(request)


def _context(request: Request) -> WebContext:
    context: WebContext = request.app.state.context
    return context


Context = Annotated[WebContext, Depends(get_context)]


async def session_principal(request: Request) -> Principal | None:
    """The user of the request's session cookie, if it is a valid session (cached per request)."""
    if hasattr(request.state, _PRINCIPAL):
        cached: Principal | None = getattr(request.state, _PRINCIPAL)
        return cached
    principal = None
    if cookie := request.cookies.get(SESSION_COOKIE):
        context = _context(request)
        active = await anyio.to_thread.run_sync(
            partial(
                accounts.resolve_session,
                sessions=context.sessions,
                reads=context.reads,
                session_id=cookie,
                hours=context.settings.web.session_hours,
            )
        )
        if active is not None:
            if active.touched:
                refresh_session_cookie(request, cookie, active.expires_at)
            user = active.user
            principal = Principal(
                user.id, user.username, user.is_admin, "session", active.csrf_token
            )
    setattr(request.state, _PRINCIPAL, principal)
    return principal


async def api_user(request: Request) -> Principal:
    """The authenticated caller of an /api endpoint (see the module docstring)."""
    if (authorization := request.headers.get("authorization")) is not None:
        return await _token_principal(request, authorization)
    principal = await session_principal(request)
    if principal is None:
        raise ApiAuthError(
            401, "authentication required: send `Authorization: Bearer <token>`, or log in"
        )
    if request.method not in SAFE_METHODS and not tokens_match(
        request.headers.get("x-csrf-token"), principal.csrf_token
    ):
        raise ApiAuthError(403, "missing or wrong X-CSRF-Token header for this session")
    return principal


async def _token_principal(request: Request, authorization: str) -> Principal:
    """The owner of the bearer token in the Authorization header; 401 when it is not valid."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiAuthError(401, "the Authorization header must be `Bearer <token>`")
    context = _context(request)
    user = await anyio.to_thread.run_sync(
        partial(
            accounts.verify_token,
            sessions=context.sessions,
            reads=context.reads,
            token=token.strip(),
        )
    )
    if user is None:
        raise ApiAuthError(401, "the API token is not valid (unknown or revoked)")
    return Principal(user.id, user.username, user.is_admin, "token")


async def page_user(request: Request) -> Principal:
    """The logged-in user of a page (see the module docstring)."""
    principal = await session_principal(request)
    if principal is not None:
        return principal
    raise LoginRequiredError(await _login_or_setup(request))


async def _login_or_setup(request: Request) -> str:
    """Where to send a visitor without a session: /setup while no account exists, else /login."""
    context = _context(request)
    if not await anyio.to_thread.run_sync(partial(accounts.has_users, sessions=context.reads)):
        return "/setup"
    return login_location(request)


async def csrf_form(request: Request) -> None:
    """Refuse a page form post whose `csrf_token` field does not match the session's."""
    principal = await session_principal(request)
    if principal is None:
        raise LoginRequiredError(await _login_or_setup(request))
    form = await request.form()
    given = form.get("csrf_token")
    if not tokens_match(given if isinstance(given, str) else None, principal.csrf_token):
        raise CsrfError()


ApiUser = Annotated[Principal, Depends(api_user)]
PageUser = Annotated[Principal, Depends(page_user)]
CsrfForm = Annotated[None, Depends(csrf_form)]
