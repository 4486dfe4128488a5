"""/api/info: what this pricewatch is (public, no authentication)."""

from __future__ import annotations

from fastapi import APIRouter

from pricewatch import __version__
from pricewatch.web.api.schemas import Info
from pricewatch.web.deps import Context
from pricewatch.worker.engines import uses_celery

router = APIRouter(tags=["system"])


@router.get("/info", response_model=Info, summary="Version and mode")
def info(context: Context) -> Info:
    """The version, the job engine (Huey embedded, Celery distributed) and the database kind."""
    celery = uses_celery(context.settings)
    database = "postgresql" if context.db.dialect.name == "postgresql" else "sqlite"
    return Info(
        version=__version__,
        mode="distributed" if celery else "embedded",
        database=database,
        engine="celery" if celery else "huey",
    )
