"""Dynamic load management from meters: estimates, timing, and safety over time."""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ev_power_share.core.allocator import RotationState, allocate
from custom_components.ev_power_share.core.commands import CommandState, plan_commands
from custom_components.ev_power_share.core.load_estimate import (
    EvDraw,
    LoadEstimate,
    MeterConfig,
    MeterSample,
    MeterState,
    TotalPowerSplit,
    UnmanagedLoad,
    ev_draws,
    with_measurements,
)
from custom_components.ev_power_share.core.model import (
    CONNECTIONS,
    Group,
    ModelError,
    Policy,
    Port,
    Site,
    Supply,
    SupplySystem,
    Vehicle,
)

WYE = Supply()
NO_EV = EvDraw()


def _feed(
    est: UnmanagedLoad,
    readings: list[tuple[float, float | None]],
    ev: EvDraw = NO_EV,
) -> list[LoadEstimate]:
    """Feed (time, L1 amps or None) with L2 and L3 at 0."""
    return [
        est.update(None if a is None else MeterSample(t, (a, 0.0, 0.0)), ev, t)
        for t, a in readings
    ]


# -- smoothing, staleness, recovery -------------------------------------------


def test_headroom_shrinks_at_once_and_widens_only_after_the_window() -> None:
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=20.0))
    out = _feed(est, [(0, 10.0), (5, 30.0), (10, 12.0), (15, 12.0), (20, 12.0)])
    assert [o.unmanaged_a[0] for o in out] == [10.0, 30.0, 30.0, 30.0, 30.0]
    # The drop to 12 A came at t=10: it counts from t=30 on, not before.
    out = _feed(est, [(25, 12.0), (30, 12.0), (35, 40.0), (40, 11.0)])
    assert [o.unmanaged_a[0] for o in out] == [30.0, 12.0, 40.0, 40.0]
    assert all(o.state is MeterState.FRESH for o in out)
    assert out[-1].latest_a == (11.0, 0.0, 0.0)


def test_a_short_dip_never_widens_headroom() -> None:
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=30.0))
    readings: list[tuple[float, float | None]] = [(t, 25.0) for t in range(0, 60, 5)]
    readings[6] = (30, 0.0)  # one sample of nothing (a kettle off, a glitch)
    assert {o.unmanaged_a[0] for o in _feed(est, readings)} == {25.0}


def test_no_smoothing_follows_the_meter() -> None:
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=0.0))
    out = _feed(est, [(0, 10.0), (5, 30.0), (10, 12.0)])
    assert [o.unmanaged_a[0] for o in out] == [10.0, 30.0, 12.0]


def test_hold_with_margin_then_fail_then_recover() -> None:
    cfg = MeterConfig(timeout_s=15.0, hold_s=45.0, margin_a=2.0, smoothing_s=10.0)
    est = UnmanagedLoad(WYE, cfg)
    _feed(est, [(0, 20.0)])
    times = range(5, 80, 5)
    states = dict(zip(times, _feed(est, [(t, None) for t in times]), strict=True))
    for t in (5, 10, 15):  # still fresh: the reading is at most 15 s old
        assert states[t].state is MeterState.FRESH
        assert states[t].unmanaged_a == (20.0, 0.0, 0.0)
    for t in (20, 40, 60):  # held, with the margin on every leg
        assert states[t].state is MeterState.HOLDING
        assert states[t].unmanaged_a == (22.0, 2.0, 2.0)
        assert not states[t].problem
    for t in (65, 75):  # 60 s without a fresh reading: failsafe
        assert states[t].state is MeterState.FAILED
        assert states[t].unmanaged_a == (22.0, 2.0, 2.0)  # still never wider
        assert states[t].problem
        assert states[t].age_s == t
    # A fresh reading ends it at once; a lower load still waits for the window.
    back = _feed(est, [(80, 5.0), (85, 5.0), (90, 5.0)])
    assert [o.state for o in back] == [MeterState.FRESH] * 3
    assert [o.unmanaged_a[0] for o in back] == [20.0, 20.0, 5.0]
    assert not back[0].problem


def test_stale_and_repeated_samples_are_ignored() -> None:
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=0.0))
    first = est.update(MeterSample(0.0, (30.0, 30.0, 30.0)), NO_EV, 0.0)
    # A reading 16 s old on arrival, and the same reading again: not new.
    old = est.update(MeterSample(-16.0, (0.0, 0.0, 0.0)), NO_EV, 5.0)
    same = est.update(MeterSample(0.0, (1.0, 1.0, 1.0)), NO_EV, 10.0)
    assert old.unmanaged_a == same.unmanaged_a == first.unmanaged_a
    held = est.update(MeterSample(0.0, (0.0, 0.0, 0.0)), NO_EV, 20.0)
    assert held.state is MeterState.HOLDING
    assert held.unmanaged_a == (32.0, 32.0, 32.0)
    # While stale, a reading from before the last one cannot narrow the hold.
    late = est.update(MeterSample(-1.0, (0.0, 0.0, 0.0)), NO_EV, 21.0)
    assert late.unmanaged_a == (32.0, 32.0, 32.0)


