"""Sessions as chargers report them, through the recorder into a real ledger
file; reopening the file is a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
import math
from pathlib import Path

import pytest

from custom_components.ev_power_share.core.sessions import (
    ClosedBy,
    MeterSample,
    SessionRecord,
)
from custom_components.ev_power_share.ledger import Ledger
from custom_components.ev_power_share.session_recorder import SessionRecorder

T0 = 1_780_000_000.0
PORT = "cp-1:1"


@pytest.fixture
async def recorder(tmp_path: Path) -> AsyncIterator[SessionRecorder]:
    ledger = await Ledger.open(tmp_path / "site.sqlite")
    yield SessionRecorder(ledger)
    await ledger.close()


async def _all(recorder: SessionRecorder) -> list[SessionRecord]:
    return await recorder.ledger.sessions(-math.inf, math.inf)


async def test_a_session_goes_on_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "site.sqlite"
    ledger = await Ledger.open(path)
    recorder = SessionRecorder(ledger)
    started = await recorder.started(
        PORT, "cp-1", 1, T0, 5000.0, user_id="a", token="CARD", transaction_id="1"
    )
    assert await recorder.metered(PORT, T0 + 60, 5100.0, 6000.0) == started.id
    await ledger.close()  # Home Assistant restarts

    ledger = await Ledger.open(path)
    try:
        recorder = SessionRecorder(ledger)
        assert await recorder.metered(PORT, T0 + 120, 5200.0, transaction_id="1") == (
            started.id
        )
        stopped = await recorder.stopped(PORT, T0 + 180, 5300.0, transaction_id="1")
        assert stopped is not None
        assert stopped.id == started.id
        assert (stopped.closed_by, stopped.energy_wh) == (ClosedBy.CHARGER, 300.0)
        assert [s.wh for s in stopped.samples] == [5000.0, 5100.0, 5200.0, 5300.0]
        assert stopped.peak_w == 6000.0
    finally:
        await ledger.close()


async def test_a_stop_that_never_came_is_closed_by_the_meter_at_the_next_start(
    recorder: SessionRecorder,
) -> None:
    first = await recorder.started(PORT, "cp-1", 1, T0, 5000.0, transaction_id="1")
    await recorder.metered(PORT, T0 + 600, 5800.0, transaction_id="1")
    # The charger rebooted and lost the transaction; it starts a new one.
    second = await recorder.started(
        PORT, "cp-1", 1, T0 + 3600, 5800.0, transaction_id="2"
    )
    old = await recorder.ledger.session(first.id)
    assert old is not None
    assert (old.closed_by, old.stopped_at, old.meter_stop_wh) == (
        ClosedBy.METER,
        T0 + 600,
        5800.0,
    )
    assert [s.id for s in await recorder.ledger.open_sessions()] == [second.id]


async def test_readings_of_a_new_transaction_end_the_old_one(
    recorder: SessionRecorder,
) -> None:
    first = await recorder.started(PORT, "cp-1", 1, T0, 5000.0, transaction_id="1")
    await recorder.metered(PORT, T0 + 60, 5100.0, transaction_id="1")
    assert await recorder.metered(PORT, T0 + 120, 5200.0, transaction_id="9") is None
    old = await recorder.ledger.session(first.id)
    assert old is not None
    assert (old.closed_by, old.meter_stop_wh) == (ClosedBy.METER, 5100.0)


async def test_a_register_reset_ends_the_session(recorder: SessionRecorder) -> None:
    first = await recorder.started(PORT, "cp-1", 1, T0, 0.0)
    await recorder.metered(PORT, T0 + 60, 2000.0)
    assert await recorder.metered(PORT, T0 + 90, 1995.0) is None  # jitter: dropped
    still = await recorder.ledger.session(first.id)
    assert still is not None
    assert still.is_open
    assert await recorder.metered(PORT, T0 + 120, 50.0) is None  # a new session's
    ended = await recorder.ledger.session(first.id)
    assert ended is not None
    assert (ended.closed_by, ended.energy_wh) == (ClosedBy.METER, 2000.0)
    assert await recorder.metered(PORT, T0 + 180, 100.0) is None  # no session


async def test_a_late_offline_transaction_lands_in_its_period_once(
    recorder: SessionRecorder,
) -> None:
    current = await recorder.started(PORT, "cp-1", 1, T0, 9000.0, transaction_id="c")
    for _ in range(2):  # the charger sends its queue twice
        late = await recorder.started(
            PORT, "cp-1", 1, T0 - 7200, 7000.0, user_id="b", transaction_id="l"
        )
        await recorder.metered(PORT, T0 - 5400, 7500.0, transaction_id="l")
        await recorder.stopped(PORT, T0 - 3600, 8000.0, transaction_id="l")
    sessions = await _all(recorder)
    assert [s.id for s in sessions] == [late.id, current.id]
    booked = sessions[0]
    assert (booked.closed_by, booked.energy_wh, booked.user_id) == (
        ClosedBy.CHARGER,
        1000.0,
        "b",
    )
    assert [s.wh for s in booked.samples] == [7000.0, 7500.0, 8000.0]
    assert current.id in {s.id for s in await recorder.ledger.open_sessions()}
    in_period = await recorder.ledger.sessions(T0 - 8000, T0 - 1000)
    assert [s.id for s in in_period] == [late.id]


async def test_a_stop_without_a_transaction_ends_the_ports_latest(
    recorder: SessionRecorder,
) -> None:
    assert await recorder.stopped(PORT, T0, 1.0) is None  # nothing to end
    session = await recorder.started(PORT, "cp-1", 1, T0, 100.0)
    stopped = await recorder.stopped(PORT, T0 + 60, 200.0)
    assert stopped is not None
    assert (stopped.id, stopped.closed_by) == (session.id, ClosedBy.CHARGER)
    assert await recorder.stopped(PORT, T0 + 61, 999.0) == stopped  # a repeat


@pytest.mark.parametrize(
    ("at", "wh", "w"),
    [(math.nan, 1.0, None), (T0, -1.0, None), (T0, math.inf, None), ("x", 1.0, None)],
)
async def test_a_reading_that_cannot_be_right_is_not_booked(
    recorder: SessionRecorder, at: float, wh: float, w: float | None
) -> None:
    session = await recorder.started(PORT, "cp-1", 1, T0 - 60, 0.0)
    assert await recorder.metered(PORT, at, wh, w) is None
    again = await recorder.ledger.session(session.id)
    assert again is not None
    assert again.samples == (MeterSample(T0 - 60, 0.0),)


async def test_an_implausible_power_is_booked_as_unknown(
    recorder: SessionRecorder,
) -> None:
    session = await recorder.started(PORT, "cp-1", 1, T0, 0.0)
    assert await recorder.metered(PORT, T0 + 60, 10.0, math.nan) == session.id
    again = await recorder.ledger.session(session.id)
    assert again is not None
    assert (again.samples[-1].w, again.peak_w) == (None, None)


async def test_a_start_that_cannot_be_right_is_refused(
    recorder: SessionRecorder,
) -> None:
    with pytest.raises(ValueError, match="between 2000 and 2100"):
        await recorder.started(PORT, "cp-1", 1, 0.0, 0.0)
    with pytest.raises(ValueError, match="meter"):
        await recorder.started(PORT, "cp-1", 1, T0, math.nan)
    with pytest.raises(ValueError, match="meter"):
        await recorder.stopped(PORT, T0, -5.0)
    assert await _all(recorder) == []


async def test_a_stop_of_a_transaction_never_started_ends_nothing(
    recorder: SessionRecorder,
) -> None:
    session = await recorder.started(PORT, "cp-1", 1, T0, 100.0, transaction_id="1")
    assert await recorder.stopped(PORT, T0 + 60, 200.0, transaction_id="2") is None
    again = await recorder.ledger.session(session.id)
    assert again is not None
    assert again.is_open


async def test_a_start_refused_ends_no_session(recorder: SessionRecorder) -> None:
    session = await recorder.started(PORT, "cp-1", 1, T0, 100.0)
    with pytest.raises(ValueError, match="connector"):
        await recorder.started(PORT, "cp-1", -1, T0 + 60, 200.0)
    assert [s.id for s in await recorder.ledger.open_sessions()] == [session.id]
