"""Stopping a long-running loop (the scheduler, `serve`'s supervisor) on SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def stopping_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Inside the block, SIGINT and SIGTERM call `stop`; the previous handlers come back after.

    Only the main thread can install signal handlers: elsewhere (a loop run in a thread, as
    tests do) the block changes nothing and the loop is stopped by calling `stop` directly.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop()

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
