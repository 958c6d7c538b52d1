"""Solar surplus charging: the controller's rules, cycle by cycle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
import itertools
import math

from hypothesis import given, settings, strategies as st

from custom_components.ev_power_share.core.model import Group, Port, Site, Vehicle
from custom_components.ev_power_share.core.solar import (
    ChargeMode,
    SolarController,
    SolarPort,
    SolarSettings,
    SolarState,
    apply_caps,
    drawn_power_w,
    solar_port,
    solar_ports,
)

STEP = 5.0
WPA_3P = 3 * 230.0
S = SolarSettings()


def port(
    pid: str = "a", mode: ChargeMode = ChargeMode.SOLAR, phases: int = 3
) -> SolarPort:
    return SolarPort(pid, mode, phases * 230.0, min_a=6.0, max_a=16.0)


def drive(
    ctrl: SolarController,
    ports: Sequence[SolarPort],
    surplus: Callable[[float], float | None],
    start: float,
    end: float,
) -> list[tuple[float, dict[str, float]]]:
    """Run cycles from ``start`` to ``end``; vehicles draw their cap at once.

    ``surplus(t)`` is the export without the vehicles (W); None: no meter reading.
    """
    draws = dict.fromkeys((p.id for p in ports), 0.0)
    wpa = {p.id: p.watts_per_amp for p in ports}
    out = []
    t = start
    while t < end - 1e-9:
        ev_w = {pid: amps * wpa[pid] for pid, amps in draws.items()}
        value = surplus(t)
        grid = None if value is None else -value + sum(ev_w.values())
        caps = dict(ctrl.update(t, grid, ev_w, ports).caps)
        out.append((t, caps))
        draws = {pid: caps.get(pid, 0.0) for pid in draws}
        t += STEP
    return out


def cap_at(
    history: list[tuple[float, dict[str, float]]], t: float, pid: str = "a"
) -> float:
    return next(caps[pid] for at, caps in history if at >= t - 1e-9)


def test_solar_port_starts_after_the_enable_delay() -> None:
    ctrl = SolarController()
    history = drive(ctrl, [port()], lambda _t: 5000.0, 0.0, 120.0)
    first = next(t for t, caps in history if caps["a"] > 0)
    assert first == S.enable_delay_s
    assert cap_at(history, first) == 7.0  # 5000 W / 690 W per A, rounded down
    assert all(caps["a"] == 0.0 for t, caps in history if t < first)


def test_surplus_below_the_minimum_power_never_starts() -> None:
    ctrl = SolarController()
    short = 6 * WPA_3P - S.round_up_w - 10.0
    history = drive(ctrl, [port()], lambda _t: short, 0.0, 1800.0)
    assert all(caps["a"] == 0.0 for _, caps in history)
    strict = SolarController(SolarSettings(round_up_w=0.0))
    history = drive(strict, [port()], lambda _t: 6 * WPA_3P - 10.0, 0.0, 1800.0)
    assert all(caps["a"] == 0.0 for _, caps in history)


def test_round_up_allowance_starts_and_steps_up_within_it() -> None:
    """Within ``round_up_w`` of the next step the cap rounds up (and stays): the
    import it causes is at most the allowance."""
    assert S.round_up_w > 0
    ctrl = SolarController()
    # Just short of the minimum power: starts at the minimum and keeps it.
    near_min = 6 * WPA_3P - S.round_up_w + 20.0
    history = drive(ctrl, [port()], lambda _t: near_min, 0.0, 1800.0)
    assert cap_at(history, S.enable_delay_s) == 6.0
    assert {c["a"] for t, c in history if t >= S.enable_delay_s} == {6.0}
    # Just short of 8 A: 8 A, not 7.
    near_8 = 8 * WPA_3P - S.round_up_w + 20.0
    history = drive(ctrl, [port()], lambda _t: near_8, 1800.0, 2400.0)
    assert cap_at(history, 2395.0) == 8.0
    assert 8 * WPA_3P - near_8 <= S.round_up_w
    # Without the allowance: floor.
    strict = SolarController(SolarSettings(round_up_w=0.0))
    history = drive(strict, [port()], lambda _t: near_8, 0.0, 600.0)
    assert cap_at(history, 595.0) == 7.0


def test_minimum_through_a_cloud_then_stop_after_the_disable_delay() -> None:
    ctrl = SolarController()
    cloud = 600.0
    history = drive(ctrl, [port()], lambda t: 5000.0 if t < cloud else 1000.0, 0, 1200)
    assert cap_at(history, cloud - STEP) == 7.0
    # Cut to the minimum within a few cycles, held until the disable delay ...
    assert cap_at(history, cloud + 30.0) == 6.0
    assert cap_at(history, cloud + S.disable_delay_s - STEP) == 6.0
    # ... counted from when the import began, then stopped.
    assert cap_at(history, cloud + S.disable_delay_s) == 0.0
    assert all(caps["a"] == 0.0 for t, caps in history if t > cloud + 300)


def test_a_short_cloud_is_ridden_through() -> None:
    ctrl = SolarController()
    history = drive(
        ctrl,
        [port()],
        lambda t: 1000.0 if 600 <= t < 720 else 9000.0,
        0.0,
        1500.0,
    )
    after_start = [caps["a"] for t, caps in history if t >= S.enable_delay_s]
    assert min(after_start) == 6.0  # never paused
    assert cap_at(history, 1400.0) == 13.0  # back up once the sun stayed
    changes = sum(1 for x, y in itertools.pairwise(after_start) if x != y)
    assert changes <= 3  # down once (maybe twice), up once: no staircase


def test_noise_does_not_move_the_cap() -> None:
    """±150 W of noise and a fridge around a steady 7.4 kW: one cap, no hunting."""
    ctrl = SolarController()

    def noisy(t: float) -> float:
        fridge = 95.0 if (t // 900) % 3 == 0 else 0.0
        return 7400.0 - fridge + 150.0 * math.sin(t * 0.7) * math.cos(t * 0.13)

    history = drive(ctrl, [port()], noisy, 0.0, 3600.0)
    caps = [c["a"] for t, c in history if t >= 120]
    assert set(caps) == {10.0}


def test_increase_is_limited_by_the_ramp() -> None:
    ctrl = SolarController(SolarSettings(ramp_up_a=3.0))
    history = drive(ctrl, [port()], lambda t: 4500.0 if t < 300 else 20000.0, 0, 900)
    caps = [c["a"] for _, c in history]
    assert max(b - a for a, b in itertools.pairwise(caps) if a > 0) <= 3.0
    assert caps[-1] == 16.0


def test_min_solar_keeps_the_minimum_and_adds_surplus() -> None:
    ctrl = SolarController()
    p = port(mode=ChargeMode.MIN_SOLAR)
    dark = drive(ctrl, [p], lambda _t: -300.0, 0.0, 600.0)
    assert {c["a"] for _, c in dark} == {6.0}
    sunny = drive(ctrl, [p], lambda _t: 7100.0, 600.0, 1200.0)
    assert cap_at(sunny, 1195.0) == 10.0


def test_off_is_zero_and_fast_is_not_capped() -> None:
    ctrl = SolarController()
    ports = [port("off", ChargeMode.OFF), port("fast", ChargeMode.FAST)]
    decision = ctrl.update(0.0, -5000.0, {}, ports)
    assert decision.caps == {"off": 0.0}
    assert decision.ports["off"].state is SolarState.OFF


def test_battery_discharge_is_not_surplus_unless_allowed() -> None:
    ports = [port()]
    # Exporting 1 kW while the EV draws 4.14 kW and the battery gives 2 kW.
    strict = SolarController().update(0.0, -1000.0, {"a": 4140.0}, ports, 2000.0)
    assert strict.surplus_w == 4140.0 + 1000.0 - 2000.0
    lax = SolarController(SolarSettings(battery_discharge_is_surplus=True))
    assert lax.update(0.0, -1000.0, {"a": 4140.0}, ports, 2000.0).surplus_w == 5140.0


def test_missing_meter_reading_shrinks_caps_and_stops() -> None:
    ctrl = SolarController()
    history = drive(ctrl, [port()], lambda t: 8000.0 if t < 600 else None, 0.0, 1200.0)
    assert cap_at(history, 595.0) == 11.0
    lost = [c["a"] for t, c in history if t >= 600]
    assert all(b <= a for a, b in itertools.pairwise(lost))  # never up
    assert lost[-1] == 0.0


def test_second_port_starts_only_when_the_first_has_a_useful_current() -> None:
    ctrl = SolarController()
    ports = [port("a"), port("b")]
    # 9 kW: one vehicle at 13 A; the other would need 4.14 kW beyond 10 A of a.
    history = drive(ctrl, ports, lambda _t: 9000.0, 0.0, 900.0)
    assert history[-1][1] == {"a": 13.0, "b": 0.0}
    # 12 kW: b starts; a makes room at once, then they fill in start order.
    more = drive(ctrl, ports, lambda _t: 12000.0, 900.0, 1800.0)
    first_b = next(t for t, caps in more if caps["b"] > 0)
    a_then, b_then = cap_at(more, first_b, "a"), cap_at(more, first_b, "b")
    assert (a_then + b_then) * WPA_3P <= 12000.0
    assert more[-1][1] == {"a": 11.0, "b": 6.0}
    # Less sun: b (started last) is cut first and stops; a keeps charging.
    less = drive(ctrl, ports, lambda _t: 7000.0, 1800.0, 2400.0)
    assert less[-1][1] == {"a": 10.0, "b": 0.0}


def test_solar_ports_from_a_site() -> None:
    site = Site(
        groups=(Group("site", rating_a=63.0),),
        ports=(
            Port(
                "p1", "site", "L1-L2-L3", max_a=32.0, ev=Vehicle(phases=1, max_a=16.0)
            ),
            Port("p2", "site", "L1-L2", max_a=32.0, ev=Vehicle(phases=1)),
            Port("p3", "site", max_a=32.0),
        ),
        min_current_a=8.0,
    )
    modes = {"p1": ChargeMode.SOLAR, "p2": ChargeMode.MIN_SOLAR, "p3": ChargeMode.SOLAR}
    found = {p.id: p for p in solar_ports(site, modes)}
    assert set(found) == {"p1", "p2"}  # p3 has no vehicle
    assert found["p1"].watts_per_amp == 230.0  # one phase of a 3-phase charger
    assert found["p1"].max_a == 16.0
    assert found["p1"].min_a == 8.0
    assert math.isclose(found["p2"].watts_per_amp, math.sqrt(3) * 230.0)
    assert solar_port(site.ports[2], site.supply, ChargeMode.SOLAR, 6.0) is None


def test_caps_and_draws_on_a_site() -> None:
    site = Site(
        groups=(Group("site", rating_a=63.0),),
        ports=(
            Port("a", "site", max_a=32.0, ev=Vehicle(max_a=32.0, draw_a=10.0)),
            Port("b", "site", "L2", max_a=32.0, ev=Vehicle(phases=1, max_a=16.0)),
            Port("c", "site", max_a=32.0),
        ),
    )
    assert drawn_power_w(site, ["a", "b", "c"]) == {"a": 6900.0, "b": 0.0, "c": 0.0}
    capped = apply_caps(site, {"a": 12.0, "b": 20.0, "c": 0.0})
    maxima = {p.id: None if p.ev is None else p.ev.max_a for p in capped.ports}
    assert maxima == {"a": 12.0, "b": 16.0, "c": None}  # lowered, never raised
    assert apply_caps(site, {}) is site


segments = st.lists(
    st.tuples(st.floats(-3000.0, 15000.0), st.integers(1, 60)), min_size=1, max_size=12
)
port_specs = st.lists(
    st.tuples(
        st.sampled_from(list(ChargeMode)),
        st.sampled_from([1, 3]),
        st.sampled_from([6.0, 8.0]),
        st.sampled_from([10.0, 16.0, 32.0]),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(
    segments=segments,
    specs=port_specs,
    missing=st.booleans(),
    round_up=st.sampled_from([0.0, S.round_up_w, 400.0]),
)
def test_caps_are_zero_or_within_bounds_in_whole_steps(
    segments: list[tuple[float, int]],
    specs: list[tuple[ChargeMode, int, float, float]],
    missing: bool,
    round_up: float,
) -> None:
    """Whatever the sun does: every cap is 0 or a whole amp in [min, max];
    ``min_solar`` never pauses, ``off`` never charges, no cap rises by more than
    the ramp in a cycle, and the same inputs give the same caps."""
    ports = [
        SolarPort(f"p{i}", mode, phases * 230.0, lo, hi)
        for i, (mode, phases, lo, hi) in enumerate(specs)
    ]
    times: list[float | None] = []
    for level, cycles in segments:
        times.extend([level] * cycles)
    if missing:
        times[len(times) // 2] = None

    def surplus(t: float) -> float | None:
        return times[min(len(times) - 1, int(t / STEP))]

    tuning = SolarSettings(round_up_w=round_up)
    one = drive(SolarController(tuning), ports, surplus, 0.0, len(times) * STEP)
    two = drive(SolarController(tuning), ports, surplus, 0.0, len(times) * STEP)
    assert one == two
    before: dict[str, float] = {}
    for _, caps in one:
        for p in ports:
            if p.mode in (ChargeMode.FAST, ChargeMode.SCHEDULED):
                assert p.id not in caps
                continue
            cap = caps[p.id]
            if p.mode is ChargeMode.OFF:
                assert cap == 0.0
                continue
            assert cap == 0.0 or p.min_a <= cap <= p.max_a
            assert cap == round(cap)
            if p.mode is ChargeMode.MIN_SOLAR:
                assert cap >= p.min_a
            if p.id in before and before[p.id] > 0:
                assert cap - before[p.id] <= S.ramp_up_a
            before[p.id] = cap
