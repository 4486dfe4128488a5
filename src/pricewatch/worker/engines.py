"""Which job engine `PW_BROKER_URL` selects: Huey on SQLite (embedded), Celery on Redis/AMQP."""

from __future__ import annotations

from urllib.parse import urlsplit

from pricewatch.config import Settings
from pricewatch.worker.celery_engine import BrokerUnavailableError, CeleryEngine
from pricewatch.worker.huey_engine import BrokerConfigError, HueyEngine, broker_url

__all__ = [
    "CELERY_SCHEMES",
    "AnyEngine",
    "BrokerConfigError",
    "BrokerUnavailableError",
    "engine_for",
    "uses_celery",
]

#: Broker URL schemes that select the distributed engine (Celery).
CELERY_SCHEMES = frozenset({"redis", "rediss", "amqp", "amqps", "pyamqp"})

#: Either engine: both implement `services.jobs.JobEngine` and have `close()` and `worker`.
AnyEngine = HueyEngine | CeleryEngine


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
        return CeleryEngine(settings)
    return HueyEngine(settings)