def test_unusable_samples_count_as_unavailable() -> None:
    est = UnmanagedLoad(WYE)
    est.update(MeterSample(0.0, (10.0, 10.0, 10.0)), NO_EV, 0.0)
    nan = est.update(MeterSample(1.0, (math.nan, 0.0, 0.0)), NO_EV, 1.0)
    assert nan.unmanaged_a == (10.0, 10.0, 10.0)
    assert nan.age_s == 1.0
    with pytest.raises(ModelError, match="currents_a"):
        est.update(MeterSample(2.0, (1.0, 2.0)), NO_EV, 2.0)
    with pytest.raises(ModelError, match="sample"):
        MeterSample(0.0)


def test_startup_without_a_reading_fails_safe_but_raises_no_problem_at_once() -> None:
    est = UnmanagedLoad(WYE)
    first = est.update(None, NO_EV, 1000.0)
    assert first.state is MeterState.FAILED
    assert first.unmanaged_a == (0.0, 0.0, 0.0)
    assert first.age_s is None
    assert not first.problem
    assert not est.update(None, NO_EV, 1059.0).problem
    assert est.update(None, NO_EV, 1060.0).problem
    assert est.update(MeterSample(1061.0, (3.0, 0, 0)), NO_EV, 1061.0).state is (
        MeterState.FRESH
    )


def test_clock_going_back_holds_until_a_new_reading() -> None:
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=0.0))
    est.update(MeterSample(100.0, (10.0, 0, 0)), NO_EV, 100.0)
    back = est.update(None, NO_EV, 50.0)
    assert back.state is MeterState.HOLDING
    assert back.unmanaged_a == (12.0, 2.0, 2.0)
    again = est.update(MeterSample(51.0, (4.0, 0, 0)), NO_EV, 52.0)
    assert again.state is MeterState.FRESH
    assert again.unmanaged_a == (4.0, 0.0, 0.0)


def test_export_never_creates_headroom() -> None:
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=0.0))
    out = est.update(MeterSample(0.0, (-20.0, 5.0, -3.0)), EvDraw((10.0, 0, 0)), 0.0)
    assert out.unmanaged_a == (0.0, 5.0, 0.0)


def test_config_is_checked() -> None:
    with pytest.raises(ModelError, match="timeout_s"):
        MeterConfig(timeout_s=0.0)
    with pytest.raises(ModelError, match="margin_a"):
        MeterConfig(margin_a=-1.0)
    with pytest.raises(ModelError, match="power_factor"):
        MeterConfig(power_factor=1.5)


# -- EV subtraction and timing skew -------------------------------------------


def test_ev_current_is_subtracted_per_leg() -> None:
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=0.0))
    out = est.update(
        MeterSample(0.0, (30.0, 26.0, 10.0)), EvDraw((16.0, 16.0, 16.0)), 0.0
    )
    assert out.unmanaged_a == (14.0, 10.0, 0.0)


def test_a_report_is_matched_to_the_reading_of_its_time() -> None:
    """A meter polled late (its sample stamped honestly) is matched to the report
    that was in force then, not to the newest one."""
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=0.0))
    est.update(MeterSample(0.0, (16.0, 0, 0)), EvDraw((16.0, 0, 0)), 0.0)
    est.update(MeterSample(4.0, (16.0, 0, 0)), EvDraw((16.0, 0, 0)), 5.0)
    # The car went to 32 A after t=5; the reading taken at t=9 shows it.
    now = est.update(MeterSample(9.0, (32.0, 0, 0)), EvDraw((32.0, 0, 0)), 10.0)
    assert now.unmanaged_a == (0.0, 0.0, 0.0)  # no phantom load after a raise
    # A reading stamped t=10 but taken before the car slowed down to 6 A.
    late = est.update(MeterSample(10.0, (32.0, 0, 0)), EvDraw((6.0, 0, 0)), 15.0)
    # At t=10 exactly both reports were in force (32 A and 6 A): the safe side.
    assert late.unmanaged_a == (26.0, 0.0, 0.0)


def test_skew_window_never_subtracts_what_a_lagging_meter_has_not_seen() -> None:
    """A car ramps 6 -> 32 A; the meter lags a cycle but stamps its reading on
    arrival. With ``ev_skew_s`` covering the lag, the new report is not taken
    off a reading that does not contain it yet."""
    cfg = MeterConfig(smoothing_s=0.0, ev_skew_s=5.0)
    est = UnmanagedLoad(WYE, cfg)
    house = 20.0
    est.update(MeterSample(0.0, (house + 6.0, 0, 0)), EvDraw((6.0, 0, 0)), 0.0)
    est.update(MeterSample(5.0, (house + 6.0, 0, 0)), EvDraw((6.0, 0, 0)), 5.0)
    ramp = est.update(
        MeterSample(10.0, (house + 6.0, 0, 0)), EvDraw((32.0, 0, 0)), 10.0
    )
    assert ramp.unmanaged_a[0] >= house
    seen = est.update(
        MeterSample(15.0, (house + 32.0, 0, 0)), EvDraw((32.0, 0, 0)), 15.0
    )
    assert seen.unmanaged_a[0] >= house
    settled = est.update(
        MeterSample(20.0, (house + 32.0, 0, 0)), EvDraw((32.0, 0, 0)), 20.0
    )
    assert settled.unmanaged_a[0] == house


