"""Bookings into a real ledger file: run one at a time in the order they came,
a failing one logged and passed over, those made without a ledger kept until
there is one; a port's session booked, read, rebooked and ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.ev_power_share.core.port_sessions import (
    PortEvent,
    PortEventKind as K,
)
from custom_components.ev_power_share.ledger import Ledger
from custom_components.ev_power_share.session_bookings import (
    BookingQueue,
    port_booking,
)
from custom_components.ev_power_share.session_recorder import SessionRecorder

T0 = 1_780_000_000.0


async def test_bookings_in_order_past_a_failure_and_waiting_for_a_ledger(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    told: list[str] = []
    queue = BookingQueue(told.append)

    async def fails(_recorder: SessionRecorder) -> str | None:
        raise OSError("disk full")

    events = [
        PortEvent(K.STARTED, "outlet:1", T0, 100.0, None),
        PortEvent(K.METERED, "outlet:1", T0 + 120, 600.0),
        PortEvent(K.ASSIGNED, "outlet:1", T0 + 130, 600.0, "u-bob"),
        PortEvent(K.STOPPED, "outlet:1", T0 + 300, 900.0),
    ]
    queue.put("start", port_booking(events[0]))
    queue.put("a failure", fails)
    for event in events[1:]:
        queue.put(str(event.kind), port_booking(event))
    assert queue.waiting == 5  # no ledger yet: they wait
    ledger = await Ledger.open(tmp_path / "site.sqlite")
    try:
        queue.set_recorder(SessionRecorder(ledger))
        await queue.close()
        assert queue.waiting == 0
        [session] = await ledger.sessions(0, 9e12)
        assert (session.port_id, session.charger, session.connector) == (
            "outlet:1",
            "outlet",
            1,
        )
        assert session.user_id == "u-bob"
        assert (session.started_at, session.stopped_at) == (T0, T0 + 300)
        assert session.energy_wh == 800.0
        assert told == [session.id] * 4
        assert "booking a failure failed" in caplog.text
        queue.put("after close", port_booking(events[0]))
        assert queue.waiting == 0
    finally:
        await ledger.close()
