"""Which job engine `PW_BROKER_URL` selects: Huey on SQLite (embedded), Celery on Redis/AMQP.

Each engine's module is imported only when that engine is chosen: a Huey worker never loads
Celery, a Celery worker never loads Huey, and `pricewatch --help` loads neither. What both need
(the broker URL, its errors, a worker's id) lives here.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

from pricewatch.config import Settings

if TYPE_CHECKING:
    from pricewatch.worker.celery_engine import BrokerUnavailableError, CeleryEngine
    from pricewatch.worker.huey_engine import HueyEngine

    #: Either engine: both implement `services.jobs.JobEngine` and have `close()` and `worker`.
    AnyEngine: TypeAlias = "HueyEngine | CeleryEngine"

__all__ = [
    "CELERY_SCHEMES",
    "AnyEngine",
    "BrokerConfigError",
    "BrokerUnavailableError",
    "broker_url",
    "engine_for",
    "import_job_code",
    "queue_path",
    "uses_celery",
    "without_imports",
    "worker_id",
]

#: Broker URL schemes that select the distributed engine (Celery).
CELERY_SCHEMES = frozenset({"redis", "rediss", "amqp", "amqps", "pyamqp"})
#: The embedded queue's file in the data directory, unless `PW_BROKER_URL` names one.
QUEUE_FILE = "queue.db"


class BrokerConfigError(ValueError):
    """`PW_BROKER_URL` names a broker the chosen engine cannot use."""


def broker_url(settings: Settings) -> str | None:
    """`PW_BROKER_URL`, when set."""
    return settings.broker_url or None


def queue_path(settings: Settings) -> Path:
    """The SQLite file of the queue: from `PW_BROKER_URL`, else `queue.db` in the data dir."""
    url = broker_url(settings)
    if url is None:
        return settings.data_dir / QUEUE_FILE
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("", "file"):
        return Path(url.removeprefix("file://")).expanduser()
    if scheme == "sqlite":
        path = url.split("://", 1)[1].removeprefix("/")
        if not path or path == ":memory:":
            raise BrokerConfigError(f"the queue needs a file: {url!r} names none")
        return Path(path).expanduser()
    raise BrokerConfigError(
        f"PW_BROKER_URL={url!r} is not a SQLite queue: redis:// and amqp:// brokers need the "
        "Celery engine"
    )


def worker_id() -> str:
    """Who runs a job: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def uses_celery(settings: Settings) -> bool:
    """True when `PW_BROKER_URL` names a Redis or RabbitMQ broker."""
    url = broker_url(settings)
    return url is not None and urlsplit(url).scheme.lower() in CELERY_SCHEMES


def engine_for(settings: Settings) -> AnyEngine:
    """The engine `settings` select; close it when done.

    Creating an engine never contacts the broker: a broker that is down fails `submit` with
    `BrokerUnavailableError` (its message names the broker), and the job stays pending.
    """
    if uses_celery(settings):
        from pricewatch.worker.celery_engine import CeleryEngine

        return CeleryEngine(settings)
    from pricewatch.worker.huey_engine import HueyEngine

    return HueyEngine(settings)


@contextmanager
def without_imports(*names: str) -> Iterator[None]:
    """Importing `names` fails inside the block (unless imported already), and works after it.

    For libraries that import optional extras when they are installed, which a worker never
    uses (Huey's Redis back-end, httpx's command line: see `import_job_code`): a `None` entry
    in `sys.modules` makes their import raise ImportError, which those libraries handle by
    going without.
    """
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def import_job_code() -> None:
    """Import the code jobs run (fetch, parse, save), without what a worker never uses.

    httpx imports its command line (`httpx._main`: click, Rich and Pygments, about 6 MB)
    whenever click is installed.
    """
    with without_imports("httpx._main"):
        importlib.import_module("pricewatch.services.job_run")


def __getattr__(name: str) -> Any:
    """`AnyEngine` and `BrokerUnavailableError`, imported (with both engines) on first use."""
    if name == "BrokerUnavailableError":
        from pricewatch.worker.celery_engine import BrokerUnavailableError

        return BrokerUnavailableError
    if name == "AnyEngine":
        from pricewatch.worker.celery_engine import CeleryEngine
        from pricewatch.worker.huey_engine import HueyEngine

        return HueyEngine | CeleryEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