def test_a_limit_in_force_caps_what_is_subtracted() -> None:
    """A car told to go from 32 to 10 A whose report still says 32 A: the safe
    estimate subtracts at most 10 A until the report follows."""
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=0.0))
    out = est.update(
        MeterSample(0.0, (40.0, 0, 0)),
        EvDraw((32.0, 0, 0), at_least_a=(10.0, 0, 0)),
        0.0,
    )
    assert out.unmanaged_a == (30.0, 0.0, 0.0)


def test_smoothing_hides_a_report_that_runs_ahead_of_the_meter() -> None:
    """The report shows a ramp the meter has not seen yet (skew not configured):
    the optimistic estimate dips for a cycle, smoothing keeps the load."""
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=15.0))
    for t in (0.0, 5.0, 10.0):
        est.update(MeterSample(t, (26.0, 0, 0)), EvDraw((6.0, 0, 0)), t)
    dip = est.update(MeterSample(15.0, (26.0, 0, 0)), EvDraw((32.0, 0, 0)), 15.0)
    assert dip.latest_a == (0.0, 0.0, 0.0)
    assert dip.unmanaged_a == (20.0, 0.0, 0.0)


def test_a_phantom_after_a_decrease_lasts_one_sample_not_the_window() -> None:
    """The vehicles were told to go from 22 to 12 A; the meter's next value
    (stamped on arrival) still shows 22 A. The safe estimate can't tell a lagging
    meter from 10 A more house load and keeps it for that sample; smoothing
    does not keep it for ``smoothing_s``."""
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=30.0))
    for t in (0.0, 5.0, 10.0):
        est.update(MeterSample(t, (42.0, 0, 0)), EvDraw((22.0, 0, 0)), t)
    doubt = est.update(MeterSample(15.0, (42.0, 0, 0)), EvDraw((12.0, 0, 0)), 15.0)
    assert doubt.unmanaged_a == (30.0, 0.0, 0.0)
    clear = est.update(MeterSample(20.0, (32.0, 0, 0)), EvDraw((12.0, 0, 0)), 20.0)
    assert clear.unmanaged_a == (20.0, 0.0, 0.0)


def _one_car(draw_a: float | None) -> Site:
    return Site(
        groups=(Group("site", rating_a=40.0),),
        ports=(Port("a", "site", ev=Vehicle(draw_a=draw_a, offered_a=16.0)),),
    )


def test_a_chargers_first_report_ends_the_over_estimate_at_once() -> None:
    """At start the charger's current is not reported yet: its 16 A count as
    building load (safe). Its first report is news about the charger, not a
    drop of the building's load: the estimate falls to the 10 A of the house at
    once, not ``smoothing_s`` later."""
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=30.0))
    meter = (26.0, 26.0, 26.0)  # 10 A of house and the car's 16 A
    unknown = ev_draws(_one_car(None))["site"]
    assert unknown.known == frozenset()
    for t in (0.0, 5.0, 10.0):
        before = est.update(MeterSample(t, meter), unknown, t)
        assert before.unmanaged_a == meter
    reported = ev_draws(_one_car(16.0))["site"]
    assert reported.known == frozenset({"a"})
    now = est.update(MeterSample(15.0, meter), reported, 15.0)
    assert now.unmanaged_a == (10.0, 10.0, 10.0)
    # From then on the window smooths as ever: a dip waits for it.
    dip = est.update(MeterSample(20.0, (18.0, 26.0, 26.0)), reported, 20.0)
    assert dip.unmanaged_a == (10.0, 10.0, 10.0)


def test_a_car_that_leaves_does_not_end_the_smoothing() -> None:
    """Only a port known now and unknown before ends older samples: a vehicle
    leaving (its port no longer reported) keeps the window, so a house load that
    drops at the same moment still waits for it."""
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=30.0))
    reported = ev_draws(_one_car(16.0))["site"]
    for t in (0.0, 5.0, 10.0):
        est.update(MeterSample(t, (36.0, 36.0, 36.0)), reported, t)
    gone = ev_draws(
        Site(groups=(Group("site", rating_a=40.0),), ports=(Port("a", "site"),))
    )["site"]
    out = est.update(MeterSample(15.0, (5.0, 5.0, 5.0)), gone, 15.0)
    assert out.unmanaged_a == (20.0, 20.0, 20.0)


# -- meters that give power ---------------------------------------------------


def test_per_leg_power_with_a_power_factor_floor() -> None:
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=0.0, power_factor=0.5))
    out = est.update(MeterSample(0.0, powers_w=(2300.0, 0.0, -2300.0)), NO_EV, 0.0)
    assert out.unmanaged_a == pytest.approx((20.0, 0.0, 0.0))


def test_total_power_counts_on_every_leg_unless_known_balanced() -> None:
    sample = MeterSample(0.0, power_w=6900.0 + 3 * 230.0 * 10.0)
    ev = EvDraw((10.0, 10.0, 10.0), power_w=6900.0)
    worst = UnmanagedLoad(WYE, MeterConfig(smoothing_s=0.0)).update(sample, ev, 0.0)
    assert worst.unmanaged_a == pytest.approx((30.0, 30.0, 30.0))
    balanced = UnmanagedLoad(
        WYE, MeterConfig(smoothing_s=0.0, total_power=TotalPowerSplit.BALANCED)
    ).update(sample, ev, 0.0)
    assert balanced.unmanaged_a == pytest.approx((10.0, 10.0, 10.0))
    # Without the EV power, it is derived from the currents on the safe side.
    derived = UnmanagedLoad(WYE, MeterConfig(smoothing_s=0.0)).update(
        sample, EvDraw((10.0, 10.0, 10.0)), 0.0
    )
    assert min(derived.unmanaged_a) > 30.0


