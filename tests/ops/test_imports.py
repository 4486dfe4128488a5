"""What each process imports: `--help` and a worker load only what they use (memory, start-up).

Every process `serve` starts is `python -m pricewatch <command>`; each runs in a fresh
interpreter here, as it does in production.
"""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

#: Never needed to show help, nor by a worker of either engine until it renders a page.
WEB_AND_BROWSER = ("fastapi", "starlette", "uvicorn", "jinja2", "playwright.async_api")


def _loaded(code: str, *names: str) -> list[str]:
    """Which of `names` are in sys.modules after running `code` in a fresh interpreter."""
    report = f"print(json.dumps([n for n in {list(names)!r} if n in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "argv", [["--help"], ["worker", "--help"], ["jobs", "--help"], ["scheduler", "--help"]]
)
def test_help_loads_neither_the_database_nor_an_engine_nor_the_web_stack(argv: list[str]) -> None:
    code = (
        "import sys\n"
        f"sys.argv = ['pricewatch', *{argv!r}]\n"
        "from pricewatch.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )
    heavy = ("sqlalchemy", "alembic", "celery", "huey", "httpx", "lxml", *WEB_AND_BROWSER)
    assert _loaded(code, *heavy) == []


def test_a_huey_worker_loads_its_engine_only() -> None:
    code = "import pricewatch.cli, pricewatch.worker.huey_engine"
    assert _loaded(code, "celery", "kombu", *WEB_AND_BROWSER) == []


def test_a_celery_worker_loads_its_engine_only() -> None:
    code = "import pricewatch.cli, pricewatch.worker.celery_engine"
    assert _loaded(code, "huey", *WEB_AND_BROWSER) == []


def test_the_scheduler_commands_default_tick_is_left_to_the_settings() -> None:
    # No constant of its own to drift from the settings' default (see test_cadence_settings).
    serve = importlib.import_module("pricewatch.cli.serve")  # `pricewatch.cli.serve` is a command
    assert inspect.signature(serve.scheduler).parameters["interval"].default is None


#: Never in a worker process of either engine: the command line, Alembic (the database check
#: reads the revision without it), httpx's command line.
NOT_IN_A_WORKER = ("typer", "rich", "pygments", "alembic", "httpx._main")


def test_a_huey_worker_process_loads_neither_the_cli_nor_alembic_nor_redis_nor_psycopg() -> None:
    code = (
        "from pricewatch.worker import main\n"
        "from pricewatch.worker.engines import import_job_code\n"
        "import_job_code()\n"
        "import pricewatch.worker.huey_engine\n"
    )
    unwanted = (*NOT_IN_A_WORKER, "redis", "psycopg", "click", "celery", *WEB_AND_BROWSER)
    assert _loaded(code, *unwanted) == []


def test_a_celery_worker_main_process_loads_no_job_code() -> None:
    code = "from pricewatch.worker import main\nimport pricewatch.worker.celery_engine\n"
    unwanted = (*NOT_IN_A_WORKER, "pricewatch.services.job_run", "lxml", "psycopg", "huey")
    assert _loaded(code, *unwanted) == []


def test_pricewatch_worker_becomes_the_lean_worker_process() -> None:
    from pricewatch.worker.main import MODULE, worker_argv, worker_environment

    argv = worker_argv(workers=3, processes=True)
    assert argv[0] == sys.executable
    assert argv[argv.index("-m") + 1] == MODULE
    assert argv[-3:] == ["--workers", "3", "--processes"]
    assert worker_environment({"MALLOC_ARENA_MAX": "8"})["MALLOC_ARENA_MAX"] == "8"
    assert worker_environment({})["MALLOC_ARENA_MAX"] == "1"


def test_the_shipped_head_read_without_alembic_is_alembics_head() -> None:
    from pricewatch.adapters.db import migrate

    assert migrate.shipped_head() == migrate.head()


def test_prepare_checks_the_schema_without_alembic(tmp_path: Path) -> None:
    from pricewatch.adapters.db import migrate
    from pricewatch.config import DbSettings, Settings
    from pricewatch.services import database

    url = f"sqlite:///{tmp_path / 'configured.db'}"
    with pytest.raises(database.DatabaseNotReadyError, match="run `pricewatch db upgrade`"):
        database.prepare(Settings(data_dir=tmp_path, db=DbSettings(url=url)))
    migrate.upgrade(migrate.alembic_config(url=url))
    code = (
        "from pricewatch.config import DbSettings, Settings\n"
        "from pricewatch.services import database\n"
        f"database.prepare(Settings(data_dir={str(tmp_path)!r}, db=DbSettings(url={url!r})))\n"
    )
    assert _loaded(code, "alembic") == []


def test_a_worker_process_goes_without_the_extras_no_job_uses(tmp_path: Path) -> None:
    # `python -m pricewatch.worker` on Celery, up to the point where it would consume: what the
    # broker client and the job code import, they import without YAML and OpenTelemetry.
    code = (
        "import os\n"
        "os.environ.update(PW_BROKER_URL='redis://127.0.0.1:6379/15',"
        f" PW_DB_URL='sqlite:///{tmp_path / 'pw.db'}', PW_WORKER_NICE='0')\n"
        "import pricewatch.worker.main as worker\n"
        "def consume(engine, **options):\n"
        "    import kombu.serialization, kombu.transport.redis\n"
        "    from pricewatch.worker.engines import import_job_code\n"
        "    import_job_code()\n"
        "    assert kombu.serialization.registry._decoders.keys() >= {'application/json'}\n"
        "    return 0\n"
        "worker.run = consume\n"
        "assert worker.main(['--database-checked']) == 0\n"
    )
    assert _loaded(code, "yaml", "opentelemetry", "kombu.transport.redis") == [
        "kombu.transport.redis"
    ]
