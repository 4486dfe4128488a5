"""What every request handler of the web process shares: settings, database sessions, the job
engine and the page templates. One `WebContext` lives on `app.state.context` for the app's life.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db.engine import (
    engine_from_settings,
    read_session_factory,
    session_factory,
)
from pricewatch.config import Settings

if TYPE_CHECKING:
    from pricewatch.worker.engines import AnyEngine

#: Jinja2 templates and static files (CSS, JS) of the pages, served by the app itself.
TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@dataclass
class WebContext:
    """The web process's resources; `close()` releases them at shutdown."""

    settings: Settings
    db: Engine
    sessions: sessionmaker[Session]
    #: Sessions for reads only (pages, GET endpoints): on SQLite they never wait for a writer.
    reads: sessionmaker[Session]
    templates: Jinja2Templates
    _engine: AnyEngine | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, settings: Settings) -> WebContext:
        """A context on `settings`' database (the job engine is created on first use)."""
        db = engine_from_settings(settings)
        templates = Jinja2Templates(directory=TEMPLATES_DIR)
        return cls(settings, db, session_factory(db), read_session_factory(db), templates)

    def job_engine(self) -> AnyEngine:
        """The job engine (Huey or Celery, as `PW_BROKER_URL` says); created once, lazily.

        Creating it never contacts the broker: a broker that is down shows when a job is
        submitted, and the job then stays pending until the scheduler dispatches it.
        """
        with self._lock:
            if self._engine is None:
                from pricewatch.worker.engines import engine_for

                self._engine = engine_for(self.settings)
            return self._engine

    def close(self) -> None:
        """Release the job engine and the database connections."""
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
        self.db.dispose()
