"""Which job engine `PW_BROKER_URL` selects: Huey on SQLite (embedded), Celery on Redis/AMQP."""

from __future__ import annotations

from urllib.parse import urlsplit

from pricewatch.config import Settings
from pricewatch.worker.huey_engine import BrokerConfigError, HueyEngine, broker_url

#: Broker URL schemes that select the distributed engine (Celery).
CELERY_SCHEMES = frozenset({"redis", "rediss", "amqp", "amqps", "pyamqp"})


def uses_celery(settings: Settings) -> bool:
    """True when `PW_BROKER_URL` names a Redis or RabbitMQ broker."""
    url = broker_url(settings)
    return url is not None and urlsplit(url).scheme.lower() in CELERY_SCHEMES


def engine_for(settings: Settings) -> HueyEngine:
    """The engine `settings` select; close it when done.

    Only the embedded engine exists so far: a Redis or AMQP broker URL is refused with a
    message saying so, rather than silently falling back to SQLite.
    """
    if uses_celery(settings):
        raise BrokerConfigError(
            f"PW_BROKER_URL={broker_url(settings)!r} selects the Celery engine, which this "
            "version does not have yet: unset PW_BROKER_URL to use the embedded queue"
        )
    return HueyEngine(settings)
