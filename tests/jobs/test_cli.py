"""The job commands: what they record and say, and one clear line when something is down."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from pricewatch.cli.jobs import jobs_app
from pricewatch.cli.worker import enqueue, schedule
from pricewatch.domain.job import JobStatus
from pricewatch.services import jobs

app = typer.Typer()
app.command()(enqueue)
app.command()(schedule)
app.add_typer(jobs_app, name="jobs")


@pytest.fixture
def backend() -> str:
    """SQLite: the commands are thin; the services run on both databases elsewhere."""
    return "sqlite"


@pytest.fixture
def cli_env(fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PW_* variables pointing the commands at the test database; the data directory."""
    data = tmp_path / "data"
    monkeypatch.setenv("PW_DB_URL", fresh_url)
    monkeypatch.setenv("PW_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)  # no stray .env
    return data


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_enqueue_list_show_logs_cancel_retry(
    cli_env: Path, real_sessions: sessionmaker[Session]
) -> None:
    said = _run("enqueue", "https://shop.example/p/1", "https://shop.example/p/2")
    assert "Job 1 (check https://shop.example/p/1) recorded and queued" in said
    assert (cli_env / "queue.db").is_file()
    assert "check the catalog" in _run("enqueue", "--all", "--category", "phones")
    listed = _run("jobs", "list")
    assert "3 job(s)" in listed
    assert "include_categories=phones" in listed
    assert "scrape_product" in _run("jobs", "show", "1")
    assert "created by manual" in _run("jobs", "logs", "1")
    assert "cancelled; it will not run" in _run("jobs", "cancel", "1")
    assert "Job 2 cancelled" in _run("jobs", "cancel-all")
    assert "No active job." in _run("jobs", "cancel-all")
    assert "cancelled" in _run("jobs", "logs", "--follow", "1")
    assert "retry of job 1" in _run("jobs", "retry", "1")
    assert jobs.get(sessions=real_sessions, job_id=4).retry_of == 1
    assert "every 12 h" in _run("schedule", "https://shop.example/p/3", "--interval", "12")


def test_errors_are_one_line(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["jobs", "retry", "99"])
    assert result.exit_code == 1
    assert "error: no job 99" in result.output
    result = CliRunner().invoke(app, ["enqueue"])
    assert result.exit_code == 2
    assert "give product URLs, or --all" in result.output


def test_queue_down_at_enqueue_keeps_the_job_pending(
    cli_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    real_sessions: sessionmaker[Session],
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("PW_DATA_DIR", str(blocker / "data"))  # the queue file cannot be made
    result = CliRunner().invoke(app, ["enqueue", "https://shop.example/p/1"])
    assert result.exit_code == 0, result.output
    assert "job 1 (check https://shop.example/p/1) is recorded but the task queue is" in (
        " ".join(result.output.split())
    )
    job = jobs.get(sessions=real_sessions, job_id=1)
    assert (job.status, job.dispatched_at) == (JobStatus.PENDING, None)
    assert "stays pending" in jobs.events(sessions=real_sessions, job_id=1)[-1].message


def test_database_down_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW_DB_URL", "postgresql+psycopg://pw:secret@127.0.0.1:1/nothing")
    monkeypatch.setenv("PW_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for command in (["enqueue", "https://shop.example/p/1"], ["jobs", "list"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 1
        assert "error: cannot use the database at postgresql+psycopg://pw:***@127.0.0.1:1" in (
            result.output
        )
        assert "Traceback" not in result.output
        assert "secret" not in result.output
