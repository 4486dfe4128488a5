"""The operations table: what the scheduler, maintenance and health checks last did, by name.

One small row per name, updated in place: `scheduler.tick` (the last tick), `maintenance.prune`
(the cadence of pruning, claimed atomically so two schedulers never both prune),
`health.database`, `health.broker` (the last checks, read by the health endpoint) and
`worker:<host:pid>` (a worker's last sign of life).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from pricewatch.adapters.db.tables import Base, table
from pricewatch.adapters.db.types import JsonDocument, UtcDateTime


class OpsState(Base):
    """The latest state of one operational concern."""

    __tablename__ = "ops_state"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: Whether the last check passed; NULL for rows that only record a time.
    ok: Mapped[bool | None] = mapped_column(Boolean)
    #: What the last run or check found (counts, latency, the error in one line).
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)


ops_state = table(OpsState)

__all__ = ["OpsState", "ops_state"]
