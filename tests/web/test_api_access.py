"""Who may call the API (token, cookie + CSRF, nobody), /api/info, and the JSON errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pricewatch import __version__
from pricewatch.config import DbSettings, Settings
from pricewatch.web.app import create_app

from .conftest import WebClient
from .test_api_products import authed_client

#: Every authenticated endpoint, with a body where it needs one.
ENDPOINTS: list[tuple[str, str, object]] = [
    ("POST", "/api/products", {"urls": ["https://shop.example/p/1"]}),
    ("GET", "/api/products", None),
    ("GET", "/api/products/1", None),
    ("PATCH", "/api/products/1", {"enabled": False}),
    ("DELETE", "/api/products/1", None),
    ("GET", "/api/products/1/history", None),
    ("GET", "/api/products/1/history.csv", None),
    ("GET", "/api/products/1/logs", None),
    ("POST", "/api/products/1/check", None),
    ("GET", "/api/jobs", None),
    ("POST", "/api/jobs", {"kind": "scrape_all"}),
    ("GET", "/api/jobs/stats", None),
    ("POST", "/api/jobs/cancel-all", None),
    ("GET", "/api/jobs/1", None),
    ("POST", "/api/jobs/1/cancel", None),
    ("DELETE", "/api/jobs/1", None),
    ("POST", "/api/jobs/1/retry", None),
    ("GET", "/api/jobs/1/stream", None),
]
UNSAFE = [e for e in ENDPOINTS if e[0] != "GET"]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_needs_authentication(
    client: WebClient, method: str, path: str, body: object
) -> None:
    answer = client.request(method, path, json=body)
    assert answer.status_code == 401, answer.text
    assert answer.json()["status"] == 401
    assert answer.json()["error"]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_a_bad_token_is_401(client: WebClient, method: str, path: str, body: object) -> None:
    answer = client.request(method, path, json=body, headers={"Authorization": "Bearer pw_nope"})
    assert answer.status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), UNSAFE)
def test_a_session_cookie_without_the_csrf_header_is_403_on_unsafe_methods(
    logged_in: WebClient, method: str, path: str, body: object
) -> None:
    answer = logged_in.request(method, path, json=body)
    assert answer.status_code == 403, answer.text
    assert answer.json()["status"] == 403


def test_a_session_cookie_with_the_csrf_header_may_change_things(logged_in: WebClient) -> None:
    headers = {"X-CSRF-Token": logged_in.csrf_token or ""}
    answer = logged_in.post("/api/jobs", json={"kind": "scrape_all"}, headers=headers)
    assert answer.status_code == 202, answer.text
    assert logged_in.get("/api/jobs").json()["total"] == 1


def test_info_is_public_and_says_what_runs(client: WebClient, backend: str) -> None:
    answer = client.get("/api/info")
    assert answer.status_code == 200
    assert answer.json() == {
        "version": __version__,
        "mode": "embedded",
        "database": backend,
        "engine": "huey",
    }


def test_unknown_paths_and_methods_are_json_errors(authed: WebClient) -> None:
    missing = authed.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not Found", "status": 404, "detail": None}
    wrong = authed.put("/api/products")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "Method Not Allowed"
    assert wrong.headers["allow"]


def test_malformed_json_is_422(authed: WebClient) -> None:
    answer = authed.post(
        "/api/products", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("invalid request: body")


def test_an_unreachable_database_is_503(tmp_path: Path, token: str) -> None:
    down = Settings(
        data_dir=tmp_path, db=DbSettings(url="postgresql+psycopg://pw@127.0.0.1:1/nowhere")
    )
    with authed_client(create_app(down), token) as caller:
        answer = caller.get("/api/info")
        assert answer.status_code == 200
        listed = caller.get("/api/products")
    assert listed.status_code == 503
    assert listed.json() == {
        "error": "The database is unreachable right now; try again in a moment.",
        "status": 503,
        "detail": None,
    }
    assert listed.headers["retry-after"] == "5"