def test_derived_ev_power_is_exact_for_line_to_line_chargers() -> None:
    """16 A through L1 and L2 from a 208 V line-to-line charger is √3 × 120 × 16 W,
    less than 2 × 120 × 16 W: the figure derived from the per-leg currents must
    not over-state it (that would hide building load)."""
    us = Supply(SupplySystem.THREE_PHASE_WYE, 120.0)
    sample = MeterSample(0.0, power_w=math.sqrt(3) * 120.0 * 16.0)
    est = UnmanagedLoad(us, MeterConfig(smoothing_s=0.0))
    out = est.update(sample, EvDraw((16.0, 16.0, 0.0)), 0.0)
    assert out.unmanaged_a == pytest.approx((0.0, 0.0, 0.0), abs=1e-9)


# -- from the site's ports, and back into the site ----------------------------


def _site(*ports: Port, groups: tuple[Group, ...] | None = None) -> Site:
    return Site(
        groups=groups
        or (
            Group("site", rating_a=100.0),
            Group("panel", "site", rating_a=63.0),
            Group("c1", "panel", rating_a=32.0),
            Group("garage", "site", rating_a=40.0),
        ),
        ports=ports,
    )


def test_ev_draws_sums_reports_up_the_tree() -> None:
    site = _site(
        Port("a", "c1", "L2-L3-L1", ev=Vehicle(phases=1, draw_a=10.0, offered_a=8.0)),
        Port("b", "panel", "L1-L2-L3", ev=Vehicle(phases=3, draw_a=6.0)),
        Port("c", "garage", "L1-L2-L3", ev=Vehicle(draw_a=16.0)),
        Port("d", "c1", "L1", online=False, ev=Vehicle(draw_a=16.0)),
        Port("e", "c1", "L1-L2", ev=Vehicle(draw_a=None)),
        Port("f", "garage", "L3-L1", ev=Vehicle(draw_a=0.0)),
    )
    draws = ev_draws(site, {"f": [12.0, 11.5], "c": [16.0, 15.0, 0.0]})
    assert draws["c1"].currents_a == (0.0, 10.0, 0.0)  # a's one phase lands on L2
    assert draws["c1"].at_least_a == (0.0, 8.0, 0.0)  # capped by the limit in force
    assert draws["c1"].power_w == pytest.approx(2300.0)
    assert draws["panel"].currents_a == (6.0, 16.0, 6.0)
    assert draws["garage"].currents_a == (27.5, 15.0, 11.5)
    # f is line to line: 11.5 A through L3 and L1 at 400 V.
    assert draws["garage"].power_w == pytest.approx(
        230.0 * 31.0 + math.sqrt(3) * 230.0 * 11.5
    )
    assert draws["site"].currents_a == (33.5, 31.0, 17.5)


def test_with_measurements_caps_ports_under_a_failed_meter() -> None:
    site = _site(
        Port("a", "c1", failsafe_a=6.0, ev=Vehicle()),
        Port("b", "panel", failsafe_a=0.0, ev=Vehicle()),
        Port("c", "garage", failsafe_a=6.0, ev=Vehicle()),
        Port("d", "c1", failsafe_a=16.0, ev=Vehicle()),
    )
    failed = LoadEstimate((22.0, 2.0, 2.0), MeterState.FAILED, 70.0, True)
    fresh = LoadEstimate((5.0, 5.0, 5.0), MeterState.FRESH, 1.0, False)
    out = with_measurements(site, {"panel": failed, "garage": fresh}, {"d": 8.0})
    groups = {g.id: g for g in out.groups}
    assert groups["panel"].unmanaged_a == (22.0, 2.0, 2.0)
    assert groups["garage"].unmanaged_a == (5.0, 5.0, 5.0)
    assert groups["c1"].unmanaged_a == ()
    caps = {p.id: p.max_a for p in out.ports}
    assert caps == {"a": 6.0, "b": 0.0, "c": 32.0, "d": 8.0}
    result = allocate(out)
    got = {pid: pa.current_a for pid, pa in result.ports.items()}
    assert got == {"a": 6.0, "b": 0.0, "c": 27.0, "d": 8.0}
    with pytest.raises(ModelError, match="unknown group"):
        with_measurements(site, {"nope": fresh})


# -- the acceptance criterion: safety over time --------------------------------

LIMIT_SITE = 64.0  # 80 A × 0.8
LIMIT_C2 = 32.0  # 40 A × 0.8
GROUPS = (
    Group("site", rating_a=80.0),
    Group("c1", "site", rating_a=32.0, continuous_factor=1.0),
    Group("c2", "site", rating_a=40.0),
)
PORT_GROUPS = ("c1", "c1", "c2", "c2", "site")
METERED = ("site", "c2")
CONNS = ("L1-L2-L3", "L2-L3-L1", "L3-L1-L2", "L1", "L2", "L3", "L1-L2", "L3-L1")
INTERVAL = 5.0
EVENTS = ("fresh", "none", "repeat", "old")

