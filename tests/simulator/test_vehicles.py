"""The simulated vehicle: following the offered limit, ramps, pauses, taper, energy."""

from __future__ import annotations

import itertools
import math

from hypothesis import given, strategies as st
import pytest

from simulator.vehicles import (
    DAY_S,
    MAX_FOLLOW_S,
    MIN_OFFER_A,
    Vehicle,
    VehicleSpec,
)

V = 230.0


def spec(**kwargs: object) -> VehicleSpec:
    values: dict[str, object] = {"name": "ev", "jitter_a": 0.0}
    values.update(kwargs)
    return VehicleSpec(**values)  # type: ignore[arg-type]


def settle(vehicle: Vehicle, limit: float, seconds: float = 20.0) -> None:
    for _ in range(int(seconds)):
        vehicle.draw(limit, 1.0)


def test_ramps_up_over_a_few_seconds() -> None:
    ev = Vehicle(spec(max_a=32, ramp_a_per_s=4))
    draws = [ev.draw(32, 1.0)[0] for _ in range(10)]
    assert draws[0] == pytest.approx(4.0)
    assert draws[3] == pytest.approx(16.0)
    assert draws[7] == pytest.approx(32.0)
    assert all(a <= b for a, b in itertools.pairwise(draws))


def test_follows_a_lowered_limit_within_the_follow_delay() -> None:
    ev = Vehicle(spec(max_a=32, follow_s=3.0))
    settle(ev, 32)
    assert ev.current_a == pytest.approx(32)
    held = [ev.draw(10, 0.5)[0] for _ in range(5)]  # 2.5 s: still the old current
    assert held == [pytest.approx(32)] * 5
    assert ev.draw(10, 0.5)[0] == pytest.approx(10)  # 3 s: follows
    assert ev.draw(10, 10.0)[0] == pytest.approx(10)


def test_a_lowered_limit_is_followed_within_one_long_step() -> None:
    ev = Vehicle(spec(max_a=16))
    settle(ev, 16)
    assert ev.draw(8, 30.0) == (pytest.approx(8.0),) * 3


def test_pauses_below_6_a_and_resumes() -> None:
    ev = Vehicle(spec(max_a=16, follow_s=2.0))
    settle(ev, 16)
    ev.draw(MIN_OFFER_A - 0.5, 2.0)
    assert ev.current_a == 0.0
    assert ev.state == "suspended_evse"
    assert ev.draw(5.9, 30.0) == (0.0, 0.0, 0.0)
    assert ev.draw(6.0, 1.0)[0] > 0  # resumes, ramping
    settle(ev, 6.0, 5)
    assert ev.current_a == pytest.approx(6.0)
    assert ev.state == "charging"


def test_never_above_its_own_maximum() -> None:
    ev = Vehicle(spec(max_a=16))
    settle(ev, 32)
    assert ev.current_a == pytest.approx(16)


def test_draws_a_little_under_the_offer_with_jitter() -> None:
    ev = Vehicle(spec(max_a=32, jitter_a=0.5), seed=3)
    settle(ev, 20)
    draws = [ev.draw(20, 1.0)[0] for _ in range(50)]
    assert all(19.3 <= a <= 20 for a in draws)
    assert len(set(draws)) > 1


def test_deterministic_for_a_seed() -> None:
    def trajectory(seed: int) -> list[float]:
        ev = Vehicle(spec(jitter_a=0.6), seed=seed)
        return [ev.draw(16 if i % 20 < 15 else 4, 0.7)[0] for i in range(100)]

    assert trajectory(5) == trajectory(5)
    assert trajectory(5) != trajectory(6)


def test_tapers_above_80_percent_and_stops_when_full() -> None:
    ev = Vehicle(spec(max_a=16, capacity_kwh=10, soc_pct=70, target_soc_pct=95))
    settle(ev, 16, 10)
    assert ev.current_a == pytest.approx(16)
    while ev.soc_pct < 90:
        ev.draw(16, 10.0)
    assert ev.current_a < 16 * 0.55  # (100 − 90) / (100 − 80) of its maximum
    while not ev.full:
        ev.draw(16, 10.0)
        assert ev.elapsed_s < 6 * 3600
    assert ev.draw(16, 10.0) == (0.0, 0.0, 0.0)
    assert ev.state == "suspended_ev"
    assert ev.soc_pct == pytest.approx(95, abs=0.1)


def test_energy_and_state_of_charge() -> None:
    ev = Vehicle(spec(max_a=16, capacity_kwh=60, soc_pct=20, efficiency=0.9))
    settle(ev, 16, 10)
    start_wh, start_soc = ev.energy_wh, ev.soc_pct
    ev.draw(16, 3600.0)
    drawn = ev.energy_wh - start_wh
    assert drawn == pytest.approx(16 * 3 * V, rel=1e-9)  # 11.04 kWh in an hour
    assert ev.soc_pct - start_soc == pytest.approx(drawn * 0.9 / 60_000 * 100)
    assert ev.power_w == pytest.approx(16 * 3 * V)


