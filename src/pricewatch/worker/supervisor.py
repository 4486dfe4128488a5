"""`pricewatch serve`'s supervisor: web, worker and scheduler as separate OS processes.

Each child is `sys.executable -m pricewatch <command>`, so a crash, a leak or a blocking call
in one never stalls the others (the web process keeps answering while a worker scrapes).
A child that exits on its own is started again after a back-off (1 s, doubling, at most
`max_restart_delay`, reset once it has run for `STABLE_SECONDS`). A child that exits with an
error code during its very first `startup_seconds` cannot start at all (bad settings, port
taken, database unreachable: it said why on stderr), so the supervisor stops the others and
exits non-zero. (The children import the whole application, which takes a few seconds.)
SIGINT and SIGTERM stop every child with SIGTERM (each shuts down gracefully), wait up to
`stop_timeout` seconds, then kill what is left.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pricewatch.worker.signals import stopping_on_signals

_log = logging.getLogger("pricewatch.supervisor")

#: A child that ran this long counts as healthy: its next crash restarts it after the first delay.
STABLE_SECONDS = 60.0


@dataclass(frozen=True)
class ChildSpec:
    """A child process: its name (for messages) and its command line."""

    name: str
    argv: Sequence[str]


@dataclass
class _Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    starts: int = 0
    #: Crashes since the child last ran for STABLE_SECONDS.
    crashes: int = 0
    restart_at: float | None = None
    history: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid


class ChildCannotStartError(RuntimeError):
    """A child exited during its first start (its own message says why)."""


class Supervisor:
    """Starts the children, restarts crashed ones, and stops them all on a signal."""

    def __init__(
        self,
        children: Sequence[ChildSpec],
        *,
        restart_delay: float = 1.0,
        max_restart_delay: float = 20.0,
        startup_seconds: float = 30.0,
        stop_timeout: float = 20.0,
        poll_seconds: float = 0.2,
        env: Mapping[str, str] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.children = [_Child(spec) for spec in children]
        self.restart_delay = restart_delay
        self.max_restart_delay = max_restart_delay
        self.startup_seconds = startup_seconds
        self.stop_timeout = stop_timeout
        self.poll_seconds = poll_seconds
        self.env = dict(env) if env is not None else None
        self.say = say or _log.info
        self._stop = threading.Event()

    # --- running -------------------------------------------------------------------------------

    def run(self) -> int:
        """Supervise until SIGINT/SIGTERM or `request_stop()`; 0, or 1 when a child cannot start."""
        with stopping_on_signals(self.request_stop):
            try:
                for child in self.children:
                    self._start(child)
                while not self._stop.wait(self.poll_seconds):
                    self._watch(time.monotonic())
            except ChildCannotStartError as exc:
                self.say(f"{exc}; stopping")
                self.stop_children()
                return 1
            self.stop_children()
        return 0

    def request_stop(self) -> None:
        """Ask `run` to stop the children and return (thread-safe)."""
        self._stop.set()

    def pids(self) -> dict[str, int | None]:
        """The running children's process ids, by name."""
        return {child.spec.name: child.pid for child in self.children}

    def _start(self, child: _Child) -> None:
        try:
            child.process = subprocess.Popen(list(child.spec.argv), env=self.env)
        except OSError as exc:
            raise ChildCannotStartError(f"{child.spec.name} cannot start: {exc}") from exc
        child.started_at = time.monotonic()
        child.starts += 1
        child.restart_at = None
        self.say(f"{child.spec.name} started (pid {child.process.pid})")

    def _watch(self, now: float) -> None:
        """Notice exited children, schedule their restart, and start the ones whose time came."""
        for child in self.children:
            if child.process is not None and (code := child.process.poll()) is not None:
                self._exited(child, code, now)
            if child.restart_at is not None and now >= child.restart_at:
                self._start(child)

    def _exited(self, child: _Child, code: int, now: float) -> None:
        ran = now - child.started_at
        child.process = None
        child.history.append(code)
        # Killed by a signal (negative code) is a crash; an error code this early means the
        # child refused to start (it printed why).
        if child.starts == 1 and ran < self.startup_seconds and code > 0:
            raise ChildCannotStartError(
                f"{child.spec.name} could not start (exit code {code} after {ran:.1f} s)"
            )
        child.crashes = 1 if ran >= STABLE_SECONDS else child.crashes + 1
        delay = min(self.max_restart_delay, self.restart_delay * 2 ** (child.crashes - 1))
        child.restart_at = now + delay
        self.say(f"{child.spec.name} exited (code {code}); restarting in {delay:.1f} s")

    # --- stopping ------------------------------------------------------------------------------

    def stop_children(self) -> None:
        """SIGTERM every running child, wait up to `stop_timeout`, then SIGKILL the rest."""
        running = [c for c in self.children if c.process is not None]
        for child in running:
            self._send(child, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.spec.name} did not stop within {self.stop_timeout:g} s: killed")
                self._send(child, signal.SIGKILL)
                child.process.wait()
            child.process = None
        for child in self.children:
            child.restart_at = None

    def _send(self, child: _Child, signum: signal.Signals) -> None:
        if child.process is not None:
            child.process.send_signal(signum)  # a no-op once the child has been reaped
