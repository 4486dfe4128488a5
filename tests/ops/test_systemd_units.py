"""The systemd units in deploy/systemd parse cleanly and start real pricewatch commands.

`systemd-analyze verify` reads a unit as systemd would and names every directive it cannot
parse; it needs no running systemd. The units' install path (/opt/pricewatch) and user are
swapped for this checkout's and root, which exist here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from pricewatch.cli import app

UNITS = Path(__file__).parents[2] / "deploy" / "systemd"
INSTALLED = "/opt/pricewatch/.venv/bin/pricewatch"
ANALYZE = shutil.which("systemd-analyze")


def _exec_start(unit: Path) -> list[str]:
    (line,) = [x for x in unit.read_text().splitlines() if x.startswith("ExecStart=")]
    return line.removeprefix("ExecStart=").split()


def test_every_unit_runs_an_installed_pricewatch_command() -> None:
    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    units = sorted(UNITS.glob("*.service"))
    assert [u.name for u in units] == [
        "pricewatch-scheduler.service",
        "pricewatch-web.service",
        "pricewatch-worker@.service",
        "pricewatch.service",
    ]
    for unit in units:
        program, command = _exec_start(unit)
        assert program == INSTALLED
        assert command in commands
    assert {_exec_start(u)[1] for u in units} == {"serve", "web", "worker", "scheduler"}


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
def test_units_parse_without_a_warning(tmp_path: Path) -> None:
    here = str(Path(sys.executable).parent / "pricewatch")
    names = []
    for unit in UNITS.glob("*.service"):
        text = unit.read_text().replace(INSTALLED, here)
        for key in ("User", "Group"):
            text = text.replace(f"{key}=pricewatch", f"{key}=root")
        (tmp_path / unit.name).write_text(text)
        names.append(unit.name.replace("@.service", "@1.service"))  # a template, as an instance
    assert ANALYZE is not None
    done = subprocess.run(
        [ANALYZE, "verify", *(str(tmp_path / n) for n in sorted(names))],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout + done.stderr == ""
