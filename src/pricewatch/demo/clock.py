"""A settable clock for tests and demos that need prices to move on command."""

from __future__ import annotations

import threading

#: 2023-11-14T22:13:20Z, an arbitrary but fixed starting point.
DEFAULT_START = 1_700_000_000.0


class ManualClock:
    """A callable clock (seconds since the epoch) that only moves when told to."""

    def __init__(self, *, start: float = DEFAULT_START) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by `seconds` and return the new time."""
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, at: float) -> None:
        """Jump to `at` (seconds since the epoch)."""
        with self._lock:
            self._now = float(at)
