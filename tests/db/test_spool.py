"""The local spool: atomic appends under a lock, replays that remove only what was written."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from pricewatch.adapters.db.spool import Spool, SpoolBusyError, SpoolEntry

from .conftest import T0, make_snapshot, minutes


def _entries(n: int, prefix: str = "S") -> list[SpoolEntry]:
    return [
        SpoolEntry(snapshot=make_snapshot(f"{prefix}{i}", at=T0 + minutes(i)), reason="down")
        for i in range(n)
    ]


def test_entries_round_trip(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.jsonl")
    entries = _entries(3)
    spool.append(entries)
    with spool.replay() as replay:
        got = [line.entry for line in replay.entries]
    assert [e.snapshot for e in got if e] == [e.snapshot for e in entries]
    assert all(e is not None and e.reason == "down" for e in got)
    assert spool.count() == 3


def test_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "spool.jsonl"
    # Big entries (many specs) so that unlocked writes would be split and mixed.
    big = {f"k{i}": "v" * 200 for i in range(100)}

    def writer(t: int) -> None:
        spool = Spool(path)
        for i in range(20):
            snap = make_snapshot(f"T{t}-{i}", at=T0 + minutes(i), specs=big)
            spool.append([SpoolEntry(snapshot=snap, reason="down")])

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = path.read_bytes().splitlines()
    assert len(lines) == 160
    refs = {json.loads(line)["snapshot"]["reference"] for line in lines}
    assert len(refs) == 160


def test_replay_removes_only_done_lines_and_keeps_late_appends(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.jsonl")
    spool.append(_entries(4))
    with spool.replay() as replay:
        replay.entries[0].done = True
        replay.entries[2].done = True
        spool.append(_entries(1, prefix="LATE"))
    with spool.replay() as replay:
        refs = [line.entry.snapshot.reference for line in replay.entries if line.entry]
    assert refs == ["S1", "S3", "LATE0"]


def test_unreadable_lines_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "spool.jsonl"
    path.write_bytes(b'{"not": "an entry"}\n{"half a line')
    spool = Spool(path)
    spool.append(_entries(1))
    with spool.replay() as replay:
        assert len(replay.lines) == 3
        assert len(replay.entries) == 1
        replay.entries[0].done = True
    assert path.read_bytes() == b'{"not": "an entry"}\n{"half a line\n'


def test_one_replay_at_a_time(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.jsonl")
    with spool.replay(), pytest.raises(SpoolBusyError), Spool(spool.path).replay():
        pass
