"""How a charger takes profiles, read after its boot: a charger that takes only W
gets its limits (and its failsafe) in W, and no profile above its maximum stack
level. Real simulated charge points over real websockets; the frames asserted are
the SetChargingProfile calls the simulator received."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from custom_components.ev_power_share.core.commands import (
    CommandState,
    SetpointRules,
    plan_commands,
)
from custom_components.ev_power_share.csms import CentralSystem, StationConfig
from custom_components.ev_power_share.ocpp_source import ChargerConfig, OcppSource
from simulator import SimulatedChargePoint

from .conftest import TIMEOUT_S, SimFactory, ocpp_source, wait_until

CONFIG = StationConfig(meter_interval_s=5, watchdog_s=60.0, response_timeout_s=3.0)


@pytest.fixture
def source() -> OcppSource:
    return ocpp_source(
        [ChargerConfig("cp-1", "One", "site", connection="L1-L2-L3")], CONFIG
    )


@pytest.fixture
def listener(source: OcppSource) -> OcppSource:
    """The central system reports to the source under test."""
    return source


def _profiles(sim: SimulatedChargePoint) -> list[tuple[int, dict[str, Any]]]:
    """(connector or EVSE, profile) of every SetChargingProfile received."""
    frames = []
    for action, payload in sim.received:
        if action == "SetChargingProfile":
            profile = payload.get(
                "cs_charging_profiles", payload.get("charging_profile")
            )
            connector = payload.get("connector_id", payload.get("evse_id"))
            frames.append((int(connector), profile))
    return frames


def _period(profile: dict[str, Any]) -> tuple[str, float, int]:
    """(unit, limit, phases) of a profile's first period."""
    schedule = profile["charging_schedule"]
    if isinstance(schedule, list):
        schedule = schedule[0]
    period = schedule["charging_schedule_period"][0]
    return (
        schedule["charging_rate_unit"],
        float(period["limit"]),
        int(period["number_phases"]),
    )


async def _online(
    source: OcppSource, make_sim: SimFactory, **kwargs: object
) -> SimulatedChargePoint:
    sim = await make_sim("cp-1", **kwargs)
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.boot() == "Accepted"
    await wait_until(
        lambda: source.online("cp-1") and source.stations["cp-1"].configured.is_set()
    )
    return sim


async def _send(source: OcppSource, amps: float) -> None:
    commands, _ = plan_commands(
        {"cp-1:1": amps},
        CommandState(),
        0.0,
        SetpointRules(settle_s=0.0),
        steps=source.readings().steps,
        held=source.readings().held,
    )
    async with asyncio.timeout(TIMEOUT_S):
        await source.async_apply(commands)


async def test_a_charger_that_takes_only_w_gets_w(
    source: OcppSource, central: CentralSystem, make_sim: SimFactory
) -> None:
    sim = await _online(source, make_sim, rate_units=("W",))
    station = source.stations["cp-1"]
    assert station.smart_charging.rate_units == {"W"}
    assert source.readings().steps["cp-1:1"].unit == "W"
    await _send(source, 16.7)
    # The failsafe waits for the charger to say how it takes profiles: one, in W.
    *_, (failsafe_at, failsafe), (live_at, live) = _profiles(sim)
    assert [_period(p)[0] for c, p in _profiles(sim) if c == 0] == ["W"]
    # 6 A and 16.7 A on three phases of 230 V, in whole watts (rounded down).
    assert (failsafe_at, _period(failsafe)) == (0, ("W", 6 * 3 * 230.0, 3))
    assert (live_at, _period(live)) == (1, ("W", 11_523.0, 3))
    assert live["stack_level"] == 1
    assert sim.effective_limit(1) == pytest.approx(11_523 / 690)
    assert source.readings().held["cp-1:1"] is not None


async def test_a_charger_that_takes_a_gets_a(
    source: OcppSource, central: CentralSystem, make_sim: SimFactory
) -> None:
    sim = await _online(source, make_sim, rate_units=("A", "W"))
    await _send(source, 16.7)
    (_, failsafe), (_, live) = _profiles(sim)
    assert _period(failsafe) == ("A", 6.0, 3)
    assert _period(live) == ("A", 16.0, 3)
    assert sim.effective_limit(1) == 16


async def test_no_profile_above_the_maximum_stack_level(
    source: OcppSource, central: CentralSystem, make_sim: SimFactory
) -> None:
    sim = await _online(source, make_sim, max_stack_level=0)
    assert source.stations["cp-1"].smart_charging.max_stack_level == 0
    await _send(source, 10.0)
    levels = [profile["stack_level"] for _, profile in _profiles(sim)]
    assert levels == [0, 0]
    # Both accepted: the live limit is held.
    held = source.readings().held["cp-1:1"]
    assert held is not None
    assert held.amps == 10.0


def _composite_units(sim: SimulatedChargePoint) -> list[str]:
    """The unit of every GetCompositeSchedule received."""
    return [
        str(payload["charging_rate_unit"])
        for action, payload in sim.received
        if action == "GetCompositeSchedule"
    ]


async def test_a_charger_that_takes_only_w_gets_its_failsafe_only_in_w(
    source: OcppSource, central: CentralSystem, make_sim: SimFactory
) -> None:
    # The failsafe waits for the charger to say how it takes profiles: it is
    # never sent in A first (a charger that took it would keep an A failsafe).
    sim = await _online(source, make_sim, rate_units=("W",))
    assert [_period(p) for _, p in _profiles(sim)] == [("W", 6 * 3 * 230.0, 3)]
    assert sim.effective_limit(1) == pytest.approx(6.0)


async def test_a_charger_that_takes_only_w_is_asked_what_it_applies_in_w(
    source: OcppSource, central: CentralSystem, make_sim: SimFactory
) -> None:
    sim = await _online(source, make_sim, rate_units=("W",))
    await _send(source, 16.7)
    assert _composite_units(sim) == ["W"]
    # Its answer is read (the limit is verified, and held).
    held = source.readings().held["cp-1:1"]
    assert held is not None
    assert held.amps == 16.7


async def test_a_charger_that_takes_a_is_asked_what_it_applies_in_a(
    source: OcppSource, central: CentralSystem, make_sim: SimFactory
) -> None:
    sim = await _online(source, make_sim, rate_units=("A", "W"))
    await _send(source, 10.0)
    assert _composite_units(sim) == ["A"]


async def test_the_station_sends_its_failsafe_in_the_unit_it_takes(
    central: CentralSystem, make_sim: SimFactory
) -> None:
    # Straight after the boot, while the station is still asked how it takes
    # profiles: 6 A on one phase of 240 V is 1440 W (the source sends its own
    # failsafe beside it, in W too).
    sim = await make_sim("cp-1", rate_units=("W",))
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.boot() == "Accepted"
        await wait_until(lambda: "cp-1" in central.stations)
        station = central.stations["cp-1"]
        assert await station.set_failsafe(6, 1, voltage_v=240.0)
        periods = [_period(p) for _, p in _profiles(sim)]
        assert ("W", 1440.0, 1) in periods
        assert {unit for unit, _, _ in periods} == {"W"}
        # What it applies is asked in W too (the simulator answers in A: read
        # as it is).
        assert await station.composite_limit(1, number_phases=1) is not None
    assert _composite_units(sim) == ["W"]
