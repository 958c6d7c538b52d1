"""A ledger whose process is killed (SIGKILL) mid-session loses no write that
returned: a real process, a real file."""

from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys

from custom_components.ev_power_share.core.sessions import ClosedBy
from custom_components.ev_power_share.ledger import Ledger

ROOT = Path(__file__).parents[1]


def _run_until_killed(path: Path, samples: int) -> list[str]:
    """Start the writer, kill it once it acknowledged this many samples."""
    writer = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, "-m", "tests.ledger_writer", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert writer.stdout is not None
    lines: list[str] = []
    try:
        while len(lines) < samples + 2:
            line = writer.stdout.readline()
            assert line, "the writer ended before it was killed"
            lines.append(line.strip())
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    return lines


async def test_every_write_that_returned_survives_a_kill(tmp_path: Path) -> None:
    path = tmp_path / "site.sqlite"
    lines = _run_until_killed(path, samples=300)
    closed_id = lines[0].split()[1]
    open_id = lines[1].split()[1]
    acknowledged = int(lines[-1].split()[1])
    ledger = await Ledger.open(path)
    try:
        closed = await ledger.session(closed_id)
        assert closed is not None
        assert (closed.closed_by, closed.energy_wh) == (ClosedBy.CHARGER, 500.0)
        [running] = await ledger.open_sessions()
        assert running.id == open_id
        kept = [round(s.wh / 10) for s in running.samples]
        # Every acknowledged reading is there, in order; at most the one being
        # written when the kill came is there besides.
        assert kept[: acknowledged + 1] == list(range(acknowledged + 1))
        assert len(kept) - 1 in (acknowledged, acknowledged + 1)
        assert running.energy_wh == running.samples[-1].wh
    finally:
        await ledger.close()