# Mostly loads the site can live with, now and then a spike or an overload.
leg = st.sampled_from((5.0, 20.0)) | st.floats(-10.0, 35.0) | st.floats(30.0, 80.0)
legs3 = st.tuples(leg, leg, leg)
vehicle_change = st.one_of(
    st.none(),  # as before
    st.none(),
    st.just("leave"),
    st.tuples(  # phases, and what it draws at most
        st.sampled_from((3, 1)), st.sampled_from((32.0, 16.0)) | st.floats(0.0, 32.0)
    ),
)
meter_setup = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(("currents", "powers", "total")),
        "unsigned": st.booleans(),
        "lag": st.sampled_from((0, 1)),
        "honest": st.booleans(),
        "smoothing_s": st.sampled_from((0.0, 10.0, 30.0)),
        "margin_a": st.sampled_from((0.0, 2.0)),
        "events": st.lists(
            st.sampled_from((4, 8, 12, 20, 1)).map(lambda n: ("fresh", n))
            | st.tuples(st.sampled_from(EVENTS[1:]), st.integers(1, 4))
            | st.tuples(st.just("fresh"), st.integers(1, 12))
            | st.tuples(st.just("none"), st.integers(10, 16)),  # an outage
            min_size=1,
            max_size=8,
        ),
    }
)


@dataclass
class _Meter:
    """One simulated meter and its estimator."""

    setup: dict[str, Any]
    estimator: UnmanagedLoad
    events: list[str]
    contents: list[
        tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...], float]
    ] = field(default_factory=list)
    """Per cycle: true non-EV load, metered currents, per-leg and total power."""
    last: MeterSample | None = None
    seen_load: tuple[float, ...] | None = None
    """True non-EV load in the last reading the estimator could use."""
    seen_at: float | None = None
    last_fresh: tuple[float, ...] | None = None


def _meter(setup: dict[str, Any]) -> _Meter:
    lying = setup["lag"] == 1 and not setup["honest"]
    config = MeterConfig(
        smoothing_s=setup["smoothing_s"],
        margin_a=setup["margin_a"],
        ev_skew_s=INTERVAL if lying else 0.0,
        # Per-leg power of a line-to-line load is V·I·cos 30° on each leg.
        power_factor=0.85 if setup["kind"] == "powers" else 1.0,
    )
    events = ["fresh"] * 2 + [e for e, n in setup["events"] for _ in range(n)]
    return _Meter(setup, UnmanagedLoad(WYE, config), events)


def _reading(m: _Meter, k: int, now: float) -> MeterSample | None:
    """What the meter hands over at cycle ``k``, and what it saw."""
    event = m.events[k % len(m.events)]
    lag = m.setup["lag"]
    if event == "none" or (event == "fresh" and k < lag):
        return None
    if event == "repeat":
        return m.last
    if event == "old":  # a reading delivered long after it was taken: stale
        return MeterSample(now - 20.0, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0)
    load, amps, leg_w, watts = m.contents[k - lag]
    at = now - INTERVAL * lag if m.setup["honest"] else now
    kind = m.setup["kind"]
    if kind == "currents":
        sample = MeterSample(
            at, tuple(abs(a) for a in amps) if m.setup["unsigned"] else amps
        )
    elif kind == "powers":
        sample = MeterSample(at, powers_w=leg_w)
    else:
        sample = MeterSample(at, power_w=watts)
    m.last = sample
    m.seen_load, m.seen_at = load, at
    return sample


