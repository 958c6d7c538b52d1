"""Reconciliation: sessions against registers, the site against its chargers."""

from __future__ import annotations

from itertools import accumulate, pairwise
import math

from hypothesis import given, strategies as st
import pytest

from custom_components.ev_power_share.core.reconcile import (
    ChargerBalance,
    charger_balances,
    energy_in,
    register_at,
    site_balance,
)
from custom_components.ev_power_share.core.sessions import (
    ClosedBy,
    MeterSample,
    SessionRecord,
)

T0 = 1_780_000_000.0


def _session(charger: str, *readings: tuple[float, float]) -> SessionRecord:
    samples = tuple(MeterSample(T0 + at, wh) for at, wh in readings)
    return SessionRecord(
        f"{charger}-{readings[0][0]}",
        charger,
        1,
        f"{charger}:1",
        samples[0].at,
        samples[0].wh,
        stopped_at=samples[-1].at,
        meter_stop_wh=samples[-1].wh,
        closed_by=ClosedBy.CHARGER,
        samples=samples,
    )


def test_a_session_across_the_periods_edge_counts_its_part_inside() -> None:
    # 0 → 3600 s: 1000 → 4000 Wh, evenly; the period ends half-way.
    session = _session("cp-1", (0, 1000.0), (3600, 4000.0))
    assert energy_in(session, T0 - 100, T0 + 1800) == pytest.approx(1500.0)
    assert energy_in(session, T0 + 1800, T0 + 9999) == pytest.approx(1500.0)
    assert energy_in(session, T0 + 5000, T0 + 6000) == 0.0
    assert energy_in(session, T0 + 10, T0) == 0.0
    assert register_at(session.samples, T0 + 900) == pytest.approx(1750.0)


def test_each_charger_against_its_register_and_the_site_against_them() -> None:
    sessions = [
        _session("cp-1", (0, 0.0), (3600, 7000.0)),
        _session("cp-1", (7200, 7000.0), (9000, 9000.0)),
        _session("cp-2", (0, 500.0), (3600, 3500.0)),
    ]
    registers = {
        "cp-1": (100_000.0, 109_050.0),  # 50 Wh outside sessions (standby)
        "cp-2": (20_000.0, 19_000.0),  # went backwards: a reset, unknown
        "cp-3": (5.0, 5.0),  # no sessions
    }
    balances = charger_balances(sessions, registers, T0, T0 + 86_400)
    assert balances == [
        ChargerBalance("cp-1", 9000.0, 9050.0),
        ChargerBalance("cp-2", 3000.0, None),
        ChargerBalance("cp-3", 0.0, 0.0),
    ]
    assert [b.unbooked_wh for b in balances] == [50.0, None, 0.0]
    site = site_balance((1_000_000.0, 1_013_000.0), balances)
    assert site.chargers_wh == 9050.0 + 3000.0
    assert site.other_wh == 13_000.0 - 12_050.0
    assert site_balance((math.nan, 5.0), balances).other_wh is None
    assert site_balance(None, []).other_wh is None


@pytest.mark.parametrize(
    "reading", [(math.inf, 1.0), (-1.0, 5.0), (5.0, 1.0), ("1", 2.0), None]
)
def test_a_register_that_cannot_be_read_is_unknown(
    reading: tuple[float, float] | None,
) -> None:
    registers = {} if reading is None else {"cp-1": reading}
    sessions = [_session("cp-1", (0, 0.0), (60, 10.0))]
    [balance] = charger_balances(sessions, registers, T0, T0 + 60)
    assert balance.register_wh is None
    assert balance.counted_wh == 10.0


@st.composite
def sessions(draw: st.DrawFn) -> SessionRecord:
    gaps = draw(st.lists(st.integers(1, 3600), min_size=1, max_size=20))
    steps = draw(st.lists(st.floats(0, 5000), min_size=len(gaps), max_size=len(gaps)))
    times = [0, *accumulate(gaps)]
    whs = list(accumulate(steps, initial=1000.0))
    return _session("cp-1", *zip(times, whs, strict=True))


@given(
    session=sessions(),
    cuts=st.lists(st.integers(-3600, 80_000), min_size=1, max_size=10, unique=True),
)
def test_the_parts_in_consecutive_periods_add_up_to_the_session(
    session: SessionRecord, cuts: list[int]
) -> None:
    edges = [-math.inf, *(T0 + c for c in sorted(cuts)), math.inf]
    parts = [energy_in(session, a, b) for a, b in pairwise(edges)]
    assert all(p >= 0 for p in parts)
    assert math.fsum(parts) == pytest.approx(session.energy_wh, abs=1e-6)
