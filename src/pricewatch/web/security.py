"""Security of the web process: headers on every response, the session cookie, CSRF checks, and
the answers to requests that are not authenticated (a redirect for pages, JSON for the API).

The headers are added by a small ASGI middleware rather than Starlette's `BaseHTTPMiddleware`,
which would copy every response body through a queue (slower, and in the way of SSE streams).
"""

from __future__ import annotations

import hmac
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pricewatch.config import WebSettings

#: The session cookie: the random session id (the database keeps only its SHA-256).
SESSION_COOKIE = "pw_session"
#: The CSRF cookie of the login and set-up forms, sent before there is a session.
LOGIN_CSRF_COOKIE = "pw_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"permissions-policy",
        b"camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ),
    (b"cross-origin-opener-policy", b"same-origin"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
#: Where a dependency leaves a session cookie to send again (its expiry slid forward).
REFRESH_KEY = "pricewatch.session_refresh"


class LoginRequiredError(Exception):
    """A page needs a logged-in user: the answer is a 303 redirect to `location`."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class ApiAuthError(Exception):
    """An /api request that is not authenticated (401) or not allowed (403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class CsrfError(Exception):
    """A page form post without the right CSRF token (403)."""


class SecurityHeaders:
    """Adds the security headers to every HTTP response (HSTS only over https), and the
    refreshed session cookie when a dependency left one (see `refresh_session_cookie`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; decorate the response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in HEADERS if h[0] not in present)
                if https:
                    headers.append(HSTS)
                if (cookie := state.get(REFRESH_KEY)) is not None:
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_https(request: Request) -> bool:
    """Whether the request came over https (directly, or through a trusted proxy: uvicorn's
    proxy headers support sets the scheme from X-Forwarded-Proto).
    """
    return request.url.scheme == "https"


def secure_cookies(settings: WebSettings, *, https: bool) -> bool:
    """Whether cookies carry `Secure` (settings.web.secure_cookies: auto, always or never)."""
    return settings.secure_cookies == "always" or (settings.secure_cookies == "auto" and https)


def _set_cookie(
    response: Response,
    name: str,
    value: str,
    expires_at: datetime | None,
    settings: WebSettings,
    *,
    https: bool,
) -> None:
    response.set_cookie(
        name,
        value,
        expires=expires_at,
        path="/",
        secure=secure_cookies(settings, https=https),
        httponly=True,
        samesite="lax",
    )


def set_session_cookie(
    response: Response, request: Request, session_id: str, expires_at: datetime
) -> None:
    """Put the session id in the response's cookie."""
    settings = request.app.state.context.settings.web
    _set_cookie(response, SESSION_COOKIE, session_id, expires_at, settings, https=is_https(request))


def set_login_csrf_cookie(response: Response, request: Request, token: str) -> None:
    """The CSRF cookie of the login and set-up forms (no session exists yet)."""
    settings = request.app.state.context.settings.web
    _set_cookie(response, LOGIN_CSRF_COOKIE, token, None, settings, https=is_https(request))


def clear_session_cookie(response: Response, request: Request) -> None:
    """Remove the session cookie from the browser."""
    settings = request.app.state.context.settings.web
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=secure_cookies(settings, https=is_https(request)),
        httponly=True,
        samesite="lax",
    )


def refresh_session_cookie(request: Request, session_id: str, expires_at: datetime) -> None:
    """Send the session cookie again with this response (its expiry moved forward)."""
    carrier = Response()
    set_session_cookie(carrier, request, session_id, expires_at)
    request.scope.setdefault("state", {})[REFRESH_KEY] = carrier.headers["set-cookie"]


def tokens_match(given: str | None, expected: str | None) -> bool:
    """Whether a CSRF token was given and is the expected one (in constant time)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def client_address(request: Request) -> str:
    """The client's address (the proxy's X-Forwarded-For when it is trusted, through uvicorn)."""
    return request.client.host if request.client else "unknown"


def safe_next(target: str | None, default: str = "/") -> str:
    """`target` when it is a path on this site, else `default`: never an absolute URL, a
    scheme-relative `//host` or a backslash trick, so a login link cannot send users elsewhere.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(c) < 0x20 or c == "\\" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def login_location(request: Request) -> str:
    """/login with `next` set to the path (and query) of a GET request (a form post cannot be
    replayed after the login, so it leads to the plain login page).
    """
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if path == "/" or request.method not in ("GET", "HEAD"):
        return "/login"
    return f"/login?next={quote(safe_next(path), safe='')}"


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequiredError)
    return RedirectResponse(exc.location, status_code=303)


async def _api_auth(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiAuthError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(
        {"error": exc.message, "status": exc.status}, status_code=exc.status, headers=headers
    )


async def _csrf(request: Request, exc: Exception) -> Response:
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Form expired</title>"
        "<h1>This form has expired</h1><p>It was not sent by this page or your session ended. "
        '<a href="/">Go back</a>, reload the page and try again.</p></html>'
    )
    return HTMLResponse(body, status_code=403)


def install_security(app: FastAPI) -> None:
    """Add the security headers middleware and the answers to unauthenticated requests."""
    app.add_exception_handler(LoginRequiredError, _login_required)
    app.add_exception_handler(ApiAuthError, _api_auth)
    app.add_exception_handler(CsrfError, _csrf)
    app.add_middleware(SecurityHeaders)
