"""A charger's options override how it takes a limit: its unit (a charger that
says it takes A and W but is to get W), its step, its own minimum current, and a
write budget. Real simulated charge points over real websockets; the frames
asserted are the SetChargingProfile calls the simulator received."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from custom_components.ev_power_share.core.commands import (
    CommandState,
    SetpointRules,
    WriteBudget,
    plan_commands,
)
from custom_components.ev_power_share.csms import CentralSystem
from custom_components.ev_power_share.ocpp_source import ChargerConfig, OcppSource

from .conftest import TIMEOUT_S, SimFactory, ocpp_source, wait_until
from .test_ocpp_source_units import CONFIG, _period, _profiles

OPTIONS = ChargerConfig(
    "cp-1",
    "One",
    "site",
    connection="L1-L2-L3",
    limit_unit="W",
    limit_step=100.0,
    min_current_a=8.0,
    writes_per_minute=2,
)


@pytest.fixture
def source() -> OcppSource:
    return ocpp_source([OPTIONS], CONFIG)


@pytest.fixture
def listener(source: OcppSource) -> OcppSource:
    """The central system reports to the source under test."""
    return source


def test_the_options_are_the_ports_steps(source: OcppSource) -> None:
    steps = source.readings(0.0).steps["cp-1:1"]
    assert (steps.unit, steps.step, steps.minimum_a) == ("W", 100.0, 8.0)
    assert steps.budget == WriteBudget(2, 60.0)
    # Without options: what the charger says (A until it said), 1 step, no budget.
    plain = ocpp_source([ChargerConfig("cp-2", "Two", "site")]).readings(0.0)
    default = plain.steps["cp-2:1"]
    assert (default.unit, default.step, default.minimum_a, default.budget) == (
        "A",
        1.0,
        0.0,
        None,
    )


async def test_a_charger_set_to_w_gets_its_failsafe_and_limits_in_w_steps(
    source: OcppSource, central: CentralSystem, make_sim: SimFactory
) -> None:
    sim = await make_sim("cp-1", rate_units=("A", "W"))
    async with asyncio.timeout(TIMEOUT_S):
        assert await sim.boot() == "Accepted"
    await wait_until(lambda: source.online("cp-1"))
    state = CommandState()
    sent: list[tuple[float, Any]] = []

    async def allocate(amps: float, now: float) -> None:
        nonlocal state
        readings = source.readings()
        commands, state = plan_commands(
            {"cp-1:1": amps},
            state,
            now,
            SetpointRules(settle_s=0.0, hysteresis_a=0.0),
            steps=readings.steps,
            held=readings.held,
        )
        sent.append((amps, commands["cp-1:1"]))
        async with asyncio.timeout(TIMEOUT_S):
            await source.async_apply(commands)

    await allocate(16.7, 0.0)  # 11 523 W: 11 500 W in steps of 100 W
    await allocate(7.0, 1.0)  # under the charger's 8 A minimum: paused
    await allocate(12.0, 2.0)  # a third write in a minute: over the budget
    await allocate(12.0, 61.0)  # the budget's minute has passed
    frames = [(c, _period(p)) for c, p in _profiles(sim)]
    # The failsafe: 6 A on three phases of 230 V, in W although it takes A too.
    assert frames[0] == (0, ("W", 6 * 3 * 230.0, 3))
    live = [period for connector, period in frames if connector == 1]
    assert live == [("W", 11_500.0, 3), ("W", 0.0, 3), ("W", 8_200.0, 3)]
    assert [amps for _, amps in sent] == [
        pytest.approx(11_500 / 690),
        0.0,
        0.0,  # the increase waits for the budget (the pause is held)
        pytest.approx(8_200 / 690),
    ]
