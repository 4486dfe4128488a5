"""Account pages: first-start setup, login, logout, settings (account, API tokens).

The login and set-up forms are posted before any session exists, so their CSRF token is a
double-submit one: a random value in a cookie of its own (`pw_login_csrf`) and in the form.
Forms of logged-in pages carry the session's token (`CsrfForm`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from pricewatch.services import accounts, preferences
from pricewatch.web.deps import Context, CsrfForm, PageUser, Principal, session_principal
from pricewatch.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    clear_session_cookie,
    client_address,
    safe_next,
    set_login_csrf_cookie,
    set_session_cookie,
    tokens_match,
)

router = APIRouter(include_in_schema=False)

T = TypeVar("T")
FormText = Annotated[str, Form(max_length=4096)]

#: What a settings form did, shown after its redirect (`/settings?done=...`).
NOTICES = {
    "password": "Password changed. Your other sessions were logged out.",
    "interval": "Default check interval saved.",
    "revoked": "Token revoked: it no longer opens the API.",
    "session": "Session logged out.",
}
EXPIRED_FORM = "The form expired. Please try again."


async def _run(function: Callable[..., T], **kwargs: Any) -> T:
    """`function(**kwargs)` in a worker thread (it reads or writes the database)."""
    return await anyio.to_thread.run_sync(partial(function, **kwargs))


def _when(moment: datetime | None) -> str:
    """A timestamp as shown on the settings page."""
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


# --- setup and login ---------------------------------------------------------------------------


def _anonymous_page(
    context: Context,
    request: Request,
    template: str,
    values: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    """A page of the login or set-up form, with a fresh double-submit CSRF token."""
    token = secrets.token_urlsafe(32)
    data = {"user": None, "csrf_token": None, "form_token": token, **values}
    response = context.templates.TemplateResponse(request, template, data, status_code=status_code)
    set_login_csrf_cookie(response, request, token)
    return response


def _login_form_ok(request: Request, form_token: str) -> bool:
    """Whether the form's token matches the login CSRF cookie."""
    return tokens_match(form_token, request.cookies.get(LOGIN_CSRF_COOKIE))


async def _logged_in_response(
    context: Context, request: Request, user: accounts.User, target: str
) -> Response:
    """A redirect to `target` carrying the cookie of a new session (the old one ends)."""
    login = await _run(
        accounts.start_session,
        sessions=context.sessions,
        user=user,
        hours=context.settings.web.session_hours,
        user_agent=request.headers.get("user-agent"),
        address=client_address(request),
        replaces=request.cookies.get(SESSION_COOKIE),
    )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, login.session_id, login.expires_at)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.get("/setup")
async def setup_page(context: Context, request: Request) -> Response:
    """The first-start form creating the admin account (only while no account exists)."""
    if await _run(accounts.has_users, sessions=context.reads):
        return RedirectResponse("/login", status_code=303)
    return _anonymous_page(context, request, "setup.html", {"username": "", "error": None})


