"""Security of the web app: headers, cookies over https, and who may call the API (bearer
tokens; the session cookie with its CSRF header) — checked on a small probe endpoint, so these
tests do not depend on what the API's own endpoints do.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.account_tables import api_tokens
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import accounts
from pricewatch.web.deps import ApiUser
from pricewatch.web.security import CONTENT_SECURITY_POLICY, SESSION_COOKIE, safe_next

from .conftest import Account, Clients, WebClient
from .test_auth import form_token

Sessions = sessionmaker[Session]
PROBE = "/api/_probe"


@pytest.fixture
def probe(app: FastAPI) -> FastAPI:
    """The app with an /api/_probe endpoint (GET and POST) answering who asks."""
    router = APIRouter()

    @router.api_route(PROBE, methods=["GET", "POST", "DELETE"])
    async def whoami(user: ApiUser) -> dict[str, object]:
        return {"username": user.username, "via": user.via, "csrf": user.csrf_token is not None}

    app.include_router(router)
    return app


def _last_used(sessions: Sessions) -> object:
    with sessions() as s:
        return s.execute(select(api_tokens.c.last_used_at)).scalar_one()


# --- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/health", "/api/_probe", "/static/app.css", "/nope"])
def test_every_response_carries_the_security_headers(
    probe: FastAPI, admin: Account, client: WebClient, path: str
) -> None:
    headers = client.get(path).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    assert "camera=()" in headers["permissions-policy"]
    assert "strict-transport-security" not in headers  # plain http


def test_https_adds_hsts_and_secure_cookies(admin: Account, clients: Clients) -> None:
    browser = clients.new(base_url="https://testserver")
    page = browser.get("/login")
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert "; secure" in page.headers["set-cookie"].lower()
    answer = browser.post(
        "/login",
        data={
            "username": admin.username,
            "password": admin.password,
            "csrf_token": form_token(page.text),
        },
    )
    session_cookie = next(
        v for v in answer.headers.get_list("set-cookie") if v.startswith(SESSION_COOKIE)
    )
    assert "; secure" in session_cookie.lower()
    assert "; httponly" in session_cookie.lower()
    assert browser.get("/settings").status_code == 200


def test_secure_cookies_always_applies_to_plain_http(admin: Account, clients: Clients) -> None:
    clients.context.settings.web.secure_cookies = "always"
    page = clients.new().get("/login")
    assert "; secure" in page.headers["set-cookie"].lower()
    assert "strict-transport-security" not in page.headers


# --- the API's authentication --------------------------------------------------------------------


def test_api_without_credentials_is_401_json_with_a_bearer_challenge(
    probe: FastAPI, admin: Account, client: WebClient
) -> None:
    answer = client.get(PROBE)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["status"] == 401
    assert "Authorization: Bearer" in answer.json()["error"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer pw_not-a-real-token", "Bearer ", "Basic YWRtaW46cGFzcw==", "pw_raw-token", "Bearer x"],
)
def test_api_refuses_bad_authorization_headers(
    probe: FastAPI, clients: Clients, token: str, authorization: str
) -> None:
    answer = clients.new(headers={"Authorization": authorization}).get(PROBE)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert set(answer.json()) == {"error", "status"}


def test_a_bearer_token_opens_the_api_until_revoked(
    probe: FastAPI, authed: WebClient, token: str, db_sessions: Sessions
) -> None:
    for method in ("GET", "POST", "DELETE"):  # no CSRF header needed with a token
        answer = authed.request(method, PROBE)
        assert answer.status_code == 200
        assert answer.json() == {"username": "admin", "via": "token", "csrf": False}
    (listed,) = accounts.list_tokens(sessions=db_sessions)
    accounts.revoke_token(sessions=db_sessions, token_id=listed.id)
    refused = authed.get(PROBE)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]


def test_token_use_is_recorded_at_most_once_a_minute(
    probe: FastAPI, authed: WebClient, db_sessions: Sessions
) -> None:
    assert _last_used(db_sessions) is None
    authed.get(PROBE)
    first = _last_used(db_sessions)
    assert first is not None
    authed.get(PROBE)
    assert _last_used(db_sessions) == first
    with db_sessions() as s:
        s.execute(update(api_tokens).values(last_used_at=utc_now() - timedelta(minutes=2)))
        s.commit()
    authed.get(PROBE)
    assert _last_used(db_sessions) > first  # type: ignore[operator]


def test_tokens_are_stored_as_sha256_only(token: str, db_sessions: Sessions) -> None:
    with db_sessions() as s:
        row = s.execute(select(api_tokens)).one()
    assert token.startswith("pw_")
    assert len(token) == 3 + 43
    assert row.token_hash == accounts.token_hash(token)
    assert token not in tuple(str(v) for v in row)
    assert token.startswith(row.prefix)


def test_a_session_cookie_opens_the_api_with_csrf_on_unsafe_methods(
    probe: FastAPI, logged_in: WebClient
) -> None:
    assert logged_in.get(PROBE).json() == {"username": "admin", "via": "session", "csrf": True}
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = logged_in.post(PROBE, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["status"] == 403
        assert "X-CSRF-Token" in refused.json()["error"]
    assert logged_in.delete(PROBE).status_code == 403
    ok = logged_in.post(PROBE, headers={"X-CSRF-Token": logged_in.csrf_token or ""})
    assert ok.status_code == 200


def test_an_ended_session_no_longer_opens_the_api(
    probe: FastAPI, logged_in: WebClient, db_sessions: Sessions
) -> None:
    logged_in.post("/logout", data={"csrf_token": logged_in.csrf_token})
    assert logged_in.get(PROBE).status_code == 401


# --- the `next` of the login page --------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/products/3?range=all", "/products/3?range=all"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("///evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("products", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_safe_next_keeps_only_local_paths(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
