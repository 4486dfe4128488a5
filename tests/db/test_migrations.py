"""Migrations up, down and up again; no drift between models and migrations; the db commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from pricewatch.adapters.db import migrate
from pricewatch.adapters.db.engine import create_engine_for
from pricewatch.cli.db import db_app

from .conftest import make_snapshot, settings_for

TABLES = {
    "products",
    "price_history",
    "product_images",
    "product_specs",
    "scraping_logs",
    "jobs",
    "job_events",
    "product_locks",
    "ops_state",
    "job_items",
    "users",
    "api_tokens",
    "web_sessions",
    "login_attempts",
    "app_preferences",
}


def _tables(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_without_drift(empty_url: str) -> None:
    config = migrate.alembic_config(url=empty_url)
    migrate.upgrade(config)
    assert _tables(empty_url) == TABLES
    migrate.downgrade(config, "base")
    assert _tables(empty_url) == set()
    migrate.upgrade(config)
    engine = create_engine_for(empty_url)
    try:
        with engine.connect() as conn:
            assert migrate.drift(conn) == []
            assert migrate.status(conn).up_to_date
    finally:
        engine.dispose()


def test_migrations_run_inside_a_given_connection(empty_url: str) -> None:
    engine = create_engine_for(empty_url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(migrate.alembic_config(connection=conn))
            assert migrate.status(conn).current == (migrate.head(),)
    finally:
        engine.dispose()


@pytest.fixture
def cli_env(empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """PW_* variables pointing the CLI at the test database; returns the URL."""
    monkeypatch.setenv("PW_DB_URL", empty_url)
    monkeypatch.setenv("PW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env
    return empty_url


def test_db_commands(cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(db_app, ["current"])
    assert result.exit_code == 0
    assert "none" in result.output
    result = runner.invoke(db_app, ["init"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(db_app, ["current"])
    assert f"{migrate.head()} (up to date)" in result.output
    assert runner.invoke(db_app, ["downgrade", "base"]).exit_code == 0
    assert _tables(cli_env) == set()
    assert runner.invoke(db_app, ["upgrade"]).exit_code == 0
    assert _tables(cli_env) == TABLES

    # Autogenerate against a copy of the scripts: it must find nothing to do.
    scripts = tmp_path / "migrations"
    shutil.copytree(Path(migrate.SCRIPT_LOCATION), scripts)
    monkeypatch.setattr(migrate, "SCRIPT_LOCATION", str(scripts))
    result = runner.invoke(db_app, ["revision", "-m", "no changes"])
    assert result.exit_code == 0, result.output
    (written,) = (scripts / "versions").glob("*_no_changes.py")
    assert written.name[:8].isdigit()
    upgrade_body = written.read_text().split("def upgrade()")[1].split("def downgrade()")[0]
    assert "op." not in upgrade_body
    assert "pass" in upgrade_body


def test_replay_spool_command(cli_env: str, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(db_app, ["init"]).exit_code == 0
    from pricewatch.adapters.db.spool import Spool, SpoolEntry

    settings = settings_for(cli_env, tmp_path / "data")
    Spool(settings.spool_path).append([SpoolEntry(snapshot=make_snapshot(), reason="down")])
    result = runner.invoke(db_app, ["replay-spool"])
    assert result.exit_code == 0, result.output
    assert "Replayed 1 snapshot(s) (1 new price row(s)); 0 left" in result.output


@pytest.mark.parametrize("command", [["current"], ["init"], ["replay-spool"]])
def test_unreachable_database_is_one_clear_line(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PW_DB_URL", "postgresql+psycopg://pw:secret@127.0.0.1:1/nothing")
    monkeypatch.setenv("PW_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(db_app, command)
    if command == ["replay-spool"]:
        assert result.exit_code == 0  # nothing spooled: nothing to do
        return
    assert result.exit_code == 1
    assert "error: cannot use the database at postgresql+psycopg://pw:***@127.0.0.1:1/nothing" in (
        result.output
    )
    assert "Traceback" not in result.output
    assert "secret" not in result.output


def test_unsupported_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW_DB_URL", "mysql://x@localhost/db")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(db_app, ["current"])
    assert result.exit_code == 2
    assert "unsupported database 'mysql'" in result.output
