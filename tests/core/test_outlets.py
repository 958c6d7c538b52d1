"""Smart outlets, without Home Assistant: how one is counted, when it switches,
its energy; and, over simulated cycles with relays that lag, ignore commands or
go unavailable, that the circuit's limit always holds (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, replace
import math

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ev_power_share.core.allocator import RotationState, allocate
from custom_components.ev_power_share.core.commands import (
    CommandState,
    Held,
    PortSteps,
    plan_commands,
)
from custom_components.ev_power_share.core.model import (
    Group,
    Port,
    Site,
    Supply,
    SupplySystem,
)
from custom_components.ev_power_share.core.outlets import (
    CONFIRM_S,
    MAX_GAP_S,
    RETRY_S,
    Asked,
    EnergyCounter,
    OutletConfig,
    OutletMemory,
    OutletSample,
    asked_to,
    may_switch_on,
    measured_a,
    observe,
    outlet_reading,
    port_state,
    session_kwh,
    switch_for,
    switch_to,
)

EU = Supply(SupplySystem.THREE_PHASE_WYE, 230.0)
US = Supply(SupplySystem.SPLIT_PHASE, 120.0)
OUTLET = OutletConfig(
    id="sub1",
    name="Garage",
    group="c",
    connection="L1",
    switch="switch.garage",
    nominal_a=10.0,
    power_entity="sensor.garage_power",
    min_on_s=300.0,
    min_off_s=300.0,
)
NOW = 10_000.0


def _read(sample: OutletSample, memory: OutletMemory | None = None, **kw: object):  # type: ignore[no-untyped-def]
    config = replace(OUTLET, **kw)  # type: ignore[arg-type]
    return outlet_reading(config, EU, sample, memory or OutletMemory(), NOW)


def test_on_counts_its_whole_current_measured_above_the_nominal() -> None:
    reading = _read(OutletSample(True, NOW - 600.0, power_w=14.0 * 230.0))
    assert reading.port.online
    assert reading.port.min_a == reading.port.max_a == pytest.approx(14.0)
    assert not reading.port.pinned  # on for 10 min: past its minimum on-time
    assert reading.held == Held(10.0, NOW - 600.0)  # whole steps of the nominal
    # Below the nominal: the nominal still (nothing limits what the load draws).
    low = _read(OutletSample(True, NOW - 600.0, power_w=300.0))
    assert low.port.min_a == 10.0
    assert low.measured_a == pytest.approx(300.0 / 230.0)


def test_within_its_minimum_on_time_it_is_pinned() -> None:
    assert _read(OutletSample(True, NOW - 60.0)).port.pinned
    assert not _read(OutletSample(True, NOW - 300.0)).port.pinned


def test_off_counts_nothing_and_rests_for_its_minimum_off_time() -> None:
    resting = _read(OutletSample(False, NOW - 60.0, power_w=0.0))
    assert resting.port.online
    assert resting.port.ev is None
    assert resting.held == Held(0.0, NOW - 60.0)
    asking = _read(OutletSample(False, NOW - 301.0))
    assert asking.port.ev is not None
    assert asking.port.min_a == 10.0
    assert asking.measured_a == 0.0  # known off


@pytest.mark.parametrize("power_w", [None, math.nan, -5.0, 1e9])
def test_unknown_switch_is_offline_at_its_nominal_or_last_measured(
    power_w: float | None,
) -> None:
    reading = _read(OutletSample(None, power_w=power_w))
    assert not reading.port.online
    assert reading.port.failsafe_a == 10.0
    assert reading.held is None
    remembered = _read(OutletSample(None), OutletMemory(recent_a=13.0))
    assert remembered.port.failsafe_a == 13.0


def test_a_sensor_gone_while_on_counts_the_last_measured() -> None:
    reading = _read(OutletSample(True, NOW - 600.0), OutletMemory(recent_a=12.5))
    assert reading.port.online
    assert reading.port.min_a == 12.5


def test_off_but_drawing_is_a_stuck_relay_counted_offline() -> None:
    reading = _read(OutletSample(False, NOW - 600.0, power_w=2300.0))
    assert not reading.port.online
    assert reading.port.failsafe_a == 10.0


def test_asked_off_and_still_on_disobeys_after_confirm_s() -> None:
    sample = OutletSample(True, NOW - 600.0)
    memory = OutletMemory()
    asked_to(memory, False, NOW - CONFIRM_S + 1.0)
    assert _read(sample, memory).port.online
    memory = OutletMemory()
    asked_to(memory, False, NOW - CONFIRM_S)
    asked_to(memory, False, NOW - 1.0)  # asked again: it still disobeys
    assert not _read(sample, memory).port.online
    asked_to(memory, True, NOW)
    assert _read(sample, memory).port.online


def test_split_phase_outlet_converts_power_line_to_line() -> None:
    config = replace(OUTLET, connection="L1-L2", nominal_a=16.0)
    assert measured_a(config, US, 240.0 * 12.0) == pytest.approx(12.0)
    reading = outlet_reading(config, US, OutletSample(True, 0.0), OutletMemory(), NOW)
    assert reading.port.ev is not None
    assert reading.port.ev.phases == 2


def test_switch_to_asks_once_per_retry() -> None:
    off, on = OutletSample(False, 0.0), OutletSample(True, 0.0)
    assert switch_to(True, off, OutletMemory(), NOW)
    assert not switch_to(True, on, OutletMemory(), NOW)
    recently = OutletMemory(asked=Asked(True, NOW - RETRY_S + 1))
    assert not switch_to(True, off, recently, NOW)
    assert switch_to(True, off, OutletMemory(asked=Asked(True, NOW - RETRY_S)), NOW)
    assert switch_to(False, on, OutletMemory(asked=Asked(True, NOW)), NOW)


def test_an_on_that_may_still_land_is_countermanded_and_held() -> None:
    """Asked on, not on yet, then wanted off: off is sent although it shows off,
    and until CONFIRM_S after the on it holds its whole current (the others'
    increases wait)."""
    memory = OutletMemory()
    asked_to(memory, True, NOW - 5.0)
    off = OutletSample(False, NOW - 600.0)
    assert switch_to(False, off, memory, NOW)
    asked_to(memory, False, NOW)
    assert not switch_to(False, off, memory, NOW + 1.0)  # sent once
    assert _read(off, memory).held == Held(10.0, NOW - 600.0)
    late = outlet_reading(OUTLET, EU, off, memory, NOW - 5.0 + CONFIRM_S)
    assert late.held == Held(0.0, NOW - 600.0)


def test_port_state() -> None:
    assert port_state(_read(OutletSample(None)), True) == "unavailable"
    assert port_state(_read(OutletSample(False, 0.0)), True) == "off"
    on = OutletSample(True, 0.0, power_w=2000.0)
    assert port_state(_read(on), True) == "charging"
    assert port_state(_read(replace(on, power_w=2.0)), True) == "connected"
    assert port_state(_read(OutletSample(True, 0.0), power_entity=None), False) == (
        "charging"
    )


def test_energy_from_its_sensor_never_decreases() -> None:
    counter = EnergyCounter()
    for kwh in (100.0, 101.0, 100.95, 2.0, 3.0):  # noise, then a reset
        counter.sensor(kwh)
    assert counter.total_kwh == pytest.approx(101.0 + 3.0)


def test_energy_from_power_trapezoids_and_gaps() -> None:
    counter = EnergyCounter()
    counter.power(0.0, 0.0)
    counter.power(3600.0, 60.0)  # 30 W·h
    counter.power(3600.0, 120.0)  # 60 W·h
    assert counter.total_kwh == pytest.approx(0.09)
    counter.power(3600.0, 120.0 + MAX_GAP_S + 1)  # a gap: not integrated
    counter.power(None, 400.0)
    counter.power(3600.0, 410.0)
    assert counter.total_kwh == pytest.approx(0.09)


def test_energy_from_the_nominal_while_on_and_the_session() -> None:
    config = replace(OUTLET, power_entity=None)
    memory = OutletMemory()
    observe(config, EU, OutletSample(False, 0.0), memory, 0.0)
    observe(config, EU, OutletSample(True, 0.0), memory, 60.0)  # on: 2300 W
    observe(config, EU, OutletSample(True, 0.0), memory, 120.0)
    assert memory.energy.total_kwh == pytest.approx(2300.0 / 60.0 / 1000.0 * 1.5)
    # The session: from the first sample it was seen on.
    assert session_kwh(memory) == pytest.approx(2300.0 / 60.0 / 1000.0)


@settings(max_examples=300, deadline=None)
@given(
    readings=st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(-10.0, 1e6), st.just(math.nan)),
            st.floats(0.0, 400.0),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_energy_never_decreases(
    readings: list[tuple[float | None, float, bool]],
) -> None:
    counter = EnergyCounter()
    now, last = 0.0, 0.0
    for value, step, from_sensor in readings:
        now += step
        if from_sensor and value is not None and value >= 0 and math.isfinite(value):
            counter.sensor(value)
        else:
            ok = value is not None and math.isfinite(value) and value >= 0
            counter.power(value if ok else None, now)
        total = counter.total_kwh or 0.0
        assert math.isfinite(total)
        assert total >= last
        last = total


samples = st.builds(
    OutletSample,
    on=st.sampled_from([True, False, None]),
    changed_at=st.floats(NOW - 1000.0, NOW),
    power_w=st.one_of(
        st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 5000)
    ),
)


@settings(max_examples=500, deadline=None)
@given(
    sample=samples,
    recent=st.one_of(st.none(), st.floats(0.0, 40.0)),
    asks=st.lists(st.tuples(st.booleans(), st.floats(NOW - 100.0, NOW)), max_size=3),
    nominal=st.sampled_from([6.0, 10.0, 12.0, 16.0]),
)
def test_never_counted_below_what_it_may_draw(
    sample: OutletSample,
    recent: float | None,
    asks: list[tuple[bool, float]],
    nominal: float,
) -> None:
    """What it may draw: nothing only while it is known off and measures
    nothing; else its nominal, or what it measures (now, or last while on) if
    higher. Offline it is counted at that; online (on) it is given all of it or
    switched off; online (off) it is switched on only with all of its nominal."""
    memory = OutletMemory(recent_a=recent)
    for on, at in sorted(asks, key=lambda a: a[1]):
        asked_to(memory, on, at)
    config = replace(OUTLET, nominal_a=nominal)
    reading = outlet_reading(config, EU, sample, memory, NOW)
    amps = measured_a(config, EU, sample.power_w)
    port = reading.port
    if sample.on is False and (amps or 0.0) <= 0.5:
        assert port.online
        # Nothing, unless asked on lately: it may switch on yet.
        held = nominal if may_switch_on(memory, NOW) else 0.0
        assert reading.held == Held(held, sample.changed_at)
        assert port.min_a == nominal  # switched on only with all of it
        return
    may_draw = max(nominal, amps if amps is not None else (recent or 0.0))
    if not port.online:
        assert port.failsafe_a is not None
        assert port.failsafe_a >= may_draw - 1e-9
        return
    assert sample.on is True
    assert port.min_a is not None
    assert port.min_a >= may_draw - 1e-9
    assert port.max_a == port.min_a
    assert reading.held is not None
    assert reading.held.amps > 0


# -- over simulated cycles --------------------------------------------------


@dataclass
class Relay:
    """A smart plug: its relay, what Home Assistant shows, its load."""

    on: bool = False
    shown: bool | None = False  # None: unavailable
    changed_at: float = 0.0
    pending: tuple[bool, float] | None = None
    """A command, and when it takes effect."""


@st.composite
def relay_behaviour(draw: st.DrawFn) -> dict[str, object]:
    return {
        # A relay acts within CONFIRM_S of being asked, or never.
        "delay": draw(st.sampled_from([0.0, 2.0, 7.0, 25.0])),
        "ignores": draw(st.sampled_from(["none", "none", "on", "off"])),
        "unavailable": draw(st.lists(st.integers(0, 80), max_size=3)),
        "sensor": draw(st.booleans()),
        "load": draw(st.sampled_from([1.0, 0.8, 0.0])),
        "nominal": draw(st.sampled_from([8.0, 10.0, 12.0])),
    }


INTERVAL_S = 5.0


@settings(max_examples=80, deadline=None)
@given(
    behaviours=st.lists(relay_behaviour(), min_size=2, max_size=4),
    rating=st.sampled_from([10.0, 16.0, 20.0, 25.0, 32.0]),
    start_unavailable=st.booleans(),
)
def test_the_circuit_holds_while_relays_lag_ignore_and_vanish(
    behaviours: list[dict[str, object]], rating: float, start_unavailable: bool
) -> None:
    """Outlets on one circuit, switched every cycle as the allocator and the
    command writer decide; their relays switch late, ignore on or off, go
    unavailable; their load draws its nominal (or less). At every moment what
    they draw together fits the circuit: an outlet is never switched on when
    its whole current does not fit."""
    configs = [
        replace(
            OUTLET,
            id=f"o{i}",
            nominal_a=float(b["nominal"]),  # type: ignore[arg-type]
            power_entity="sensor.p" if b["sensor"] else None,
            min_on_s=30.0,
            min_off_s=20.0,
        )
        for i, b in enumerate(behaviours)
    ]
    relays = [Relay(shown=None if start_unavailable else False) for _ in behaviours]
    memories = [OutletMemory() for _ in behaviours]
    rotation: RotationState | None = None
    state = CommandState()
    ever_on = [False] * len(relays)
    for k in range(120):
        now = 1000.0 + k * INTERVAL_S
        # The relays act (and may be seen late, or not at all) between cycles.
        for relay, b in zip(relays, behaviours, strict=True):
            _relay_step(relay, b, k, now)
        total = sum(
            c.nominal_a * float(b["load"]) if r.on else 0.0  # type: ignore[arg-type]
            for r, b, c in zip(relays, behaviours, configs, strict=True)
        )
        assert total <= rating + 1e-6, (k, [r.on for r in relays])
        for i, relay in enumerate(relays):
            ever_on[i] = ever_on[i] or relay.on
        ports: list[Port] = []
        steps: dict[str, PortSteps] = {}
        held: dict[str, Held | None] = {}
        samples_now = []
        for relay, b, config, memory in zip(
            relays, behaviours, configs, memories, strict=True
        ):
            watts = None
            if b["sensor"] and relay.shown is not None:
                watts = (
                    config.nominal_a * float(b["load"]) * 230.0 if relay.on else 0.0  # type: ignore[arg-type]
                )
            sample = OutletSample(relay.shown, relay.changed_at, power_w=watts)
            samples_now.append(sample)
            reading = outlet_reading(config, EU, sample, memory, now)
            ports.append(reading.port)
            steps[config.port_id] = reading.steps
            held[config.port_id] = reading.held
        site = Site(
            groups=(Group("c", rating_a=rating, continuous_factor=1.0),),
            ports=tuple(ports),
            supply=EU,
            min_current_a=6.0,
            rotation_period_s=60.0,
            now_s=now,
        )
        allocation = allocate(site, rotation)
        rotation = allocation.rotation
        target = {
            pid: pa.current_a
            for pid, pa in allocation.ports.items()
            if pa.reason != "offline"
        }
        commands, state = plan_commands(target, state, now, steps=steps, held=held)
        for relay, config, memory, sample in zip(
            relays, configs, memories, samples_now, strict=True
        ):
            observe(config, EU, sample, memory, now)
            wanted = switch_for(commands, config.port_id, sample, memory, now)
            if wanted is not None:
                asked_to(memory, wanted, now)
                relay.pending = (wanted, now)
    if all(b["ignores"] == "none" and not b["unavailable"] for b in behaviours):
        # Well-behaved relays all get their turn (those that fit at all).
        fits = [c.nominal_a <= rating for c in configs]
        assert [on for on, fit in zip(ever_on, fits, strict=True) if fit] == [
            True
        ] * sum(fits)


def _relay_step(relay: Relay, b: dict[str, object], k: int, now: float) -> None:
    """One interval of a relay: a command takes effect after its delay (unless
    it ignores that kind), it goes unavailable in the cycles listed."""
    if relay.pending is not None and now - relay.pending[1] >= float(b["delay"]):  # type: ignore[arg-type]
        wanted = relay.pending[0]
        relay.pending = None
        ignored = b["ignores"] == ("on" if wanted else "off")
        if not ignored and relay.on != wanted:
            relay.on = wanted
            relay.changed_at = now
    gone = k in b["unavailable"]  # type: ignore[operator]
    shown = None if gone else relay.on
    if shown != relay.shown:
        relay.shown = shown
        relay.changed_at = now
