"""OcppSource checks what chargers apply (GetCompositeSchedule): the port source
driven directly, with real simulated charge points over real websockets and a
clock of its own for the refresh cadence."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from custom_components.ev_power_share.core.commands import (
    CommandState,
    SetpointRules,
    confirm,
    plan_commands,
)
from custom_components.ev_power_share.core.model import Port
from custom_components.ev_power_share.csms import CentralSystem, StationConfig
from custom_components.ev_power_share.ocpp_source import ChargerConfig, OcppSource
from simulator import SimulatedChargePoint

from .conftest import TIMEOUT_S, SimFactory, booted, wait_until

WATCHDOG_S = 60.0
"""Real profiles outlive the test; the source's clock decides the refresh cadence."""
RULES = SetpointRules(settle_s=0.0)
"""The source alone, no vehicle to wait for: an increase waits only for the
decreases before it to be confirmed."""


@dataclass
class Rig:
    """The source under test, its clock, and what it told about disobeying chargers."""

    now: float = 1_000.0
    disobeys: list[tuple[str, bool]] = field(default_factory=list)
    source: OcppSource = field(init=False)
    commands: CommandState = field(default_factory=CommandState)
    """The command writer's state (the controller keeps it)."""

    def port(self, port_id: str) -> Port:
        return next(p for p in self.source.readings().ports if p.id == port_id)


@pytest.fixture
def station_config() -> StationConfig:
    return StationConfig(
        meter_interval_s=5, watchdog_s=WATCHDOG_S, response_timeout_s=3.0
    )


@pytest.fixture
def rig(station_config: StationConfig) -> Rig:
    rig = Rig()
    rig.source = OcppSource(
        [
            ChargerConfig("cp-own", "Own", "site"),
            ChargerConfig("cp-ours", "Ours", "site"),
        ],
        config=station_config,
        site_failsafe_a=6.0,
        on_change=lambda: None,
        on_unknown=lambda _cp_id: False,
        on_disobeys=lambda cp_id, disobeys: rig.disobeys.append((cp_id, disobeys)),
        clock=lambda: rig.now,
    )
    return rig


@pytest.fixture
def listener(rig: Rig) -> OcppSource:
    """The central system reports to the source under test."""
    return rig.source


def _asked(sim: SimulatedChargePoint) -> int:
    return sum(1 for action, _ in sim.received if action == "GetCompositeSchedule")


async def _apply(rig: Rig, targets: dict[str, float]) -> None:
    """One cycle as the controller runs it: the command writer decides, the
    source sends, what the chargers confirmed goes back to the writer."""
    source = rig.source
    commands, rig.commands = plan_commands(
        targets,
        rig.commands,
        rig.now,
        RULES,
        steps=source.readings().steps,
        held=source.readings().held,
    )
    async with asyncio.timeout(TIMEOUT_S):
        await source.async_apply(commands)
    rig.commands = confirm(rig.commands, source.readings().held)


async def test_decrease_not_applied_holds_increases_until_it_complies(
    rig: Rig, central: CentralSystem, make_sim: SimFactory
) -> None:
    own, _ = await booted(make_sim, central, "cp-own")
    ours, _ = await booted(make_sim, central, "cp-ours")
    await wait_until(
        lambda: rig.source.online("cp-own") and rig.source.online("cp-ours")
    )
    await _apply(rig, {"cp-own:1": 20.0, "cp-ours:1": 6.0})
    assert (own.effective_limit(1), ours.effective_limit(1)) == (20, 6)
    assert (_asked(own), _asked(ours)) == (1, 1)
    assert rig.port("cp-own:1").online

    # A vendor cloud takes over cp-own: it keeps the 20 A it holds and answers
    # every new profile Accepted without applying it.
    own.obeys_profiles = False
    await _apply(rig, {"cp-own:1": 6.0, "cp-ours:1": 20.0})
    assert own.effective_limit(1) == 20
    # The decrease was checked first: the increase that relied on it was held.
    assert ours.effective_limit(1) == 6
    assert rig.disobeys == [("cp-own", True)]
    port = rig.port("cp-own:1")
    assert (port.online, port.failsafe_a) == (False, 20)
    assert rig.source.limits.disobeys("cp-own:1") == 20
    assert rig.port("cp-ours:1").online
    # The next cycle counts cp-own at 20 A; cp-ours is raised as it decides.
    await _apply(rig, {"cp-ours:1": 10.0})
    assert ours.effective_limit(1) == 10
    assert _asked(own) == 2  # no check of cp-own before the refresh cadence

    # Re-checked at the refresh cadence: still ignoring us, still counted so.
    rig.now += WATCHDOG_S / 2
    await _apply(rig, {"cp-ours:1": 10.0})
    assert _asked(own) == 3
    assert rig.disobeys == [("cp-own", True)]
    assert rig.port("cp-own:1").failsafe_a == 20

    # Offline and back, it is never counted below what it applied.
    await own.close()
    await wait_until(lambda: not rig.source.online("cp-own"))
    assert rig.port("cp-own:1").failsafe_a == 20
    async with asyncio.timeout(TIMEOUT_S):
        await own.connect()
        assert await own.boot() == "Accepted"
    await wait_until(lambda: rig.source.online("cp-own"))
    port = rig.port("cp-own:1")
    assert (port.online, port.failsafe_a) == (False, 20)

    # Its cloud lets go: the next check finds our limit applied.
    own.obeys_profiles = True
    rig.now += WATCHDOG_S / 2
    await _apply(rig, {"cp-ours:1": 10.0})
    assert own.effective_limit(1) == 6
    assert rig.disobeys == [("cp-own", True), ("cp-own", False)]
    port = rig.port("cp-own:1")
    assert (port.online, port.failsafe_a) == (True, 6)
    assert rig.source.limits.disobeys("cp-own:1") is None
    # Back under control, its refreshes are not checked any more.
    asked = _asked(own)
    rig.now += WATCHDOG_S / 2
    await _apply(rig, {"cp-own:1": 6.0, "cp-ours:1": 10.0})
    assert _asked(own) == asked


async def test_charger_without_composite_schedule_is_asked_once_per_connection(
    rig: Rig, central: CentralSystem, make_sim: SimFactory
) -> None:
    sim, _ = await booted(make_sim, central, "cp-ours", composite_schedule=False)
    await wait_until(lambda: rig.source.online("cp-ours"))
    for amps in (10.0, 12.0, 8.0):
        await _apply(rig, {"cp-ours:1": amps})
        assert sim.effective_limit(1) == amps
    assert _asked(sim) == 1
    assert rig.port("cp-ours:1").online
    assert rig.disobeys == []

    # A new connection (new firmware, maybe) is asked again, once.
    await sim.close()
    await wait_until(lambda: not rig.source.online("cp-ours"))
    async with asyncio.timeout(TIMEOUT_S):
        await sim.connect()
        assert await sim.boot() == "Accepted"
    await wait_until(lambda: rig.source.online("cp-ours"))
    for amps in (9.0, 11.0):
        await _apply(rig, {"cp-ours:1": amps})
        assert sim.effective_limit(1) == amps
    assert _asked(sim) == 2
    assert rig.port("cp-ours:1").online