def _cycles(vehicles: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    """Control cycles: the house load on the site (None: unchanged), a heat pump
    on c2, and what each of the five vehicles does."""
    return st.lists(
        st.tuples(
            st.none() | legs3,
            st.none() | st.tuples(*[st.floats(0.0, 20.0) | st.floats(0, 40)] * 3),
            st.lists(vehicles, min_size=5, max_size=5),
        ),
        min_size=2,
        max_size=30,
    )


SITE_SETUP: dict[str, st.SearchStrategy[Any]] = {
    "meters": st.lists(meter_setup, min_size=2, max_size=2),
    "connections": st.lists(st.sampled_from(CONNS), min_size=5, max_size=5),
    "failsafes": st.lists(st.sampled_from((0.0, 6.0, 8.0)), min_size=5, max_size=5),
    "policy": st.sampled_from((Policy.EQUAL_SHARE, Policy.FIRST_COME, Policy.PRIORITY)),
}
"""The site's meters, the ports' connections and failsafes, and the policy."""


@settings(max_examples=300, deadline=None)
@given(
    cycles=_cycles(vehicle_change),
    **SITE_SETUP,
)
def test_commanded_current_plus_measured_load_stays_within_limits(
    cycles: list[Any],
    meters: list[dict[str, Any]],
    connections: list[str],
    failsafes: list[float],
    policy: Policy,
) -> None:
    """For any building loads (steps, spikes, export), any meter behaviour (lag,
    unavailable, stale, repeated readings; currents, per-leg or total power) and
    vehicles that come, go and draw what they are given or less: one cycle after
    the meter shows a load, the allocation plus that load is within every limit
    of every group on every leg (all 0 when the load alone breaks it); a stale
    or missing reading never widens headroom; a failed meter caps its ports at
    their failsafe currents."""
    _simulate(cycles, meters, connections, failsafes, policy)


@settings(max_examples=300, deadline=None)
@given(
    cycles=_cycles(vehicle_change),
    **SITE_SETUP,
    silent=st.lists(st.integers(0, 12), min_size=5, max_size=5),
)
def test_limits_hold_while_chargers_have_not_reported_yet(
    cycles: list[Any],
    meters: list[dict[str, Any]],
    connections: list[str],
    failsafes: list[float],
    policy: Policy,
    silent: list[int],
) -> None:
    """The same, with chargers whose draw is not reported for their first
    cycles (``silent``: port i reports from cycle ``silent[i]`` on): their
    current counts as non-EV load until then, and when their first report
    drops the estimate at once, the allocation stays within every limit."""
    _simulate(cycles, meters, connections, failsafes, policy, silent)


@settings(max_examples=300, deadline=None)
@given(
    # Vehicles that take every raise (or leave): none slows down by itself.
    cycles=_cycles(st.none() | st.just("leave")),
    **SITE_SETUP,
    every=st.lists(st.integers(1, 4), min_size=5, max_size=5),
)
def test_limits_hold_while_reports_lag_behind_raises(
    cycles: list[Any],
    meters: list[dict[str, Any]],
    connections: list[str],
    failsafes: list[float],
    policy: Policy,
    every: list[int],
) -> None:
    """The same, with chargers that report their draw only every ``every[i]``
    cycles: after a raise the vehicle draws more while its report still shows
    the lower current (counted as non-EV load), and the later report corrects
    the smoothed samples; the allocation stays within every limit."""
    _simulate(cycles, meters, connections, failsafes, policy, every=every)


def _simulate(
    cycles: list[Any],
    meters: list[dict[str, Any]],
    connections: list[str],
    failsafes: list[float],
    policy: Policy,
    silent: list[int] | None = None,
    every: list[int] | None = None,
) -> None:
    """Run the cycles; port i reports its draw from cycle ``silent[i]`` on, and
    then every ``every[i]`` cycles (what it drew then)."""
    silent = silent or [0] * 5
    every = every or [1] * 5
    last_report: list[tuple[float, ...]] = [(0.0, 0.0, 0.0)] * 5
    sim = dict(zip(METERED, (_meter(s) for s in meters), strict=True))
    for setup in meters:
        if setup["kind"] == "total":  # a total can't tell an exporting leg apart
            cycles = [
                (
                    None if h is None else tuple(max(0.0, a) for a in h),
                    p,
                    v,
                )
                for h, p, v in cycles
            ]
    house: tuple[float, ...] = (0.0, 0.0, 0.0)
    pump: tuple[float, ...] = (0.0, 0.0, 0.0)
    vehicles: list[tuple[int, float] | None] = [(3, 32.0)] * 5
    drawing = [[0.0] * 3 for _ in range(5)]  # per port, per charger phase
    commands = CommandState()
    rotation: RotationState | None = None
    for k, (house_k, pump_k, changes) in enumerate(cycles):
        now = k * INTERVAL
        house = house if house_k is None else house_k
        pump = pump if pump_k is None else pump_k

        # What flows now (vehicles draw what they were commanded last cycle).
        true_load = {
            "site": tuple(h + p for h, p in zip(house, pump, strict=True)),
            "c2": pump,
        }
        for gid, m in sim.items():
            currents, leg_w, watts = _flows(true_load[gid], gid, connections, drawing)
            m.contents.append((true_load[gid], currents, leg_w, watts))

        # The site as the controller sees it.
        for i, change in enumerate(changes):
            if change == "leave":
                vehicles[i] = None
            elif change is not None:
                vehicles[i] = change
        for i in range(5):
            if k % every[i] == 0:
                last_report[i] = tuple(drawing[i])
        ports = []
        for i, gid in enumerate(PORT_GROUPS):
            ev = None
            if vehicles[i] is not None:
                phases, _wants = vehicles[i]  # type: ignore[misc]
                ev = Vehicle(
                    phases=phases,
                    max_a=32.0,
                    draw_a=max(last_report[i]) if k >= silent[i] else None,
                    offered_a=commands.commanded.get(f"p{i}"),
                    arrived_s=float(i),
                    priority=i % 2,
                )
            ports.append(
                Port(f"p{i}", gid, connections[i], 32.0, failsafe_a=failsafes[i], ev=ev)
            )
        site = Site(groups=GROUPS, ports=tuple(ports), policy=policy, now_s=now)
        reported = {f"p{i}": d for i, d in enumerate(last_report) if k >= silent[i]}
        draws = ev_draws(site, reported)
        estimates = {}
        for gid, m in sim.items():
            est = m.estimator.update(_reading(m, k, now), draws[gid], now)
            estimates[gid] = est
            _check_estimate(m, est, now)
        measured = with_measurements(site, estimates)
        result = allocate(measured, rotation)
        rotation = result.rotation
        target = {pid: pa.current_a for pid, pa in result.ports.items()}
        sent, commands = plan_commands(target, commands, now)

        # The limits, against the load the meters have shown.
        _check_limits(site, result.ports, sim, estimates, failsafes)
        for pid, amps in sent.items():
            assert amps <= target[pid] + 1e-5  # quantize forgives 1e-6 A

        # Vehicles follow their commands at once (at most what they want).
        for i in range(5):
            drawing[i] = [0.0, 0.0, 0.0]
            if vehicles[i] is None:
                continue
            phases, wants = vehicles[i]  # type: ignore[misc]
            conn = CONNECTIONS[connections[i]]
            amps = min(sent[f"p{i}"], wants)
            # A line-to-line charger measures its one current in both its legs.
            used = 2 if conn.line_to_line else len(conn.active_legs(phases))
            for phase in range(used):
                drawing[i][phase] = amps


def _flows(
    load: tuple[float, ...],
    gid: str,
    connections: list[str],
    drawing: list[list[float]],
) -> tuple[tuple[float, ...], tuple[float, ...], float]:
    """What a meter on ``gid`` sees: per-leg currents, per-leg and total power."""
    amps = list(load)
    leg_w = [230.0 * a for a in load]
    total_w = sum(leg_w)
    for i, port_group in enumerate(PORT_GROUPS):
        if gid not in {port_group, "site"}:
            continue
        conn = CONNECTIONS[connections[i]]
        for phase, leg in enumerate(conn.legs):
            amps[leg] += drawing[i][phase]
            # A line-to-line load's current is 30° off each leg's voltage.
            leg_w[leg] += (
                230.0
                * drawing[i][phase]
                * (math.cos(math.pi / 6) if conn.line_to_line else 1.0)
            )
        if conn.line_to_line:
            total_w += math.sqrt(3) * 230.0 * drawing[i][0]
        else:
            total_w += 230.0 * sum(drawing[i])
    return tuple(amps), tuple(leg_w), total_w


def _check_estimate(m: _Meter, est: LoadEstimate, now: float) -> None:
    cfg = m.estimator.config
    if m.seen_at is None:
        expected = MeterState.FAILED
    elif now - m.seen_at <= cfg.timeout_s:
        expected = MeterState.FRESH
    elif now - m.seen_at <= cfg.timeout_s + cfg.hold_s:
        expected = MeterState.HOLDING
    else:
        expected = MeterState.FAILED
    assert est.state is expected
    assert all(a >= 0.0 for a in est.unmanaged_a)
    if est.state is MeterState.FRESH:
        m.last_fresh = est.unmanaged_a
    elif m.last_fresh is not None:  # never wider than the last fresh estimate
        for held, fresh in zip(est.unmanaged_a, m.last_fresh, strict=True):
            assert held >= fresh + cfg.margin_a - 1e-9


def _check_limits(
    site: Site,
    ports: Any,
    sim: dict[str, _Meter],
    estimates: dict[str, LoadEstimate],
    failsafes: list[float],
) -> None:
    ev = {g.id: [0.0, 0.0, 0.0] for g in site.groups}
    for port in site.ports:
        pa = ports[port.id]
        for group in site.ancestors(port.group):
            for leg in pa.legs:
                ev[group.id][leg] += pa.current_a
        failed = [
            g.id
            for g in site.ancestors(port.group)
            if g.id in estimates and estimates[g.id].state is MeterState.FAILED
        ]
        if failed:
            assert pa.current_a <= failsafes[int(port.id[1:])] + 1e-9, failed
    for group in site.groups:
        limit = group.limit_a
        assert limit is not None
        m = sim.get(group.id)
        load = m.seen_load if m is not None else (0.0, 0.0, 0.0)
        if load is None:  # no reading yet: only the failsafe caps hold
            continue
        for leg in range(3):
            amps = ev[group.id][leg]
            assert amps <= 1e-9 or load[leg] + amps <= limit + 0.01, (
                group.id,
                leg,
                load,
                ev[group.id],
                estimates.get(group.id),
            )


def test_simulation_replays_a_known_step() -> None:
    """The property test's set-up, by hand: a step in the house load is taken
    off the vehicles in the cycle that measures it."""
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=30.0))
    site = Site(
        groups=(Group("site", rating_a=40.0),),
        ports=(Port("a", "site", ev=Vehicle(draw_a=16.0, offered_a=16.0)),),
    )
    draws = ev_draws(site)
    quiet = est.update(MeterSample(0.0, (26.0, 26.0, 16.0)), draws["site"], 0.0)
    assert quiet.unmanaged_a == (10.0, 10.0, 0.0)
    got = allocate(with_measurements(site, {"site": quiet})).ports["a"].current_a
    assert got == 22.0
    step = est.update(MeterSample(5.0, (16.0 + 30.0, 26.0, 16.0)), draws["site"], 5.0)
    got = allocate(with_measurements(site, {"site": step})).ports["a"].current_a
    assert got == 0.0  # 32 - 30 = 2 A is below the minimum: paused


