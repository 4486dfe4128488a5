"""The web app: /health (database now, the rest as recorded).

The pages (and that they load nothing from elsewhere) are tested in tests/web/test_pages.py.

Requests go through httpx's ASGI transport inside the app's lifespan (Starlette's TestClient
warns that it is deprecated with httpx, and warnings are errors here).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.config import DbSettings, Settings
from pricewatch.services import scheduler
from pricewatch.web.app import create_app
from tests.jobs.conftest import FakeEngine

Sessions = sessionmaker[Session]


def _get(app: FastAPI, *paths: str) -> list[httpx.Response]:
    """GET each path in turn, within one lifespan of the app."""

    async def run() -> list[httpx.Response]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://pw") as client:
                return [await client.get(path) for path in paths]

    return asyncio.run(run())


def test_health_answers_200_with_what_the_scheduler_recorded(
    settings: Settings, real_sessions: Sessions
) -> None:
    (before,) = _get(create_app(settings), "/health")
    assert before.status_code == 200
    assert before.json()["database"]["ok"] is True
    assert before.json()["scheduler"]["last_tick_age_seconds"] is None
    scheduler.tick(
        settings=settings, engine=FakeEngine(), sessions=real_sessions, broker=lambda: None
    )
    body = _get(create_app(settings), "/health")[0].json()
    assert body["status"] == "ok"
    assert body["broker"]["ok"] is True
    assert 0 <= body["scheduler"]["last_tick_age_seconds"] < 10
    assert body["worker"] == {"last_heartbeat_age_seconds": None}


def test_health_is_503_quickly_when_the_database_is_unreachable(tmp_path: Path) -> None:
    down = Settings(
        data_dir=tmp_path, db=DbSettings(url="postgresql+psycopg://pw@127.0.0.1:1/nowhere")
    )
    started = time.monotonic()
    (answer,) = _get(create_app(down), "/health")
    took = time.monotonic() - started
    assert answer.status_code == 503
    assert answer.json()["database"]["ok"] is False
    assert answer.json()["database"]["error"]
    assert took < 3
