"""The session record the ledger keeps and billing reads."""

from __future__ import annotations

import math

import pytest

from custom_components.ev_power_share.core.sessions import (
    ClosedBy,
    MeterSample,
    SessionRecord,
)


def test_energy_is_the_last_register_reading_minus_the_first() -> None:
    session = SessionRecord("s1", "cp-1", 1, "cp-1:1", 1000.0, 5000.0)
    assert session.energy_wh == 0.0
    assert session.is_open
    running = SessionRecord(
        "s1",
        "cp-1",
        1,
        "cp-1:1",
        1000.0,
        5000.0,
        samples=(MeterSample(1000.0, 5000.0), MeterSample(1900.0, 7300.0, 9200.0)),
    )
    assert running.energy_wh == 2300.0
    closed = SessionRecord(
        "s1",
        "cp-1",
        1,
        "cp-1:1",
        1000.0,
        5000.0,
        stopped_at=2000.0,
        meter_stop_wh=7500.0,
        closed_by=ClosedBy.CHARGER,
        samples=running.samples,
    )
    assert closed.energy_wh == 2500.0
    assert not closed.is_open


@pytest.mark.parametrize(
    ("at", "wh", "w"),
    [(math.nan, 1.0, None), (1.0, -1.0, None), (1.0, math.inf, None), (1.0, 1.0, -5.0)],
)
def test_a_sample_that_cannot_be_right_is_refused(
    at: float, wh: float, w: float | None
) -> None:
    with pytest.raises(ValueError, match="must be a number"):
        MeterSample(at, wh, w)