@router.post("/setup")
async def setup(
    context: Context,
    request: Request,
    username: FormText = "",
    password: FormText = "",
    password_again: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Create the admin account and log it in."""
    if await _run(accounts.has_users, sessions=context.reads):
        return RedirectResponse("/login", status_code=303)
    error = _setup_error(request, csrf_token, password, password_again)
    if error is None:
        try:
            user = await _run(
                accounts.create_admin,
                sessions=context.sessions,
                username=username,
                password=password,
            )
        except accounts.AdminExistsError:
            return RedirectResponse("/login", status_code=303)
        except accounts.AccountError as exc:
            error = str(exc)
        else:
            return await _logged_in_response(context, request, user, "/")
    values = {"username": username, "error": _sentence(error)}
    return _anonymous_page(context, request, "setup.html", values, status_code=400)


def _setup_error(request: Request, form_token: str, password: str, again: str) -> str | None:
    """What is wrong with the set-up form before the account is tried, if anything."""
    if not _login_form_ok(request, form_token):
        return EXPIRED_FORM
    if password != again:
        return "The two passwords differ."
    return None


def _target(next: str) -> str:
    """Where to go after logging in: a local path, never back to the account forms."""
    target = safe_next(next)
    path = target.split("?", 1)[0]
    return "/" if path in ("/login", "/setup", "/logout") else target


def _sentence(message: str) -> str:
    """A service message ("the username ...") as a sentence for a page."""
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


@router.get("/login")
async def login_page(context: Context, request: Request, next: str = "/") -> Response:
    """The login form (the set-up form while no account exists)."""
    target = _target(next)
    if await session_principal(request) is not None:
        return RedirectResponse(target, status_code=303)
    if not await _run(accounts.has_users, sessions=context.reads):
        return RedirectResponse("/setup", status_code=303)
    values = {"username": "", "next": target, "error": None}
    return _anonymous_page(context, request, "login.html", values)


@router.post("/login")
async def login(
    context: Context,
    request: Request,
    username: FormText = "",
    password: FormText = "",
    next: FormText = "/",
    csrf_token: FormText = "",
) -> Response:
    """Log in: a new session and a redirect to `next` (a path of this site only)."""
    target = _target(next)
    values: dict[str, Any] = {"username": username, "next": target}
    if not _login_form_ok(request, csrf_token):
        values["error"] = EXPIRED_FORM
        return _anonymous_page(context, request, "login.html", values, status_code=403)
    try:
        user = await _run(
            accounts.authenticate,
            sessions=context.sessions,
            limits=context.settings.web,
            username=username,
            password=password,
            address=client_address(request),
        )
    except accounts.LoginThrottledError as exc:
        values["error"] = _sentence(str(exc))
        response = _anonymous_page(context, request, "login.html", values, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except accounts.InvalidCredentialsError as exc:
        values["error"] = _sentence(str(exc))
        return _anonymous_page(context, request, "login.html", values, status_code=401)
    return await _logged_in_response(context, request, user, target)


@router.post("/logout")
async def logout(context: Context, request: Request, _csrf: CsrfForm) -> Response:
    """End the session and go to the login page."""
    if cookie := request.cookies.get(SESSION_COOKIE):
        await _run(accounts.end_session, sessions=context.sessions, session_id=cookie)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, request)
    return response


# --- settings ----------------------------------------------------------------------------------


async def _settings_page(
    context: Context,
    request: Request,
    user: Principal,
    *,
    status_code: int = 200,
    **values: Any,
) -> Response:
    """The settings page: account, default check interval, API tokens, sessions."""
    sessions = context.sessions
    interval = await _run(preferences.default_check_interval, sessions=sessions)
    tokens = await _run(accounts.list_tokens, sessions=sessions, user_id=user.user_id)
    logins = await _run(accounts.list_sessions, sessions=sessions, user_id=user.user_id)
    data = {
        "user": user,
        "csrf_token": user.csrf_token,
        "interval_hours": f"{interval / 3600:g}",
        "min_hours": preferences.MIN_CHECK_INTERVAL_HOURS,
        "max_hours": preferences.MAX_CHECK_INTERVAL_HOURS,
        "tokens": tokens,
        "logins": logins,
        "current_login": _current_login(logins, user),
        "when": _when,
        "notice": None,
        "errors": {},
        "new_token": None,
        **values,
    }
    return context.templates.TemplateResponse(
        request, "settings.html", data, status_code=status_code
    )


def _current_login(logins: list[accounts.ActiveSession], user: Principal) -> int | None:
    """The row id of the session of this request (the one with its CSRF token)."""
    return next((s.id for s in logins if s.csrf_token == user.csrf_token), None)


@router.get("/settings")
async def settings_page(
    context: Context, request: Request, user: PageUser, done: str = ""
) -> Response:
    """Settings: account, default check interval, API tokens, active sessions."""
    return await _settings_page(context, request, user, notice=NOTICES.get(done))


def _saved(what: str) -> Response:
    return RedirectResponse(f"/settings?done={what}", status_code=303)


@router.post("/settings/password")
async def change_password(
    context: Context,
    request: Request,
    user: PageUser,
    _csrf: CsrfForm,
    current_password: FormText = "",
    new_password: FormText = "",
    new_password_again: FormText = "",
) -> Response:
    """Change the password (the current one is required); other sessions end."""
    error = "The two new passwords differ." if new_password != new_password_again else None
    if error is None:
        try:
            await _run(
                accounts.change_password,
                sessions=context.sessions,
                user_id=user.user_id,
                current=current_password,
                new=new_password,
                keep_session=request.cookies.get(SESSION_COOKIE),
            )
        except accounts.AccountError as exc:
            error = _sentence(str(exc))
        else:
            return _saved("password")
    return await _settings_page(context, request, user, status_code=400, errors={"password": error})


@router.post("/settings/check-interval")
async def set_check_interval(
    context: Context, request: Request, user: PageUser, _csrf: CsrfForm, hours: FormText = ""
) -> Response:
    """Set the default check interval of new products."""
    try:
        await _run(
            preferences.set_default_check_interval,
            sessions=context.sessions,
            hours=float(hours.strip().replace(",", ".")),
        )
    except ValueError as exc:
        message = str(exc) if isinstance(exc, preferences.PreferenceError) else "not a number"
        errors = {"interval": _sentence(f"{message}")}
        return await _settings_page(context, request, user, status_code=400, errors=errors)
    return _saved("interval")


@router.post("/settings/tokens")
async def create_token(
    context: Context, request: Request, user: PageUser, _csrf: CsrfForm, name: FormText = ""
) -> Response:
    """Create an API token and show it, this once."""
    try:
        token = await _run(
            accounts.create_token, sessions=context.sessions, user_id=user.user_id, name=name
        )
    except accounts.AccountError as exc:
        errors = {"token": _sentence(str(exc))}
        return await _settings_page(context, request, user, status_code=400, errors=errors)
    response = await _settings_page(context, request, user, status_code=201, new_token=token)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(
    context: Context, request: Request, user: PageUser, _csrf: CsrfForm, token_id: int
) -> Response:
    """Revoke one of the user's API tokens."""
    try:
        await _run(
            accounts.revoke_token,
            sessions=context.sessions,
            token_id=token_id,
            user_id=user.user_id,
        )
    except accounts.NotFoundError:
        errors = {"token": "That token does not exist or was revoked already."}
        return await _settings_page(context, request, user, status_code=404, errors=errors)
    return _saved("revoked")


@router.post("/settings/sessions/{session_pk}/revoke")
async def revoke_session(
    context: Context, request: Request, user: PageUser, _csrf: CsrfForm, session_pk: int
) -> Response:
    """Log out one of the user's other sessions."""
    try:
        await _run(
            accounts.revoke_session,
            sessions=context.sessions,
            user_id=user.user_id,
            session_pk=session_pk,
        )
    except accounts.NotFoundError:
        errors = {"session": "That session has ended already."}
        return await _settings_page(context, request, user, status_code=404, errors=errors)
    return _saved("session")
