"""Scheduled charging: cheapest slots by departure, checked against brute force."""

from __future__ import annotations

import itertools
import math

from hypothesis import assume, given, settings, strategies as st
import pytest

from custom_components.ev_power_share.core.planner import (
    ChargeRequest,
    PlanError,
    PriceSlot,
    SolarSlot,
    energy_for_soc,
    plan_charging,
)

H = 3600.0
WPA = 690.0  # 3 phases × 230 V
P_KW = 16 * WPA / 1000  # 11.04 kW


def request(kwh: float, departure_h: float, **kw: float) -> ChargeRequest:
    return ChargeRequest(
        energy_kwh=kwh,
        departure_s=departure_h * H,
        max_a=kw.get("max_a", 16.0),
        watts_per_amp=kw.get("wpa", WPA),
        min_a=kw.get("min_a", 6.0),
    )


def hourly(*prices: float, start_h: float = 0.0) -> list[tuple[float, float, float]]:
    return [((start_h + k) * H, (start_h + k + 1) * H, p) for k, p in enumerate(prices)]


def energies(plan_slots: object) -> list[float]:
    return [round(s.energy_kwh, 6) for s in plan_slots]  # type: ignore[attr-defined]


def test_cheapest_hours_first_ties_to_the_earlier_slot() -> None:
    plan = plan_charging(request(17.0, 4), 0.0, hourly(0.30, 0.10, 0.20, 0.10))
    assert energies(plan.slots) == [0.0, P_KW, 0.0, round(17.0 - P_KW, 6)]
    assert math.isclose(plan.cost, 17.0 * 0.10)
    assert not plan.at_risk
    assert plan.shortfall_kwh == 0.0
    assert math.isclose(plan.energy_kwh, 17.0)
    # The cap follows the plan: nothing in hour 0, full power in hour 1, the
    # average needed in hour 3 (17 − 11.04 = 5.96 kWh: 8.64 A).
    assert plan.current_cap_at(0.5 * H) == 0.0
    assert plan.current_cap_at(1.5 * H) == 16.0
    assert math.isclose(plan.current_cap_at(3.5 * H), 5960.0 / WPA)
    assert plan.current_cap_at(4.0 * H) == 0.0  # departed


def test_equal_prices_charge_as_early_as_possible() -> None:
    plan = plan_charging(request(5.0, 3), 0.0, hourly(0.2, 0.2, 0.2))
    assert energies(plan.slots) == [5.0, 0.0, 0.0]


def test_not_enough_time_charges_at_full_power_now_and_is_at_risk() -> None:
    plan = plan_charging(request(30.0, 2), 0.0, hourly(0.5, 0.1))
    assert plan.at_risk
    assert energies(plan.slots) == [P_KW, P_KW]
    assert math.isclose(plan.shortfall_kwh, 30.0 - 2 * P_KW)
    assert plan.current_cap_at(0.0) == 16.0
    assert plan.current_cap_at(2.5 * H) == 16.0  # still there: keep charging
    assert plan.power_at(0.0) == 16.0 * WPA


def test_departure_passed_is_at_risk() -> None:
    plan = plan_charging(request(1.0, 1), 2 * H, hourly(0.1, 0.1))
    assert plan.at_risk
    assert plan.slots == ()
    assert plan.current_cap_at(2 * H) == 16.0
    assert not plan_charging(request(0.0, 1), 2 * H, []).at_risk


def test_solar_forecast_is_preferred() -> None:
    # 3 kW of expected surplus at noon; grid 0.30 at noon, 0.25 at night.
    prices = hourly(0.25, 0.30, 0.30)
    solar = [(1 * H, 2 * H, 3000.0), SolarSlot(2 * H, 3 * H, 20000.0)]
    plan = plan_charging(request(14.0, 3), 0.0, prices, solar)
    # Both hours of sun cost nothing: the earlier one first (3 kWh), then the
    # rest from the second (whose 20 kW is capped at the port's 11.04 kW).
    assert energies(plan.slots) == [0.0, 3.0, 11.0]
    assert [round(s.solar_kwh, 6) for s in plan.slots] == [0.0, 3.0, 11.0]
    assert math.isclose(plan.cost, 0.0)
    assert plan.slots[2].solar_w == P_KW * 1000
    # 15 kWh: the cheapest grid energy is the night hour, not the sunny ones.
    more = plan_charging(request(15.0, 3), 0.0, prices, solar)
    assert energies(more.slots) == [round(15.0 - 3.0 - P_KW, 6), 3.0, P_KW]
    assert math.isclose(more.cost, (15.0 - 3.0 - P_KW) * 0.25)


