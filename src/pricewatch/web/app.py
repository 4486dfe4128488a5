"""The web process: the FastAPI app with the REST API (/api), the pages, and /health.

/health must stay quick while workers write: it reads the database through its own small engine
(`services.maintenance.HealthProbe`: no write lock on SQLite, short timeouts on PostgreSQL), in a
thread of its own, and answers 503 when the database has not answered within `HEALTH_TIMEOUT`.
The broker's health, the last worker heartbeat and the last scheduler tick are read from what the
scheduler recorded, so a health request never waits on the broker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from pricewatch import __version__
from pricewatch.config import Settings, load_settings
from pricewatch.domain.snapshot import utc_now
from pricewatch.services.maintenance import HEALTH_TIMEOUT, Check, HealthProbe, HealthStatus
from pricewatch.web import api, auth_pages, pages
from pricewatch.web.context import STATIC_DIR, WebContext
from pricewatch.web.errors import install_error_handlers
from pricewatch.web.security import install_security

#: Health reads in flight at once; a stuck one holds a slot, never the app's thread pool.
HEALTH_THREADS = 4


def create_app(settings: Settings) -> FastAPI:
    """The web application on `settings`' database."""
    probe: dict[str, HealthProbe] = {}
    limiter = anyio.CapacityLimiter(HEALTH_THREADS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        probe["db"] = HealthProbe(settings, timeout=HEALTH_TIMEOUT)
        app.state.context = WebContext.open(settings)
        try:
            yield
        finally:
            app.state.context.close()
            probe.pop("db").close()

    # No /docs or /redoc: their pages load scripts from a CDN, and pricewatch works offline.
    app = FastAPI(
        title="pricewatch", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan
    )

    @app.get("/health")
    async def health() -> JSONResponse:
        """Database (checked now), broker, worker and scheduler (as last recorded)."""
        status = await _read(probe["db"], limiter)
        return JSONResponse(status.to_json(), status_code=200 if status.ok else 503)

    install_error_handlers(app)
    install_security(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api.router, prefix="/api")
    app.include_router(auth_pages.router)
    app.include_router(pages.router)
    return app


async def _read(probe: HealthProbe, limiter: anyio.CapacityLimiter) -> HealthStatus:
    """The probe's reading, or a failed database check once HEALTH_TIMEOUT has passed."""
    with anyio.move_on_after(HEALTH_TIMEOUT):
        return await anyio.to_thread.run_sync(probe.read, abandon_on_cancel=True, limiter=limiter)
    late = Check(False, HEALTH_TIMEOUT * 1000, f"no answer within {HEALTH_TIMEOUT:g} s")
    return HealthStatus(late, utc_now())


def app_from_environment() -> FastAPI:
    """The app on the settings of the environment (for `uvicorn --factory`)."""
    return create_app(load_settings())
