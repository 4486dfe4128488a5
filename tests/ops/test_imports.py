"""What each process imports: `--help` and a worker load only what they use (memory, start-up).

Every process `serve` starts is `python -m pricewatch <command>`; each runs in a fresh
interpreter here, as it does in production.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from pricewatch.services import scheduler

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


@pytest.mark.parametrize("argv", [["--help"], ["worker", "--help"], ["jobs", "--help"]])
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


def test_serve_default_tick_is_the_scheduler_tick() -> None:
    serve = importlib.import_module("pricewatch.cli.serve")  # `pricewatch.cli.serve` is a command
    assert serve.TICK_SECONDS == scheduler.TICK_SECONDS