def test_sun_beyond_the_price_forecast_is_used_and_unpriced_time_last() -> None:
    prices = hourly(0.40)
    solar = [(2 * H, 3 * H, 5000.0)]
    plan = plan_charging(request(20.0, 3), 0.0, prices, solar)
    # Sun (5 kWh), the priced hour (11.04 kWh), then unpriced grid time, earliest
    # first (3.96 kWh in hour 1).
    assert energies(plan.slots) == [P_KW, round(20.0 - 5.0 - P_KW, 6), 5.0]
    assert plan.slots[1].price is None
    assert plan.slots[2].solar_kwh == pytest.approx(5.0)
    assert plan.unpriced_kwh == pytest.approx(20.0 - P_KW - 5.0)
    assert plan.cost == pytest.approx(P_KW * 0.40)


def test_partial_slots_now_and_departure() -> None:
    # Now is 00:30 and departure 02:15: slots are cut at both.
    plan = plan_charging(request(2.0, 2.25), 0.5 * H, hourly(0.1, 0.3, 0.05))
    assert [(s.start_s, s.end_s) for s in plan.slots] == [
        (0.5 * H, 1 * H),
        (1 * H, 2 * H),
        (2 * H, 2.25 * H),
    ]
    assert energies(plan.slots) == [0.0, 0.0, 2.0]


def test_below_minimum_power_runs_at_the_minimum_first() -> None:
    # 1 kWh in one hour is 1 kW: below 6 A (4.14 kW), so 6 A for 14.5 minutes.
    plan = plan_charging(request(1.0, 1), 0.0, hourly(0.1))
    on_s = 1000.0 * 3600.0 / (6 * WPA)
    assert plan.current_cap_at(0.0) == 6.0
    assert plan.current_cap_at(on_s - 1.0) == 6.0
    assert plan.current_cap_at(on_s + 1.0) == 0.0


def test_energy_for_soc_and_validation() -> None:
    assert energy_for_soc(20, 80, 60, efficiency=0.9) == pytest.approx(40.0)
    assert energy_for_soc(90, 80, 60) == 0.0
    with pytest.raises(PlanError) as err:
        energy_for_soc(20, 120, 60)
    assert err.value.field == "target_pct"
    with pytest.raises(PlanError) as err:
        plan_charging(request(1.0, 2), 0.0, [(0.0, H, 0.1), (0.5 * H, 2 * H, 0.2)])
    assert err.value.field == "prices"
    with pytest.raises(PlanError) as err:
        plan_charging(request(1.0, 2), 0.0, [PriceSlot(H, H, 0.1)])
    assert err.value.field == "prices[0]"
    with pytest.raises(PlanError) as err:
        plan_charging(request(1.0, 2, wpa=0.0), 0.0, [])
    assert err.value.field == "watts_per_amp"


def brute_force_cost(
    capacities: list[float], prices: list[float], need: float
) -> float | None:
    """Least cost of delivering ``need`` from pieces ``0 ≤ e_k ≤ capacity_k``.

    A linear program's optimum is at a vertex, where at most one piece is
    partly used: try every set of full pieces plus each possible partial one.
    """
    n = len(capacities)
    best: float | None = None
    tol = 1e-9 * max(1.0, need)
    for full in itertools.product((0, 1), repeat=n):
        used = sum(c for c, f in zip(capacities, full, strict=True) if f)
        base = sum(c * p for c, p, f in zip(capacities, prices, full, strict=True) if f)
        rest = need - used
        options = []
        if abs(rest) <= tol:
            options.append(base)
        options.extend(
            base + max(0.0, rest) * prices[j]
            for j in range(n)
            if not full[j] and -tol <= rest <= capacities[j] + tol
        )
        for cost in options:
            if best is None or cost < best:
                best = cost
    return best


slot_lengths = st.sampled_from([0.25, 0.5, 1.0])


