"""`pricewatch users ...` and `pricewatch tokens ...`: what they create and print, and one clear
line (no traceback) when something is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from pricewatch.adapters.db.engine import create_engine_for, session_factory
from pricewatch.cli import app
from pricewatch.config import WebSettings
from pricewatch.services import accounts

Sessions = sessionmaker[Session]
TOKEN = re.compile(r"^pw_[A-Za-z0-9_-]{43}$")


@pytest.fixture
def backend() -> str:
    """SQLite: the commands are thin; the services run on both databases in the other tests."""
    return "sqlite"


@pytest.fixture
def cli_env(fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sessions]:
    """PW_* variables pointing the commands at a fresh database; sessions on it."""
    monkeypatch.setenv("PW_DB_URL", fresh_url)
    monkeypatch.setenv("PW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env
    engine = create_engine_for(fresh_url)
    yield session_factory(engine)
    engine.dispose()


def run(*args: str, stdin: str | None = None, code: int = 0) -> Result:
    """Run `pricewatch <args>`; check its exit code."""
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def test_create_admin_from_stdin_then_list(cli_env: Sessions) -> None:
    said = run(
        "users", "create-admin", "--username", "Root", "--password-stdin", stdin="s3cret-pw\n"
    )
    assert "Admin Root created" in said.stdout
    (user,) = accounts.list_users(sessions=cli_env)
    assert (user.username, user.is_admin) == ("Root", True)
    assert (
        accounts.authenticate(
            sessions=cli_env,
            limits=WebSettings(),
            username="root",
            password="s3cret-pw",
            address="cli",
        )
        == accounts.list_users(sessions=cli_env)[0]
    )
    listed = run("users", "list").stdout
    assert "Root" in listed
    assert "yes" in listed


def test_create_admin_asks_twice_and_refuses_a_second_admin(cli_env: Sessions) -> None:
    differ = run("users", "create-admin", stdin="first-pass\nsecond-pass\nfirst-pass\nfirst-pass\n")
    assert "Admin admin created" in differ.stdout
    assert "do not match" in differ.output.lower()
    again = run("users", "create-admin", "--password-stdin", stdin="another-pw\n", code=1)
    assert "an account exists already" in again.output
    forced = run(
        "users", "create-admin", "--username", "second", "--password-stdin", "--force",
        stdin="another-pw\n",
    )  # fmt: skip
    assert "Admin second created" in forced.stdout
    taken = run(
        "users", "create-admin", "--username", "SECOND", "--password-stdin", "--force",
        stdin="another-pw\n", code=1,
    )  # fmt: skip
    assert "error: the username 'SECOND' is taken" in taken.output
    assert len(accounts.list_users(sessions=cli_env)) == 2


def test_create_admin_refuses_a_short_password_or_an_empty_stdin(cli_env: Sessions) -> None:
    short = run("users", "create-admin", "--password-stdin", stdin="short\n", code=1)
    assert "at least 8 characters" in short.output
    run("users", "create-admin", "--password-stdin", stdin="", code=2)
    assert not accounts.has_users(sessions=cli_env)


def test_set_password_resets_it_and_ends_sessions(cli_env: Sessions) -> None:
    run("users", "create-admin", "--password-stdin", stdin="old-password\n")
    user = accounts.list_users(sessions=cli_env)[0]
    login = accounts.start_session(sessions=cli_env, user=user, hours=1)
    said = run("users", "set-password", "ADMIN", "--password-stdin", stdin="new-password\n")
    assert "Password of admin changed" in said.stdout
    assert accounts.resolve_session(sessions=cli_env, session_id=login.session_id, hours=1) is None
    run("users", "set-password", "ghost", "--password-stdin", stdin="new-password\n", code=1)


def test_tokens_create_list_revoke(cli_env: Sessions) -> None:
    run("users", "create-admin", "--password-stdin", stdin="password-1\n")
    created = run("tokens", "create", "--user", "admin", "--name", "backups")
    token = created.stdout.strip()
    assert TOKEN.match(token)
    assert "shown only once" in created.stderr
    user = accounts.verify_token(sessions=cli_env, token=token)
    assert user is not None
    assert user.username == "admin"

    listed = run("tokens", "list").stdout
    assert "backups" in listed
    assert token[:10] in listed
    assert token not in listed
    assert "active" in listed
    (info,) = accounts.list_tokens(sessions=cli_env)
    assert f"Token {info.id} revoked." in run("tokens", "revoke", str(info.id)).stdout
    assert accounts.verify_token(sessions=cli_env, token=token) is None
    assert "revoked" in run("tokens", "list", "--user", "ADMIN").stdout
    again = run("tokens", "revoke", str(info.id), code=1)
    assert f"no active token with id {info.id}" in again.output
    nobody = run("tokens", "create", "--user", "ghost", "--name", "x", code=1)
    assert "no user named 'ghost'" in nobody.output


def test_an_unreachable_database_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PW_DB_URL", "postgresql+psycopg://pw@127.0.0.1:1/nowhere")
    monkeypatch.setenv("PW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    for args in (("users", "list"), ("tokens", "list")):
        said = run(*args, code=1)
        assert "error: cannot use the database at" in said.output
        assert said.output.count("\n") <= 2
