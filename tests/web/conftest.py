"""Web fixtures: the app on a real database (SQLite and PostgreSQL), clients, accounts.

The app opens its own engine and commits for real, so the rolled-back transactions of tests/db
do not fit. Migrating a new database for each test is slow on PostgreSQL; instead each backend's
shared database (the `engine` fixture of tests/db, migrated once per test session) is emptied
before each test: deleting the rows of every table takes a few milliseconds.

Requests go through httpx's ASGI transport inside the app's lifespan, on an event loop running
in a thread of its own (anyio's blocking portal), so tests stay plain functions:
`client.get("/api/info")` returns an `httpx.Response`. Async work (an SSE stream) can run on
the same loop with `client.portal.call(...)` and the async client `client.http`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.engine import session_factory
from pricewatch.adapters.db.tables import Base
from pricewatch.config import Settings
from pricewatch.services import accounts
from pricewatch.web.app import create_app
from pricewatch.web.context import WebContext
from pricewatch.web.security import SESSION_COOKIE
from tests.db import conftest as db
from tests.jobs.conftest import job_settings

# The database fixtures of tests/db (same databases, same skip rules for PostgreSQL).
backend = db.backend
empty_url = db.empty_url
engine = db.engine
fresh_url = db.fresh_url
postgres_admin = db.postgres_admin
shared_engines = db.shared_engines
shared_urls = db.shared_urls

BASE_URL = "http://testserver"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "correct horse battery staple"
#: argon2id, 1 pass over 1 MiB: quick, and still the same code path as in production.
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class WebClient:
    """A synchronous face on an `httpx.AsyncClient` talking to the app over ASGI.

    Cookies persist between requests, as in a browser; redirects are not followed unless asked
    (`follow_redirects=True`). `csrf_token` is the session's token once logged in.
    """

    def __init__(self, portal: BlockingPortal, http: httpx.AsyncClient) -> None:
        self.portal = portal
        self.http = http
        self.csrf_token: str | None = None

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request and read the whole response."""
        response: httpx.Response = self.portal.call(
            partial(self.http.request, method, url, **kwargs)
        )
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET `url`."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST to `url` (json=..., data=... for a form)."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        """PUT `url`."""
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        """PATCH `url`."""
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        """DELETE `url`."""
        return self.request("DELETE", url, **kwargs)

    @property
    def cookies(self) -> httpx.Cookies:
        """The cookies the client holds."""
        return self.http.cookies

    @property
    def headers(self) -> httpx.Headers:
        """The headers sent with every request (changeable)."""
        return self.http.headers


class Clients:
    """Makes clients of one running app (one lifespan, one event loop); closes them at the end."""

    def __init__(self, app: FastAPI, portal: BlockingPortal, stack: ExitStack) -> None:
        self.app = app
        self.portal = portal
        self._stack = stack

    @property
    def context(self) -> WebContext:
        """The running app's context (settings, database sessions, job engine)."""
        context: WebContext = self.app.state.context
        return context

    def new(
        self,
        headers: dict[str, str] | None = None,
        *,
        address: str = "127.0.0.1",
        base_url: str = BASE_URL,
    ) -> WebClient:
        """A new client (its own cookies) at `address`, sending `headers` with every request;
        a base URL starting with https:// makes the requests arrive over https.
        """
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        http = httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers)
        self._stack.enter_context(self.portal.wrap_async_context_manager(http))
        return WebClient(self.portal, http)


@dataclass(frozen=True)
class Account:
    """An account created for a test, with its password."""

    user_id: int
    username: str
    password: str


def wipe(engine: Engine) -> None:
    """Delete every row of every table (children first)."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with small parameters: the real hasher costs most of a second per login on a
    busy test machine. (`accounts.DEFAULT_HASHER` keeps the production parameters.)
    """
    monkeypatch.setattr(accounts, "password_hasher", QUICK_HASHER)


@pytest.fixture
def web_settings(
    engine: Engine, backend: str, shared_urls: dict[str, str], tmp_path: Path
) -> Settings:
    """Settings on the backend's migrated database, emptied for this test; data under tmp_path.

    Fetching may reach 127.0.0.1 (the demo shop); the browser is never used.
    """
    wipe(engine)
    return job_settings(shared_urls[backend], tmp_path / "data")


@pytest.fixture
def db_sessions(engine: Engine, web_settings: Settings) -> sessionmaker[Session]:
    """Sessions on the test's (emptied) database that commit for real, as the app does."""
    return session_factory(engine)


@pytest.fixture
def app(web_settings: Settings) -> FastAPI:
    """The web app on the test's database."""
    return create_app(web_settings)


@pytest.fixture
def clients(app: FastAPI) -> Iterator[Clients]:
    """The app started (its lifespan entered) on an event loop of its own; a client factory."""
    with start_blocking_portal() as portal, ExitStack() as stack:
        stack.enter_context(portal.wrap_async_context_manager(app.router.lifespan_context(app)))
        yield Clients(app, portal, stack)


@pytest.fixture
def client(clients: Clients) -> WebClient:
    """An anonymous client."""
    return clients.new()


@pytest.fixture
def admin(db_sessions: sessionmaker[Session]) -> Account:
    """The first account, an admin, created through the accounts service."""
    user = accounts.create_admin(
        sessions=db_sessions, username=ADMIN_USERNAME, password=ADMIN_PASSWORD
    )
    return Account(user.id, user.username, ADMIN_PASSWORD)


@pytest.fixture
def token(admin: Account, db_sessions: sessionmaker[Session]) -> str:
    """An API token of the admin."""
    return accounts.create_token(sessions=db_sessions, user_id=admin.user_id, name="tests").token


@pytest.fixture
def authed(clients: Clients, token: str) -> WebClient:
    """A client sending the admin's API token (`Authorization: Bearer ...`)."""
    return clients.new(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def logged_in(clients: Clients, admin: Account, db_sessions: sessionmaker[Session]) -> WebClient:
    """A client logged in as the admin through the login form; `.csrf_token` is its session's
    token (pages post it as the `csrf_token` field, scripts send it as `X-CSRF-Token`).
    """
    browser = clients.new()
    login_page = browser.get("/login")
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.text)
    assert form_token, "the login page has no csrf_token field"
    answer = browser.post(
        "/login",
        data={
            "username": admin.username,
            "password": admin.password,
            "csrf_token": form_token.group(1),
        },
    )
    assert answer.status_code == 303, answer.text
    session = accounts.resolve_session(
        sessions=db_sessions,
        session_id=browser.cookies[SESSION_COOKIE],
        hours=clients.context.settings.web.session_hours,
    )
    assert session is not None
    browser.csrf_token = session.csrf_token
    return browser