@settings(max_examples=150, deadline=None)
@given(
    lengths=st.lists(slot_lengths, min_size=1, max_size=5),
    prices=st.lists(
        st.sampled_from([0.05, 0.1, 0.2, 0.25, 0.4]), min_size=5, max_size=5
    ),
    sun=st.lists(
        st.sampled_from([0.0, 0.0, 1500.0, 5000.0, 20000.0]), min_size=5, max_size=5
    ),
    use_sun=st.booleans(),
    need=st.floats(0.0, 40.0),
    max_a=st.sampled_from([6.0, 10.0, 16.0, 32.0]),
    phases=st.sampled_from([1, 3]),
    now_frac=st.floats(0.0, 0.9),
    depart_frac=st.floats(0.1, 1.0),
)
def test_plan_is_feasible_within_power_and_no_cheaper_plan_exists(
    lengths: list[float],
    prices: list[float],
    sun: list[float],
    use_sun: bool,
    need: float,
    max_a: float,
    phases: int,
    now_frac: float,
    depart_frac: float,
) -> None:
    """The plan never exceeds the maximum power, delivers the need whenever all
    slots at full power could, and costs no more than the cheapest plan on the
    same slots (brute force over the linear program's vertices)."""
    wpa = phases * 230.0
    bounds = [0.0, *itertools.accumulate(lengths)]
    forecast = [
        (bounds[k] * H, bounds[k + 1] * H, prices[k]) for k in range(len(lengths))
    ]
    solar = (
        [(bounds[k] * H, bounds[k + 1] * H, sun[k]) for k in range(len(lengths))]
        if use_sun
        else []
    )
    now = now_frac * lengths[0] * H  # inside the first slot
    departure = (bounds[-2] + depart_frac * lengths[-1]) * H  # inside the last
    assume(departure > now)
    req = ChargeRequest(need, departure, max_a, wpa)
    plan = plan_charging(req, now, forecast, solar)

    p_max = max_a * wpa
    assert plan.slots[0].start_s == now
    assert plan.slots[-1].end_s == departure
    for slot in plan.slots:
        assert slot.energy_kwh >= -1e-12
        assert slot.power_w <= p_max * (1 + 1e-9)
        assert 0.0 <= slot.solar_kwh <= slot.energy_kwh + 1e-9
        for t in (slot.start_s, (slot.start_s + slot.end_s) / 2):
            assert 0.0 <= plan.current_cap_at(t) <= max_a
    full = sum(p_max * s.duration_s / 3.6e6 for s in plan.slots)
    if need <= full * (1 - 1e-9):
        assert not plan.at_risk
        assert plan.energy_kwh == pytest.approx(need, rel=1e-9, abs=1e-9)
    elif need > full * (1 + 1e-9):
        assert plan.at_risk
        assert plan.energy_kwh == pytest.approx(full)
        assert plan.shortfall_kwh == pytest.approx(need - full)
        return

    # Brute force: each slot as a sun piece (price 0) and a grid piece.
    caps: list[float] = []
    piece_prices: list[float] = []
    for slot in plan.slots:
        hours = slot.duration_s / H
        sun_w = min(p_max, slot.solar_w)
        assert slot.price is not None
        caps += [sun_w * hours / 1000, (p_max - sun_w) * hours / 1000]
        piece_prices += [0.0, slot.price]
    best = brute_force_cost(caps, piece_prices, min(need, full))
    assert best is not None
    assert plan.cost <= best + 1e-9 * max(1.0, best)
    assert plan.cost >= best - 1e-9 * max(1.0, best)


@settings(max_examples=60, deadline=None)
@given(
    need=st.floats(0.1, 30.0),
    prices=st.lists(st.sampled_from([0.1, 0.2, 0.3]), min_size=4, max_size=4),
)
def test_following_the_caps_delivers_each_slot(
    need: float, prices: list[float]
) -> None:
    """Integrating ``current_cap_at`` over a slot gives that slot's energy, so a
    vehicle that follows the caps exactly gets the plan (within sampling)."""
    plan = plan_charging(request(need, 4), 0.0, hourly(*prices))
    step = 5.0
    for slot in plan.slots:
        t = slot.start_s
        delivered = 0.0
        while t < slot.end_s:
            delivered += plan.current_cap_at(t) * WPA * step / 3.6e6
            t += step
        assert delivered == pytest.approx(slot.energy_kwh, abs=6 * WPA * step / 3.6e6)
