"""Application preferences set in the web app, e.g. how often new products are checked."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from pricewatch.adapters.db import account_repository as repo
from pricewatch.adapters.db.tables import DEFAULT_CHECK_INTERVAL
from pricewatch.domain.snapshot import utc_now

__all__ = [
    "CHECK_INTERVAL_KEY",
    "MAX_CHECK_INTERVAL_HOURS",
    "MIN_CHECK_INTERVAL_HOURS",
    "PreferenceError",
    "default_check_interval",
    "set_default_check_interval",
]

CHECK_INTERVAL_KEY = "default_check_interval_seconds"
#: A quarter of an hour to a year: more often would hammer the shops, less is not tracking.
MIN_CHECK_INTERVAL_HOURS = 0.25
MAX_CHECK_INTERVAL_HOURS = 365 * 24.0


class PreferenceError(ValueError):
    """A preference value out of range; the message says the range."""


def default_check_interval(*, sessions: sessionmaker[Session]) -> int:
    """Seconds between two checks of a newly added product (24 h unless set otherwise)."""
    with sessions() as session:
        value = repo.get_preference(session=session, key=CHECK_INTERVAL_KEY)
    if value is None or not value.isdigit() or int(value) <= 0:
        return DEFAULT_CHECK_INTERVAL
    return int(value)


def set_default_check_interval(*, sessions: sessionmaker[Session], hours: float) -> int:
    """Set the default check interval of new products, in hours; the seconds stored."""
    if not MIN_CHECK_INTERVAL_HOURS <= hours <= MAX_CHECK_INTERVAL_HOURS:
        raise PreferenceError(
            f"the check interval is {MIN_CHECK_INTERVAL_HOURS:g} to "
            f"{MAX_CHECK_INTERVAL_HOURS:g} hours"
        )
    seconds = round(hours * 3600)
    with sessions() as session:
        repo.set_preference(
            session=session, key=CHECK_INTERVAL_KEY, value=str(seconds), now=utc_now()
        )
        session.commit()
    return seconds