@pytest.mark.parametrize(
    ("stamped_early_s", "lags", "skew_s"),
    [
        (0.0, False, 0.0),
        (2.0, False, 0.0),
        (4.0, False, 0.0),
        (0.0, True, 0.0),
        (0.0, True, INTERVAL),
    ],
)
def test_a_binding_limit_settles_without_hunting(
    stamped_early_s: float, lags: bool, skew_s: float
) -> None:
    """A 32 A limit with 10 A of house load and two vehicles that want all of
    it; the meter is read up to a cycle late and stamped when taken, or its
    value lags a cycle behind its stamp (with or without ``ev_skew_s`` for
    it): the vehicles get the 22 A left and keep it (no phantom load after an
    increase making the allocation go down and up again)."""
    est = UnmanagedLoad(WYE, MeterConfig(ev_skew_s=skew_s))
    commands = CommandState()
    drawing = {"a": 0.0, "b": 0.0}
    before = 10.0
    history = []
    for k in range(30):
        now = k * INTERVAL
        site = Site(
            groups=(Group("site", rating_a=40.0),),
            ports=tuple(
                Port(
                    pid,
                    "site",
                    ev=Vehicle(
                        draw_a=drawing[pid], offered_a=commands.commanded.get(pid)
                    ),
                )
                for pid in ("a", "b")
            ),
            now_s=now,
        )
        total = 10.0 + sum(drawing.values())
        seen = before if lags else total
        before = total
        sample = MeterSample(now - stamped_early_s, (seen, seen, seen))
        estimate = est.update(sample, ev_draws(site)["site"], now)
        result = allocate(with_measurements(site, {"site": estimate}))
        target = {pid: pa.current_a for pid, pa in result.ports.items()}
        sent, commands = plan_commands(target, commands, now)
        history.append(dict(sent))
        drawing = dict(sent)
    assert history[-1] == {"a": 11.0, "b": 11.0}
    assert all(h == history[-1] for h in history[5:])


