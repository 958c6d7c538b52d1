"""A process that writes sessions through the ledger until it is killed (the
crash test's writer). Each line it prints is a write that returned."""

from __future__ import annotations

import asyncio
import sys

from custom_components.ev_power_share.core.sessions import ClosedBy, MeterSample
from custom_components.ev_power_share.ledger import Ledger

T0 = 1_780_000_000.0


async def write(path: str) -> None:
    """One session closed, then one open whose readings go on until killed."""
    ledger = await Ledger.open(path, min_interval_s=0.0)
    done = await ledger.open_session(
        charger="cp-1", connector=2, port_id="cp-1:2", started_at=T0, meter_start_wh=0
    )
    await ledger.close_session(done.id, T0 + 60, 500.0, ClosedBy.CHARGER)
    sys.stdout.write(f"closed {done.id}\n")
    running = await ledger.open_session(
        charger="cp-1", connector=1, port_id="cp-1:1", started_at=T0, meter_start_wh=0
    )
    sys.stdout.write(f"opened {running.id}\n")
    sys.stdout.flush()
    n = 0
    while True:
        n += 1
        await ledger.add_samples(running.id, [MeterSample(T0 + n, 10.0 * n, 7000.0)])
        sys.stdout.write(f"sample {n}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(write(sys.argv[1]))
