"""A local spool of snapshots the database could not take: JSON lines, appended under a lock.

Writers hold an exclusive `flock` on `<spool>.lock` while they append, so lines from concurrent
processes never interleave. A replay takes `<spool>.replay.lock` (one replay at a time), reads the
lines, and afterwards rewrites the file without the lines it wrote to the database: under the writer
lock, keeping the lines it did not write and everything appended meanwhile, then an atomic rename.
The lock files are never renamed, so a writer waiting on the lock always appends to the live file.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pricewatch.domain.snapshot import ProductSnapshot, utc_now


class SpoolBusyError(RuntimeError):
    """Another process is replaying the spool."""


@dataclass(frozen=True)
class SpoolEntry:
    """A snapshot waiting for the database, with why it is waiting."""

    snapshot: ProductSnapshot
    reason: str
    spooled_at: datetime = field(default_factory=utc_now)

    def to_line(self) -> bytes:
        """One JSON line."""
        data = {
            "spooled_at": self.spooled_at.isoformat(),
            "reason": self.reason,
            "snapshot": self.snapshot.to_json_dict(),
        }
        return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode()

    @classmethod
    def from_line(cls, line: bytes) -> SpoolEntry:
        """Read a line back; ValueError when it is not a spool entry."""
        try:
            data: dict[str, Any] = json.loads(line)
            return cls(
                snapshot=ProductSnapshot.from_json_dict(data["snapshot"]),
                reason=str(data.get("reason", "")),
                spooled_at=datetime.fromisoformat(data["spooled_at"]),
            )
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise ValueError(f"not a spool entry: {exc}") from None


@dataclass
class PendingLine:
    """A line read by a replay; `entry` is None when the line cannot be read."""

    raw: bytes
    entry: SpoolEntry | None
    done: bool = False


@dataclass
class Replay:
    """The lines a replay works on; mark written ones `done` before the replay ends."""

    lines: list[PendingLine]

    @property
    def entries(self) -> list[PendingLine]:
        """The readable lines."""
        return [line for line in self.lines if line.entry is not None]


class Spool:
    """The spool file at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_path = path.with_name(path.name + ".lock")
        self._replay_lock_path = path.with_name(path.name + ".replay.lock")

    def append(self, entries: Sequence[SpoolEntry]) -> None:
        """Append entries durably, all in one write, under the writer lock."""
        if not entries:
            return
        payload = b"".join(entry.to_line() for entry in entries)
        with self._locked(self._lock_path), open(self.path, "ab") as out:
            # A crash may have left a partial last line: never glue a new line onto it.
            if out.tell() > 0 and not self._ends_with_newline():
                payload = b"\n" + payload
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())

    def count(self) -> int:
        """How many lines are waiting."""
        with self._locked(self._lock_path):
            return len(self._read_lines(self._read_bytes()))

    @contextmanager
    def replay(self) -> Iterator[Replay]:
        """Read the waiting lines; on exit, remove those marked done (even after an error)."""
        with self._locked(self._replay_lock_path, blocking=False):
            with self._locked(self._lock_path):
                prefix = self._read_bytes()
            replay = Replay([_parse(raw) for raw in self._read_lines(prefix)])
            try:
                yield replay
            finally:
                if any(line.done for line in replay.lines):
                    self._remove_done(prefix, replay)

    def _remove_done(self, prefix: bytes, replay: Replay) -> None:
        with self._locked(self._lock_path):
            current = self._read_bytes()
            if not current.startswith(prefix):
                raise RuntimeError(f"{self.path} changed during the replay; nothing removed")
            kept = b"".join(line.raw for line in replay.lines if not line.done)
            self._replace(kept + current[len(prefix) :])

    def _replace(self, content: bytes) -> None:
        """Atomically replace the spool (a crash leaves the old or the new file, never half)."""
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _read_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

    @staticmethod
    def _read_lines(content: bytes) -> list[bytes]:
        """Complete lines, each with its newline; a trailing partial line is included as is."""
        return [line for line in content.splitlines(keepends=True) if line.strip()]

    @contextmanager
    def _locked(self, lock_path: Path, *, blocking: bool = True) -> Iterator[None]:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a+b") as lock_file:
            flags = fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
            try:
                fcntl.flock(lock_file.fileno(), flags)
            except BlockingIOError:
                raise SpoolBusyError(f"{self.path} is being replayed by another process") from None
            try:
                yield
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


def _parse(raw: bytes) -> PendingLine:
    try:
        return PendingLine(raw, SpoolEntry.from_line(raw))
    except ValueError:
        return PendingLine(raw, None)
