"""OCPP chargers on the same site as every other kind of port, over simulated
cycles: the test of ``test_all_port_kinds`` (smart outlets, Modbus chargers,
chargers already in Home Assistant, each with its faults) with real OCPP
chargers beside them, which drop off the network for a while and come back.

The OCPP part is real: a central system on 127.0.0.1, simulated charge points
(1.6 and 2.0.1) over real websockets, and the OCPP port source that the
integration runs, sending what the one command writer decides. Time is the
test's: the source and the charge points read one clock that advances a cycle
at a time (their watchdog profiles outlive the run, so only the cycles move
time on). The check is the same: what every device really draws, per phase,
at every moment, fits every group's limit (hypothesis, fewer examples than
the simulated kinds alone: each one connects real chargers).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
import time

from hypothesis import HealthCheck, assume, given, settings, strategies as st

from custom_components.ev_power_share.core.allocator import RotationState
from custom_components.ev_power_share.core.commands import (
    Commands,
    CommandState,
)
from custom_components.ev_power_share.core.model import Group
from custom_components.ev_power_share.core.ports import PortReadings
from custom_components.ev_power_share.csms import CentralSystem, StationConfig
from custom_components.ev_power_share.ocpp_source import ChargerConfig, OcppSource
from simulator import SimulatedChargePoint

from .test_all_port_kinds import (
    CYCLES,
    EV_MIN_A,
    INTERVAL_S,
    SUPPLY,
    World,
    decide,
    ha_chargers,
    modbus_chargers,
    outlets,
    sheds_in_time,
)

TIMEOUT_S = 10.0
"""Every network step of a cycle is bounded by this."""
FAILSAFE_A = 6.0
STATION = StationConfig(
    meter_interval_s=5, watchdog_s=3600.0, response_timeout_s=3.0, resume_grace_s=0.05
)
"""Profiles valid for an hour: longer than any run (the watchdog's lapse is
the command writer's own test, in ``tests/core/test_commands.py``). A charger
that reconnects without booting is resumed at once (the cycles' time is the
test's, the grace is real time)."""


class Clock:
    """The one clock of the run (UTC timestamps)."""

    def __init__(self) -> None:
        self.start = self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


@dataclass
class OcppCharger:
    """A simulated charge point with a car behind connector 1, and the cycles
    in which it is off the network."""

    config: ChargerConfig
    version: str
    car_a: float
    away: frozenset[int]
    sim: SimulatedChargePoint | None = None

    def draw(self, clock: Clock) -> float:
        """What its car draws now: what it allows, as far as the car takes it
        (nothing below the minimum a car charges at)."""
        sim = self.sim
        if sim is None or 1 not in sim.transactions:
            return 0.0
        allowed = sim.effective_limit(1, clock.moment())
        return min(allowed, self.car_a) if allowed >= EV_MIN_A else 0.0


@dataclass
class OcppSite:
    """The OCPP side of the site: its chargers, the port source, the central
    system they connect to."""

    chargers: list[OcppCharger]
    clock: Clock = field(default_factory=Clock)
    source: OcppSource = field(init=False)
    central: CentralSystem = field(init=False)

    def __post_init__(self) -> None:
        self.source = OcppSource(
            [c.config for c in self.chargers],
            config=STATION,
            site_failsafe_a=FAILSAFE_A,
            on_change=lambda: None,
            on_unknown=lambda _cp_id: False,
            clock=self.clock,
            voltage_v=SUPPLY.voltage_ln_v,
        )
        self.central = CentralSystem(
            host="127.0.0.1",
            port=0,
            authorize=self.source.authorize,
            has_password=self.source.has_password,
            listener=self.source,
            config=STATION,
        )

    @property
    def port_ids(self) -> set[str]:
        return {c.config.port_id(1) for c in self.chargers}

    async def start(self) -> None:
        """The central system listens; every charger boots and its car starts."""
        await self.central.start()
        for charger in self.chargers:
            sim = charger.sim = SimulatedChargePoint(
                charger.config.charge_point_id,
                f"ws://127.0.0.1:{self.central.port}",
                version=charger.version,  # type: ignore[arg-type]
                max_current_a=charger.config.max_current_a,
                clock=self.clock.moment,
                response_timeout=3.0,
            )
            await sim.connect()
            assert await sim.boot() == "Accepted"
            await _wait_until(
                lambda c=charger: self.source.online(c.config.charge_point_id)
            )
            await sim.plug_in(1)
            await sim.start_transaction(1, "TAG-1")

    async def step(self, k: int) -> None:
        """One interval: chargers leave and come back; those connected report
        what their cars draw."""
        for charger in self.chargers:
            sim = charger.sim
            assert sim is not None
            if k in charger.away and sim.connected:
                await sim.close()
            elif k not in charger.away and not sim.connected:
                # Back within the interval: resumed (asked its state, given
                # its failsafe) before the next cycle.
                await sim.reconnect(within=TIMEOUT_S)
                cp_id = charger.config.charge_point_id
                await _wait_until(lambda cp_id=cp_id: self.source.online(cp_id))
            if sim.connected:
                amps = charger.draw(self.clock)
                await sim.send_meter_values(1, currents=(amps,) * 3)

    def readings(self) -> PortReadings:
        return self.source.readings(self.clock.now)

    async def apply(self, commands: Commands) -> None:
        await self.source.async_apply(commands.only(self.port_ids))

    async def stop(self) -> None:
        for charger in self.chargers:
            if charger.sim is not None:
                await charger.sim.close()
        await self.source.async_close()
        await self.central.stop()


async def _wait_until(predicate: object, within: float = TIMEOUT_S) -> None:
    async with asyncio.timeout(within):
        while not predicate():  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@dataclass
class MixedWorld(World):
    """Every kind of port: the simulated ones, and the OCPP chargers."""

    ocpp: OcppSite | None = None

    def draws(self, now: float) -> list[tuple[str, str, float]]:
        found = super().draws(now)
        if self.ocpp is not None:
            found += [
                (c.config.group, c.config.connection, c.draw(self.ocpp.clock))
                for c in self.ocpp.chargers
            ]
        return found


@st.composite
def ocpp_chargers(draw: st.DrawFn, group: str) -> list[OcppCharger]:
    chargers = []
    for i in range(draw(st.integers(1, 2))):
        start, length = draw(st.integers(0, CYCLES)), draw(st.integers(0, 6))
        chargers.append(
            OcppCharger(
                ChargerConfig(f"cp-{i}", f"OCPP {i}", group, max_current_a=16.0),
                version=draw(st.sampled_from(["1.6", "2.0.1"])),
                car_a=draw(st.sampled_from([16.0, 10.0])),
                away=frozenset(range(start, start + length)),
            )
        )
    return chargers


async def _run(world: MixedWorld, ocpp: OcppSite) -> list[tuple[float, bool]]:
    """The cycles of ``test_all_port_kinds`` with the OCPP chargers in them;
    what the first OCPP car drew at the end of each, and whether its charger
    was under control (online to the source)."""
    groups = world.groups
    rotation: RotationState | None = None
    state = CommandState()
    drawn: list[tuple[float, bool]] = []
    for k in range(CYCLES):
        now = ocpp.clock.now = ocpp.clock.start + k * INTERVAL_S
        async with asyncio.timeout(TIMEOUT_S):
            await ocpp.step(k)
        world.act(k, now)
        readings = [*world.readings(now, k), ocpp.readings()]
        commands, state, rotation = decide(groups, readings, state, rotation, now)
        async with asyncio.timeout(TIMEOUT_S):
            await ocpp.apply(commands)
        world.apply(commands, now)
        first = ocpp.chargers[0]
        online = ocpp.source.online(first.config.charge_point_id)
        drawn.append((first.draw(ocpp.clock), online))
    return drawn


async def _scenario(world: MixedWorld, ocpp: OcppSite) -> list[tuple[float, bool]]:
    async with asyncio.timeout(TIMEOUT_S):
        await ocpp.start()
    try:
        return await _run(world, ocpp)
    finally:
        async with asyncio.timeout(TIMEOUT_S):
            await ocpp.stop()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    site_a=st.sampled_from([25.0, 32.0, 40.0]),
    panel_a=st.sampled_from([16.0, 20.0]),
    data=st.data(),
)
def test_no_group_ever_carries_more_than_its_limit_with_ocpp_and_every_other_kind(
    socket_enabled: None, site_a: float, panel_a: float, data: st.DataObject
) -> None:
    groups = (
        Group("site", rating_a=site_a, continuous_factor=1.0),
        Group("panel", parent="site", rating_a=panel_a, continuous_factor=1.0),
    )
    where = st.sampled_from(["site", "panel"])
    ocpp = OcppSite(data.draw(ocpp_chargers(data.draw(where))))
    world = MixedWorld(
        groups,
        data.draw(modbus_chargers(data.draw(where))),
        data.draw(outlets(data.draw(where))),
        data.draw(ha_chargers(data.draw(where))),
        ocpp=ocpp,
    )
    # As in test_all_port_kinds: every failsafe fits (each OCPP charger's
    # is the site's), and one fault at a time.
    failsafes = sum(c.config.failsafe_a for c in world.modbus)
    assume(failsafes + FAILSAFE_A * len(ocpp.chargers) <= min(site_a, panel_a))
    stuck = any(o.behaviour["ignores"] != "none" for o in world.outlets)
    assume(not (stuck and any(c.silent for c in world.modbus)))
    assume(sheds_in_time(world))
    asyncio.run(_scenario(world, ocpp))


def test_an_ocpp_charger_beside_the_others_charges(socket_enabled: None) -> None:
    """The check above is not vacuous: an OCPP charger with room charges at its
    car's current, is off control while off the network (its car still
    charging at what it last held), and charges under control once back."""
    groups = (Group("site", rating_a=40.0, continuous_factor=1.0),)
    ocpp = OcppSite(
        [
            OcppCharger(
                ChargerConfig("cp-0", "OCPP 0", "site", max_current_a=16.0),
                version="2.0.1",
                car_a=16.0,
                away=frozenset(range(20, 30)),
            )
        ]
    )
    world = MixedWorld(groups, [], [], ocpp=ocpp)
    drawn = asyncio.run(_scenario(world, ocpp))
    assert drawn[5:20] == [(16.0, True)] * 15
    assert [online for _, online in drawn[20:30]] == [False] * 10
    assert drawn[-10:] == [(16.0, True)] * 10
