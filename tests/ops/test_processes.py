"""The long-running processes for real: the scheduler loop and process, `serve` and its children.

`serve` runs as a subprocess on a free port with its data in tmp_path, through
`python -m pricewatch` (the real CLI), as do its children.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import ops_repository as ops_repo
from pricewatch.config import BrowserSettings, FetchSettings, Settings
from pricewatch.demo import DemoShop
from pricewatch.domain.job import JobStatus, is_terminal
from pricewatch.services import jobs, maintenance
from pricewatch.worker.huey_engine import HueyEngine
from pricewatch.worker.scheduler import SchedulerLoop
from tests.jobs.conftest import FakeEngine, catalog_snapshot, seed_catalog, wait_for

REPO = Path(__file__).resolve().parents[2]
Sessions = sessionmaker[Session]


@pytest.fixture
def backend() -> str:
    """Processes on the embedded SQLite setup (the tick runs on PostgreSQL elsewhere)."""
    return "sqlite"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PW_")}
    env.update(
        PYTHONPATH=str(REPO),
        PW_DATA_DIR=str(data),
        PW_FETCH_ALLOW_HOSTS="127.0.0.1",
        PW_BROWSER_MODE="never",
        **extra,
    )
    return env


def _spawn(args: list[str], *, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    with (cwd / f"{args[0]}.log").open("wb") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "pricewatch", *args],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _children(pid: int) -> dict[str, int]:
    """The child processes of `pid`, by command (web, worker, scheduler).

    `python -m pricewatch <command>`; a worker replaces itself with `python -m pricewatch.worker`
    (same process) once it has checked its settings.
    """
    found = {}
    raw = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in map(int, raw):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if len(argv) > 3:  # a zombie (exited, not yet reaped) has no command line
            module = argv[argv.index(b"-m") + 1]
            found["worker" if module == b"pricewatch.worker" else argv[3].decode()] = child
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _stop(process: subprocess.Popen[bytes], timeout: float = 20) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout)


# --- the scheduler ----------------------------------------------------------------------------


def test_scheduler_loop_ticks_until_asked_to_stop(settings: Settings, fresh_url: str) -> None:
    loop = SchedulerLoop(settings, engine=FakeEngine(), interval=0.05)
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        wait_for(lambda: loop.ticks >= 3, timeout=10)
    finally:
        loop.request_stop()
        thread.join(5)
    assert not thread.is_alive()


def test_scheduler_process_stops_on_sigterm_within_seconds(
    fresh_url: str, tmp_path: Path, real_sessions: Sessions
) -> None:
    env = _env(tmp_path / "data", PW_DB_URL=fresh_url)
    process = _spawn(["scheduler", "--interval", "0.5"], env=env, cwd=tmp_path)
    try:

        def ticked() -> bool:
            with real_sessions() as s:
                return any(
                    r.name == maintenance.STATE_TICK for r in ops_repo.list_states(session=s)
                )

        wait_for(ticked, timeout=30)
        asked = time.monotonic()
        assert _stop(process, timeout=10) == 0
        assert time.monotonic() - asked < 5
    finally:
        if process.poll() is None:
            process.kill()
    assert "Scheduler stopped." in (tmp_path / "scheduler.log").read_text()


@pytest.mark.parametrize("command", ["scheduler", "serve"])
def test_an_unreachable_database_is_one_clear_line(command: str, tmp_path: Path) -> None:
    env = _env(tmp_path / "data", PW_DB_URL="postgresql+psycopg://pw@127.0.0.1:1/nowhere")
    process = _spawn([command], env=env, cwd=tmp_path)
    assert process.wait(30) == 1
    said = (tmp_path / f"{command}.log").read_text()
    assert "error: cannot use the database at postgresql+psycopg://pw@127.0.0.1:1/nowhere" in said
    assert "Traceback" not in said


def test_an_unusable_queue_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    env = _env(tmp_path / "data", PW_BROKER_URL=f"sqlite:///{tmp_path}/file/queue.db")
    process = _spawn(["serve", "--port", str(_free_port())], env=env, cwd=tmp_path)
    assert process.wait(30) == 1
    said = (tmp_path / "serve.log").read_text()
    assert "error: cannot reach the task queue" in said
    assert "Traceback" not in said


# --- serve ------------------------------------------------------------------------------------


class Served:
    """A running `serve`: its process, port, settings and data directory."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, data: Path) -> None:
        self.process = process
        self.base = f"http://127.0.0.1:{port}"
        self.settings = Settings(
            data_dir=data,
            fetch=FetchSettings(allow_hosts=["127.0.0.1"]),
            browser=BrowserSettings(mode="never"),
        )

    def health(self, client: httpx.Client) -> httpx.Response:
        return client.get(f"{self.base}/health", timeout=5)

    def wait_healthy(self, timeout: float = 60) -> None:
        def answers() -> bool:
            try:
                with httpx.Client() as client:
                    return self.health(client).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers, timeout=timeout, interval=0.2)


