"""Accounts through the pages: first-start setup, login, rate limits, logout, sessions, settings."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.account_tables import api_tokens, users, web_sessions
from pricewatch.adapters.db.tables import DEFAULT_CHECK_INTERVAL
from pricewatch.config import WebSettings
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import accounts, preferences
from pricewatch.web.security import SESSION_COOKIE

from .conftest import ADMIN_PASSWORD, Account, Clients, WebClient

Sessions = sessionmaker[Session]
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(page: str) -> str:
    """The CSRF token of the first form on a page."""
    match = FORM_TOKEN.search(page)
    assert match, "the page has no csrf_token field"
    return match.group(1)


def log_in(
    client: WebClient, username: str, password: str, next: str = "/", page: str = "/login"
) -> tuple[int, str, str]:
    """Fill in the login form as a browser would: status, Location, page text."""
    token = form_token(client.get(page).text)
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "next": next, "csrf_token": token},
    )
    return answer.status_code, answer.headers.get("location", ""), answer.text


def stored_hash(sessions: Sessions, username: str) -> str:
    with sessions() as s:
        value: str = s.execute(
            select(users.c.password_hash).where(users.c.username == username)
        ).scalar_one()
        return value


# --- first start -------------------------------------------------------------------------------


def test_a_fresh_install_sends_every_page_to_setup(client: WebClient) -> None:
    for path in ("/settings", "/login"):
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/setup"


def test_setup_creates_the_admin_logs_it_in_and_then_closes(
    client: WebClient, clients: Clients, db_sessions: Sessions
) -> None:
    page = client.get("/setup")
    assert page.status_code == 200
    assert "Create the administrator account" in page.text
    token = form_token(page.text)
    form = {"username": "Alice", "password": "long enough pass", "csrf_token": token}

    differ = client.post("/setup", data={**form, "password_again": "something else"})
    assert differ.status_code == 400
    assert "The two passwords differ." in differ.text
    assert not accounts.has_users(sessions=db_sessions)

    token = form_token(differ.text)
    done = client.post(
        "/setup", data={**form, "csrf_token": token, "password_again": "long enough pass"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/"
    assert SESSION_COOKIE in client.cookies
    settings = client.get("/settings")
    assert settings.status_code == 200
    assert "Alice" in settings.text
    assert "(administrator)" in settings.text
    (user,) = accounts.list_users(sessions=db_sessions)
    assert (user.username, user.is_admin) == ("Alice", True)

    # Afterwards the set-up is closed, for everyone.
    stranger = clients.new()
    assert stranger.get("/setup").headers["location"] == "/login"
    again = stranger.post("/setup", data={**form, "password_again": "long enough pass"})
    assert (again.status_code, again.headers["location"]) == (303, "/login")
    assert len(accounts.list_users(sessions=db_sessions)) == 1


def test_setup_refuses_a_form_without_its_token_and_a_bad_username(
    client: WebClient, db_sessions: Sessions
) -> None:
    form = {"username": "bob", "password": "long enough", "password_again": "long enough"}
    forged = client.post("/setup", data={**form, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert "The form expired" in forged.text
    bad = client.post(
        "/setup",
        data={**form, "username": "<script>", "csrf_token": form_token(forged.text)},
    )
    assert bad.status_code == 400
    assert "A username is 1 to 64 letters" in bad.text
    assert "&lt;script&gt;" in bad.text
    assert not accounts.has_users(sessions=db_sessions)


def test_passwords_are_stored_as_argon2id_hashes(admin: Account, db_sessions: Sessions) -> None:
    stored = stored_hash(db_sessions, admin.username)
    assert stored.startswith("$argon2id$")
    assert admin.password not in stored
    production = accounts.DEFAULT_HASHER
    assert production.type is Type.ID
    assert (production.memory_cost, production.time_cost) == (65536, 3)


def test_usernames_are_unique_whatever_their_case(admin: Account, db_sessions: Sessions) -> None:
    with pytest.raises(accounts.UsernameTakenError):
        accounts.create_user(sessions=db_sessions, username="ADMIN", password="another one")
    with pytest.raises(accounts.AdminExistsError):
        accounts.create_admin(sessions=db_sessions, username="other", password="another one")


# --- login -------------------------------------------------------------------------------------


def test_login_sets_a_hardened_cookie_and_follows_next(admin: Account, client: WebClient) -> None:
    status, location, _ = log_in(client, "ADMIN", admin.password, next="/jobs?status=running")
    assert (status, location) == (303, "/jobs?status=running")
    assert client.get("/settings").status_code == 200


def test_login_cookie_flags(admin: Account, client: WebClient) -> None:
    token = form_token(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": "admin", "password": admin.password, "csrf_token": token},
    )
    cookie = next(v for v in answer.headers.get_list("set-cookie") if v.startswith(SESSION_COOKIE))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "samesite", "expires"} <= flags
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in flags  # plain http, secure_cookies=auto


def test_a_session_planted_before_login_is_worthless_after_it(
    admin: Account, clients: Clients, db_sessions: Sessions
) -> None:
    # An attacker's own session id, planted in the victim's browser before the victim logs in.
    attacker = accounts.start_session(
        sessions=db_sessions,
        user=accounts.authenticate(
            sessions=db_sessions,
            limits=WebSettings(),
            username=admin.username,
            password=admin.password,
            address="10.9.9.9",
        ),
        hours=1,
    )
    victim = clients.new()
    page = victim.get("/login")
    victim.cookies.set(SESSION_COOKIE, attacker.session_id)
    answer = victim.post(
        "/login",
        data={
            "username": admin.username,
            "password": admin.password,
            "csrf_token": form_token(page.text),
        },
    )
    assert answer.status_code == 303
    assert answer.cookies[SESSION_COOKIE] != attacker.session_id
    assert (
        accounts.resolve_session(sessions=db_sessions, session_id=attacker.session_id, hours=1)
        is None
    )


def test_wrong_password_and_unknown_user_get_the_same_answer(
    admin: Account, client: WebClient
) -> None:
    wrong = log_in(client, admin.username, "not the password")
    unknown = log_in(client, "nobody", admin.password)
    for status, location, text in (wrong, unknown):
        assert (status, location) == (401, "")
        assert "Wrong username or password." in text
    assert SESSION_COOKIE not in client.cookies


def test_login_refuses_a_form_without_its_token(admin: Account, client: WebClient) -> None:
    client.get("/login")
    answer = client.post(
        "/login",
        data={"username": admin.username, "password": admin.password, "csrf_token": "forged"},
    )
    assert answer.status_code == 403
    assert SESSION_COOKIE not in client.cookies


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x", "/login?a=1"],
)
def test_login_never_redirects_off_site(admin: Account, client: WebClient, target: str) -> None:
    status, location, _ = log_in(client, admin.username, admin.password, next=target)
    assert (status, location) == (303, "/")


def test_a_page_without_login_redirects_to_login_with_next(
    admin: Account, client: WebClient
) -> None:
    answer = client.get("/settings?tab=tokens")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=" + quote("/settings?tab=tokens", safe="")
    login_page = client.get(answer.headers["location"])
    assert 'name="next" value="/settings?tab=tokens"' in login_page.text


# --- rate limits -------------------------------------------------------------------------------


def test_login_is_rate_limited_per_username_across_addresses(
    admin: Account, clients: Clients
) -> None:
    limit = clients.context.settings.web.login_max_failures
    for n in range(limit):
        status, _, _ = log_in(clients.new(address=f"10.0.0.{n + 1}"), admin.username, "wrong!!!")
        assert status == 401
    blocked = clients.new(address="10.0.1.1")
    token = form_token(blocked.get("/login").text)
    answer = blocked.post(
        "/login",
        data={"username": admin.username, "password": admin.password, "csrf_token": token},
    )
    assert answer.status_code == 429
    wait = int(answer.headers["retry-after"])
    window = clients.context.settings.web.login_window_seconds
    assert 0 < wait <= window
    assert f"Too many failed login attempts; try again in {wait} s." in answer.text
    assert SESSION_COOKIE not in blocked.cookies
    # Another user, from an unblocked address, is not affected.
    status, _, _ = log_in(clients.new(address="10.0.2.1"), "someone-else", "wrong!!!")
    assert status == 401


def test_login_is_rate_limited_per_address_across_usernames(
    admin: Account, clients: Clients
) -> None:
    limit = clients.context.settings.web.login_max_failures
    attacker = clients.new(address="192.0.2.7")
    for n in range(limit):
        assert log_in(attacker, f"guess{n}", "wrong!!!")[0] == 401
    assert log_in(attacker, admin.username, admin.password)[0] == 429
    # The admin, from elsewhere, logs in.
    assert log_in(clients.new(address="192.0.2.8"), admin.username, admin.password)[0] == 303


def test_rate_limit_ends_with_its_window_and_a_success_resets_it(
    admin: Account, db_sessions: Sessions
) -> None:
    limits = WebSettings(login_max_failures=2, login_window_seconds=60)
    t0 = utc_now()

    def attempt(password: str, seconds: float, address: str = "198.51.100.1") -> None:
        accounts.authenticate(
            sessions=db_sessions,
            limits=limits,
            username=admin.username,
            password=password,
            address=address,
            now=t0 + timedelta(seconds=seconds),
        )

    with pytest.raises(accounts.InvalidCredentialsError):
        attempt("wrong", 0)
    attempt(admin.password, 1)  # a success: earlier failures no longer count
    for second in (2, 3):
        with pytest.raises(accounts.InvalidCredentialsError):
            attempt("wrong", second)
    with pytest.raises(accounts.LoginThrottledError) as throttled:
        attempt(admin.password, 10)
    assert throttled.value.retry_after == 52  # the older failure (t=2) leaves the window at 62
    attempt(admin.password, 62, address="198.51.100.2")


def test_login_rehashes_a_password_hashed_with_old_parameters(
    admin: Account, client: WebClient, db_sessions: Sessions
) -> None:
    weak = PasswordHasher(time_cost=2, memory_cost=512, parallelism=1).hash(admin.password)
    with db_sessions() as s:
        s.execute(update(users).where(users.c.id == admin.user_id).values(password_hash=weak))
        s.commit()
    assert log_in(client, admin.username, admin.password)[0] == 303
    stored = stored_hash(db_sessions, admin.username)
    assert stored != weak
    assert stored.startswith("$argon2id$")
    assert not accounts.password_hasher.check_needs_rehash(stored)


# --- sessions ----------------------------------------------------------------------------------


def test_logout_needs_the_csrf_token_and_ends_the_session(
    logged_in: WebClient, db_sessions: Sessions
) -> None:
    refused = logged_in.post("/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert logged_in.get("/settings").status_code == 200
    cookie = logged_in.cookies[SESSION_COOKIE]
    out = logged_in.post("/logout", data={"csrf_token": logged_in.csrf_token})
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert SESSION_COOKIE not in logged_in.cookies
    assert accounts.resolve_session(sessions=db_sessions, session_id=cookie, hours=1) is None
    logged_in.cookies.set(SESSION_COOKIE, cookie)  # replaying the old cookie does not help
    assert logged_in.get("/settings").headers["location"] == "/login?next=%2Fsettings"


def test_an_expired_session_leads_back_to_login(
    logged_in: WebClient, db_sessions: Sessions
) -> None:
    with db_sessions() as s:
        s.execute(update(web_sessions).values(expires_at=utc_now() - timedelta(seconds=1)))
        s.commit()
    answer = logged_in.get("/settings")
    assert (answer.status_code, answer.headers["location"]) == (303, "/login?next=%2Fsettings")
    with db_sessions() as s:
        assert s.execute(select(web_sessions.c.id)).first() is None  # and it is gone


def test_sessions_slide_forward_when_used(admin: Account, db_sessions: Sessions) -> None:
    user = accounts.list_users(sessions=db_sessions)[0]
    t0 = utc_now()
    login = accounts.start_session(sessions=db_sessions, user=user, hours=2, now=t0)
    soon = accounts.resolve_session(
        sessions=db_sessions, session_id=login.session_id, hours=2, now=t0 + timedelta(seconds=5)
    )
    assert soon is not None
    assert not soon.touched
    assert soon.expires_at == login.expires_at
    later = t0 + timedelta(hours=1, minutes=30)
    moved = accounts.resolve_session(
        sessions=db_sessions, session_id=login.session_id, hours=2, now=later
    )
    assert moved is not None
    assert moved.touched
    assert moved.expires_at == later + timedelta(hours=2)
    assert (
        accounts.resolve_session(
            sessions=db_sessions,
            session_id=login.session_id,
            hours=2,
            now=later + timedelta(hours=2, seconds=1),
        )
        is None
    )


def test_a_used_session_gets_its_cookie_renewed(
    logged_in: WebClient, db_sessions: Sessions
) -> None:
    with db_sessions() as s:
        s.execute(update(web_sessions).values(last_seen_at=utc_now() - timedelta(minutes=5)))
        s.commit()
    answer = logged_in.get("/settings")
    assert answer.status_code == 200
    renewed = [v for v in answer.headers.get_list("set-cookie") if v.startswith(SESSION_COOKIE)]
    assert len(renewed) == 1
    assert "HttpOnly" in renewed[0]
    assert logged_in.get("/settings").headers.get_list("set-cookie") == []


# --- settings ----------------------------------------------------------------------------------


def test_settings_forms_refuse_a_missing_or_wrong_csrf_token(logged_in: WebClient) -> None:
    for data in ({"name": "x"}, {"name": "x", "csrf_token": "forged"}):
        answer = logged_in.post("/settings/tokens", data=data)
        assert answer.status_code == 403
    ok = logged_in.post("/settings/tokens", data={"name": "x", "csrf_token": logged_in.csrf_token})
    assert ok.status_code == 201


def test_a_token_created_in_settings_is_shown_once_and_can_be_revoked(
    logged_in: WebClient, clients: Clients, db_sessions: Sessions
) -> None:
    created = logged_in.post(
        "/settings/tokens", data={"name": "backup script", "csrf_token": logged_in.csrf_token}
    )
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    token = re.search(r'id="new-token">(pw_[A-Za-z0-9_-]+)<', created.text)
    assert token is not None
    with db_sessions() as s:
        stored = s.execute(select(api_tokens.c.token_hash, api_tokens.c.id)).one()
    assert stored.token_hash == accounts.token_hash(token.group(1))
    listing = logged_in.get("/settings").text
    assert "backup script" in listing
    assert token.group(1) not in listing

    revoke = logged_in.post(
        f"/settings/tokens/{stored.id}/revoke", data={"csrf_token": logged_in.csrf_token}
    )
    assert (revoke.status_code, revoke.headers["location"]) == (303, "/settings?done=revoked")
    assert "Token revoked" in logged_in.get("/settings?done=revoked").text
    assert accounts.verify_token(sessions=db_sessions, token=token.group(1)) is None
    again = logged_in.post(
        f"/settings/tokens/{stored.id}/revoke", data={"csrf_token": logged_in.csrf_token}
    )
    assert again.status_code == 404


def test_change_password_needs_the_current_one_and_ends_other_sessions(
    admin: Account, logged_in: WebClient, clients: Clients, db_sessions: Sessions
) -> None:
    other = clients.new()
    assert log_in(other, admin.username, admin.password)[0] == 303
    form = {"csrf_token": logged_in.csrf_token, "new_password": "a new passphrase"}
    wrong = logged_in.post(
        "/settings/password",
        data={**form, "current_password": "nope", "new_password_again": "a new passphrase"},
    )
    assert wrong.status_code == 400
    assert "The current password is wrong." in wrong.text
    done = logged_in.post(
        "/settings/password",
        data={**form, "current_password": ADMIN_PASSWORD, "new_password_again": "a new passphrase"},
    )
    assert (done.status_code, done.headers["location"]) == (303, "/settings?done=password")
    assert logged_in.get("/settings").status_code == 200  # this session stays
    assert other.get("/settings").status_code == 303  # the other one ended
    assert log_in(clients.new(), admin.username, "a new passphrase")[0] == 303


def test_default_check_interval_is_24_hours_until_set_in_settings(
    logged_in: WebClient, db_sessions: Sessions
) -> None:
    assert preferences.default_check_interval(sessions=db_sessions) == DEFAULT_CHECK_INTERVAL
    assert 'name="hours" value="24"' in logged_in.get("/settings").text
    for bad in ("0", "abc", "100000", "nan"):
        answer = logged_in.post(
            "/settings/check-interval", data={"hours": bad, "csrf_token": logged_in.csrf_token}
        )
        assert answer.status_code == 400, bad
    saved = logged_in.post(
        "/settings/check-interval", data={"hours": "6.5", "csrf_token": logged_in.csrf_token}
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/settings?done=interval")
    assert preferences.default_check_interval(sessions=db_sessions) == 6.5 * 3600
    assert 'name="hours" value="6.5"' in logged_in.get("/settings").text


def test_settings_lists_sessions_and_logs_out_another_one(
    admin: Account, logged_in: WebClient, clients: Clients
) -> None:
    other = clients.new()
    other.headers["user-agent"] = "OtherBrowser/1.0"
    assert log_in(other, admin.username, admin.password)[0] == 303
    page = logged_in.get("/settings").text
    assert "OtherBrowser/1.0" in page
    assert "this browser" in page
    ids = re.findall(r'action="/settings/sessions/(\d+)/revoke"', page)
    assert len(ids) == 1
    answer = logged_in.post(
        f"/settings/sessions/{ids[0]}/revoke", data={"csrf_token": logged_in.csrf_token}
    )
    assert answer.status_code == 303
    assert other.get("/settings").status_code == 303
