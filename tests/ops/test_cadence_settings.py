"""`PW_SCHEDULER_*`: the tick, retention and maintenance cadences, read from the settings.

From the environment to every place that uses them: the tick's maintenance (on SQLite and
PostgreSQL), the scheduler loop, `pricewatch scheduler` (a real process) and Celery beat.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import job_repository as repo
from pricewatch.adapters.db.job_tables import jobs as jobs_table
from pricewatch.adapters.db.tables import scraping_logs
from pricewatch.config import SchedulerSettings, Settings, load_settings
from pricewatch.domain.job import EventLevel
from pricewatch.domain.snapshot import utc_now
from pricewatch.services import pipeline, scheduler
from pricewatch.services.scheduler import TickReport
from pricewatch.worker.celery_engine import make_app
from pricewatch.worker.scheduler import SchedulerLoop
from tests.db.conftest import make_snapshot
from tests.jobs.conftest import FakeEngine, wait_for

from .conftest import add_job, count

Sessions = sessionmaker[Session]
REPO = Path(__file__).resolve().parents[2]


def _cadence(**values: float) -> Settings:
    """Default settings but for the scheduler's `values`."""
    return Settings(scheduler=SchedulerSettings(**values))


# --- reading the settings ----------------------------------------------------------------------


def test_scheduler_settings_come_from_pw_scheduler_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the working directory
    monkeypatch.setenv("PW_SCHEDULER_TICK_SECONDS", "5")
    monkeypatch.setenv("PW_SCHEDULER_RETENTION_DAYS", "7")
    monkeypatch.setenv("PW_SCHEDULER_PRUNE_EVERY_SECONDS", "600")
    monkeypatch.setenv("PW_SCHEDULER_HEALTH_EVERY_SECONDS", "12.5")
    config = load_settings().scheduler
    assert (config.tick_seconds, config.retention_days) == (5.0, 7.0)
    assert (config.prune_every_seconds, config.health_every_seconds) == (600.0, 12.5)
    assert config.retention == timedelta(days=7)
    assert config.prune_every == timedelta(minutes=10)
    assert config.health_every == timedelta(seconds=12.5)


def test_scheduler_defaults_are_the_documented_ones(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("PW_SCHEDULER_"):
            monkeypatch.delenv(name)
    config = load_settings().scheduler
    assert (config.tick_seconds, config.retention, config.prune_every, config.health_every) == (
        30.0,
        timedelta(days=30),
        timedelta(hours=1),
        timedelta(seconds=30),
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PW_SCHEDULER_TICK_SECONDS", "0.5", "greater than or equal to 1"),
        ("PW_SCHEDULER_RETENTION_DAYS", "0", "greater than 0"),
        ("PW_SCHEDULER_PRUNE_EVERY_SECONDS", "-60", "greater than 0"),
        ("PW_SCHEDULER_HEALTH_EVERY_SECONDS", "often", "valid number"),
    ],
)
def test_an_invalid_cadence_is_refused_with_the_setting_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"scheduler.{variable.removeprefix('PW_SCHEDULER_').lower()}" in message
    assert expected in message