@pytest.mark.parametrize(
    ("vehicle_phases", "charger_phases", "active"),
    [(1, 3, 1), (3, 3, 3), (3, 1, 1), (2, 3, 2)],
)
def test_phases_are_the_fewer_of_vehicle_and_charger(
    vehicle_phases: int, charger_phases: int, active: int
) -> None:
    ev = Vehicle(spec(phases=vehicle_phases, max_a=16))
    for _ in range(10):
        draw = ev.draw(16, 1.0, phases=charger_phases)
    assert draw == (pytest.approx(16),) * active
    assert ev.power_w == pytest.approx(16 * active * V)


def test_no_supply_draws_nothing_at_once() -> None:
    ev = Vehicle(spec())
    settle(ev, 16)
    ev.rest(1.0)
    assert ev.current_a == 0.0
    assert ev.draw(16, 1.0)[0] == pytest.approx(4.0)  # ramps again


def test_one_long_step_is_many_short_ones() -> None:
    a = Vehicle(spec(jitter_a=0.4, capacity_kwh=5, soc_pct=75), seed=1)
    b = Vehicle(spec(jitter_a=0.4, capacity_kwh=5, soc_pct=75), seed=1)
    for limit in (16, 7, 3, 12):
        a.draw(limit, 600.0)
        for _ in range(600):
            b.draw(limit, 1.0)
    assert a.energy_wh == b.energy_wh
    assert a.soc_pct == b.soc_pct
    assert a.current_a == b.current_a


@pytest.mark.parametrize(
    "kwargs",
    [
        {"capacity_kwh": 0},
        {"phases": 4},
        {"soc_pct": 101},
        {"follow_s": MAX_FOLLOW_S + 1},
        {"arrival_s": DAY_S},
        {"max_a": -1},
    ],
)
def test_impossible_vehicles_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="vehicle 'ev'"):
        spec(**kwargs)


def test_visits_repeat_daily_and_may_cross_midnight() -> None:
    night = spec(arrival_s=18 * 3600, departure_s=7 * 3600)
    assert night.stay_s == 13 * 3600
    assert night.visits(6 * 3600, 20 * 3600) == [
        (-6 * 3600, 7 * 3600),
        (18 * 3600, 31 * 3600),
    ]
    day = spec(arrival_s=9 * 3600, departure_s=17 * 3600)
    assert day.visits(0, 2 * DAY_S) == [
        (9 * 3600, 17 * 3600),
        (DAY_S + 9 * 3600, DAY_S + 17 * 3600),
    ]
    assert spec().visits(100, 200) == [(0, DAY_S)]


# --- properties ------------------------------------------------------------------------

vehicles = st.builds(
    VehicleSpec,
    name=st.just("ev"),
    capacity_kwh=st.floats(1, 120),
    max_a=st.floats(6, 40),
    phases=st.sampled_from([1, 2, 3]),
    soc_pct=st.floats(0, 100),
    target_soc_pct=st.floats(50, 100),
    taper_soc_pct=st.floats(50, 100),
    follow_s=st.floats(0, MAX_FOLLOW_S),
    ramp_a_per_s=st.floats(0.5, 20),
    jitter_a=st.floats(0, 1),
)
steps = st.lists(
    st.tuples(
        st.one_of(st.floats(0, 50), st.sampled_from([0.0, 5.9, 6.0, 8.0, 16.0])),
        st.floats(0.01, 1.0),
    ),
    min_size=1,
    max_size=150,
)


@given(vehicles, steps, st.sampled_from([1, 3]), st.integers(0, 3))
def test_property_draw_limits_and_energy(
    vehicle: VehicleSpec,
    offers: list[tuple[float, float]],
    charger_phases: int,
    seed: int,
) -> None:
    """Never above its own maximum; never above the offer once the follow delay
    passed (above it only if a higher offer came within ``follow_s``); nothing if
    every offer in that window was below 6 A; energy is exactly ∫ power dt; the
    state of charge never falls nor passes 100 %; a full vehicle draws nothing."""
    ev = Vehicle(vehicle, seed=seed)
    history: list[tuple[float, float, float]] = []  # (start, end, offer)
    t = energy = 0.0
    soc = ev.soc_pct
    for limit, dt in offers:
        history.append((t, t + dt, limit))
        t += dt
        was_full = ev.full
        draw = ev.draw(limit, dt, phases=charger_phases)
        assert len(draw) == min(vehicle.phases, charger_phases)
        current = draw[0]
        assert 0.0 <= current <= vehicle.max_a + 1e-9
        window = [o for s, e, o in history if e >= t - vehicle.follow_s - 1e-6]
        assert current <= max(window) + 1e-9
        if max(window) < MIN_OFFER_A:
            assert current == 0.0
        energy += sum(draw) * V * dt / 3600
        assert math.isclose(ev.energy_wh, energy, rel_tol=1e-9, abs_tol=1e-9)
        assert soc <= ev.soc_pct <= 100.0
        soc = ev.soc_pct
        if was_full:  # full: it stops at once, whatever it is offered
            assert current == 0.0