def _car(draw_a: float, offered_a: float | None) -> EvDraw:
    site = Site(
        groups=(Group("site", rating_a=40.0),),
        ports=(Port("a", "site", ev=Vehicle(draw_a=draw_a, offered_a=offered_a)),),
    )
    return ev_draws(site)["site"]


def _ramp_behind_its_report(
    est: UnmanagedLoad, start_s: float, before_a: float, offer_a: float
) -> list[tuple[float, ...]]:
    """From ``start_s`` the car is offered ``offer_a`` and draws it, while its
    reports (every 10 s) still say ``before_a`` until ``start_s + 10``; the
    meter (every 2 s) shows it over 3 A of house load. The estimates, per cycle."""
    out = []
    for k in range(1, 21):
        t = start_s + 2.0 * k
        reported = before_a if t < start_s + 10.0 else offer_a
        meter = (3.0 + offer_a,) * 3
        out.append(est.update(MeterSample(t, meter), _car(reported, offer_a), t))
    return [e.unmanaged_a for e in out]


def test_a_report_after_a_raise_ends_the_over_estimate_at_once() -> None:
    """(b) The car is raised from 6 to 16 A and follows it; its report lags
    (every 10 s). Until the report the meter's rise counts as house load (the
    safe side: it could be); the report that shows the car drawing it corrects
    the smoothed samples, so the estimate falls to the 3 A of the house at once,
    not ``smoothing_s`` later."""
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=30.0))
    for t in (0.0, 2.0, 4.0, 6.0, 8.0, 10.0):
        quiet = est.update(MeterSample(t, (9.0, 9.0, 9.0)), _car(6.0, 6.0), t)
    assert quiet.unmanaged_a == (3.0, 3.0, 3.0)
    got = _ramp_behind_its_report(est, 10.0, 6.0, 16.0)
    assert got[:4] == [(13.0, 13.0, 13.0)] * 4  # t = 12..18: in doubt
    assert got[4:] == [(3.0, 3.0, 3.0)] * 16  # from the report at t = 20 on


def test_a_report_after_start_up_ends_the_over_estimate_at_once() -> None:
    """(a) At start-up the charger reports 0 A (sent before the car drew); then
    it is offered 16 A and the car draws them, while its reports lag. The report
    that shows it ends the over-estimate at once (the port was known all along,
    so the first-report rule does not apply)."""
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=30.0))
    start = est.update(MeterSample(0.0, (3.0, 3.0, 3.0)), _car(0.0, None), 0.0)
    assert start.unmanaged_a == (3.0, 3.0, 3.0)
    got = _ramp_behind_its_report(est, 0.0, 0.0, 16.0)
    assert got[:4] == [(19.0, 19.0, 19.0)] * 4
    assert got[4:] == [(3.0, 3.0, 3.0)] * 16


def test_a_later_report_corrects_no_more_than_the_limit_in_force() -> None:
    """A sample is corrected only by what the port could have drawn then: a
    later report that answers a later raise leaves a house load seen before it
    in the window."""
    est = UnmanagedLoad(WYE, MeterConfig(smoothing_s=30.0))
    for t in (0.0, 2.0, 4.0):
        est.update(MeterSample(t, (9.0, 9.0, 9.0)), _car(6.0, 6.0), t)
    # 8 A more house load for one sample, the car held at 6 A (its limit).
    est.update(MeterSample(6.0, (17.0, 17.0, 17.0)), _car(6.0, 6.0), 6.0)
    est.update(MeterSample(8.0, (9.0, 9.0, 9.0)), _car(6.0, 6.0), 8.0)
    # Raised to 16 A after it; the report shows it at once.
    out = est.update(MeterSample(10.0, (19.0, 19.0, 19.0)), _car(16.0, 16.0), 10.0)
    assert out.unmanaged_a == (11.0, 11.0, 11.0)  # the 8 A spike stays smoothed