def _environment(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PW_")}
    env.update(PYTHONPATH=str(REPO), PW_DATA_DIR=str(data), PW_BROWSER_MODE="never", **extra)
    return env


def test_pricewatch_scheduler_stops_at_once_on_an_invalid_cadence(tmp_path: Path) -> None:
    env = _environment(tmp_path / "data", PW_SCHEDULER_RETENTION_DAYS="0")
    done = subprocess.run(
        [sys.executable, "-m", "pricewatch", "scheduler"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "invalid settings" in done.stderr
    assert "scheduler.retention_days" in done.stderr
    assert not (tmp_path / "data").exists()  # refused before touching anything


# --- retention and cadences, through the tick --------------------------------------------------


def _old_and_recent_rows(sessions: Sessions, now: datetime) -> tuple[int, int]:
    """Rows 10 days and 1 day old: scraping logs, job log lines, a finished job; (done, active)."""
    ten_days_ago, yesterday = now - timedelta(days=10), now - timedelta(days=1)
    with sessions() as s:
        snapshots = [make_snapshot("RET", at=ten_days_ago), make_snapshot("RET", at=yesterday)]
        pipeline.process_batch(snapshots, session=s)
        s.commit()
    done = add_job(sessions, url="https://shop.example/p/done", created_at=ten_days_ago)
    active = add_job(sessions, url="https://shop.example/p/active", created_at=ten_days_ago)
    with sessions() as s:
        for job_id in (done, active):
            repo.add_event(
                session=s, job_id=job_id, level=EventLevel.INFO, message="old", now=ten_days_ago
            )
        repo.add_event(
            session=s, job_id=active, level=EventLevel.INFO, message="recent", now=yesterday
        )
        s.execute(
            update(jobs_table)
            .where(jobs_table.c.id == done)
            .values(status="succeeded", finished_at=ten_days_ago)
        )
        s.commit()
    return done, active


def test_the_default_retention_keeps_ten_day_old_rows(
    sessions: Sessions, fake_engine: FakeEngine
) -> None:
    now = utc_now()
    done, active = _old_and_recent_rows(sessions, now)
    report = scheduler.tick(settings=_cadence(), engine=fake_engine, sessions=sessions, now=now)
    pruned = report.maintenance.pruned
    assert pruned is not None  # pruning ran, and found nothing old enough
    assert (pruned.scraping_logs, pruned.job_events, pruned.jobs) == (0, 0, 0)
    assert count(sessions, scraping_logs) == 2
    with sessions() as s:
        assert repo.get_job(session=s, job_id=done) is not None
        assert "old" in [e.message for e in repo.list_events(session=s, job_id=active)]


def test_a_seven_day_retention_prunes_ten_day_old_rows_and_keeps_recent_ones(
    sessions: Sessions, fake_engine: FakeEngine
) -> None:
    now = utc_now()
    done, active = _old_and_recent_rows(sessions, now)
    settings = _cadence(retention_days=7)
    report = scheduler.tick(settings=settings, engine=fake_engine, sessions=sessions, now=now)
    pruned = report.maintenance.pruned
    assert pruned is not None
    assert (pruned.scraping_logs, pruned.job_events, pruned.jobs) == (1, 2, 1)
    assert count(sessions, scraping_logs) == 1
    with sessions() as s:
        assert repo.get_job(session=s, job_id=done) is None
        messages = [e.message for e in repo.list_events(session=s, job_id=active)]
    assert "old" not in messages
    assert "recent" in messages


def test_prune_and_health_run_on_their_configured_cadences(
    sessions: Sessions, fake_engine: FakeEngine
) -> None:
    configured = _cadence(prune_every_seconds=600, health_every_seconds=10)
    t0 = utc_now()

    def tick_at(seconds: float, settings: Settings = configured) -> TickReport:
        at = t0 + timedelta(seconds=seconds)
        return scheduler.tick(settings=settings, engine=fake_engine, sessions=sessions, now=at)

    first = tick_at(0).maintenance
    assert (first.pruned is not None, first.database is not None) == (True, True)
    soon = tick_at(5).maintenance
    assert (soon.pruned, soon.database) == (None, None)
    health_again = tick_at(11).maintenance
    assert (health_again.pruned is None, health_again.database is not None) == (True, True)
    assert tick_at(599).maintenance.pruned is None
    # 601 s on: not yet due by the default hour, due by the configured ten minutes.
    assert tick_at(601, _cadence()).maintenance.pruned is None
    assert tick_at(601).maintenance.pruned is not None


# --- the tick's period: loop, command, Celery beat ---------------------------------------------


def test_the_scheduler_loop_ticks_at_the_configured_period(settings: Settings) -> None:
    settings = settings.model_copy(update={"scheduler": SchedulerSettings(tick_seconds=1)})
    ticked: list[float] = []
    loop = SchedulerLoop(
        settings, engine=FakeEngine(), on_tick=lambda _: ticked.append(time.monotonic())
    )
    assert loop.interval == 1.0
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        wait_for(lambda: len(ticked) >= 3, timeout=15)
    finally:
        loop.request_stop()
        thread.join(5)
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticked)]
    assert all(0.9 <= gap <= 2.5 for gap in gaps), gaps
    assert SchedulerLoop(settings, engine=FakeEngine(), interval=0.2).interval == 0.2


@pytest.mark.parametrize("backend", ["sqlite"])
def test_pricewatch_scheduler_ticks_every_pw_scheduler_tick_seconds(
    fresh_url: str, tmp_path: Path
) -> None:
    env = _environment(tmp_path / "data", PW_DB_URL=fresh_url, PW_SCHEDULER_TICK_SECONDS="1")
    log_path = tmp_path / "scheduler.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pricewatch", "scheduler"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        # Two ticks within seconds: the default period (30 s) would show only one.
        wait_for(lambda: log_path.read_text().count(" tick: ") >= 2, timeout=20)
        process.terminate()
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert "a tick every 1 s" in log_path.read_text()


def test_celery_beat_runs_the_tick_at_the_configured_period() -> None:
    settings = Settings(
        broker_url="redis://127.0.0.1:6379/12", scheduler=SchedulerSettings(tick_seconds=7)
    )
    app = make_app(settings)  # builds the configuration only: no broker contacted
    try:
        entry = app.conf.beat_schedule["pricewatch-scheduler-tick"]
        assert entry["schedule"] == 7.0
        assert entry["options"]["expires"] == 7.0  # a missed tick gives way to the next
    finally:
        app.close()