def _nice(pid: int) -> int:
    """The niceness of a process (field 19 of /proc/PID/stat, after the command name)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`pricewatch serve` on a free port, data in tmp_path; stopped (and checked) at the end."""
    port, data = _free_port(), tmp_path / "data"
    process = _spawn(["serve", "--port", str(port)], env=_env(data), cwd=tmp_path)
    try:
        yield Served(process, port, data)
    finally:
        if process.poll() is None:
            children = _children(process.pid)
            _stop(process)
            for pid in children.values():
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)


def test_serve_answers_health_restarts_a_killed_worker_and_stops_cleanly(
    served: Served, tmp_path: Path
) -> None:
    served.wait_healthy()
    children = _children(served.process.pid)
    assert set(children) == {"web", "worker", "scheduler"}
    # The worker yields the CPU to the web process (PW_WORKER_NICE, default 10).
    wait_for(lambda: _nice(children["worker"]) == _nice(children["web"]) + 10, timeout=30)
    os.kill(children["worker"], signal.SIGKILL)
    wait_for(
        lambda: (
            _children(served.process.pid).get("worker", children["worker"]) != children["worker"]
        ),
        timeout=30,
    )
    restarted = _children(served.process.pid)
    assert restarted["web"] == children["web"]
    with httpx.Client() as client:
        assert served.health(client).status_code == 200
    asked = time.monotonic()
    assert _stop(served.process, timeout=15) == 0
    assert time.monotonic() - asked < 15
    assert not any(_alive(pid) for pid in restarted.values())
    said = (tmp_path / "serve.log").read_text()
    assert "worker exited (code -9); restarting in 1.0 s" in said
    assert "Traceback" not in said


@pytest.mark.slow
def test_health_answers_throughout_a_scrape_all_of_200_demo_products(
    served: Served, demo_shop: DemoShop
) -> None:
    served.wait_healthy()
    with jobs.open_sessions(served.settings) as sessions:
        seed_catalog(
            sessions,
            [
                catalog_snapshot(demo_shop, p.url_path, reference=p.sku)
                for p in demo_shop.catalog.products[:200]
            ],
        )
        engine = HueyEngine(served.settings)
        try:
            created = jobs.enqueue_scrape_all(sessions=sessions, engine=engine)
        finally:
            engine.close()
        assert created.dispatched
        latencies, codes = [], []
        with httpx.Client() as client:
            while not is_terminal(jobs.get(sessions=sessions, job_id=created.job_id).status):
                started = time.monotonic()
                codes.append(served.health(client).status_code)
                latencies.append(time.monotonic() - started)
                time.sleep(0.1)
                assert len(codes) < 1200, "the scrape_all did not finish within about 2 minutes"
        job = jobs.get(sessions=sessions, job_id=created.job_id)
    assert (job.progress.completed, job.progress.total) == (200, 200)
    assert job.status in (JobStatus.SUCCEEDED, JobStatus.PARTIAL)
    assert len(codes) >= 5
    assert set(codes) == {200}
    p95 = sorted(latencies)[int(len(latencies) * 0.95)]
    assert p95 < 0.5, f"p95 of /health was {p95:.3f} s"


def test_serve_exits_non_zero_when_the_web_process_cannot_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _spawn(["serve", "--port", str(port)], env=_env(tmp_path / "data"), cwd=tmp_path)
        try:
            assert process.wait(60) == 1
        finally:
            if process.poll() is None:
                process.kill()
    said = (tmp_path / "serve.log").read_text()
    assert "web could not start (exit code 3" in said
    assert "Traceback" not in said


def test_demo_serve_runs_the_app_on_the_demo_shop_and_stops_cleanly(tmp_path: Path) -> None:
    """The quick start: `pricewatch demo --serve` tracks demo products and serves the app."""
    port, shop_port, data = _free_port(), _free_port(), tmp_path / "data"
    env = _env(data, PW_WEB_PORT=str(port))
    env.pop("PW_FETCH_ALLOW_HOSTS")  # the demo allows its own shop
    process = _spawn(
        ["demo", "--serve", "--count", "3", "--shop-port", str(shop_port)], env=env, cwd=tmp_path
    )
    try:
        served = Served(process, port, data)
        served.wait_healthy()
        with httpx.Client() as client:
            setup = client.get(f"{served.base}/", follow_redirects=False, timeout=5)
        assert setup.status_code == 303
        assert setup.headers["location"] == "/setup"

        def checked() -> bool:
            with jobs.open_sessions(served.settings) as sessions:
                done = jobs.list_jobs(sessions=sessions, limit=10)
            return len(done) == 3 and all(j.status is JobStatus.SUCCEEDED for j in done)

        wait_for(checked, timeout=60, interval=0.5)
        assert _stop(process, timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    said = (tmp_path / "demo.log").read_text()
    assert "3 of its products are being tracked" in said
    assert "Traceback" not in said
