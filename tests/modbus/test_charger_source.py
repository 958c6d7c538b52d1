"""The Modbus charger port source against simulated chargers (real pymodbus
servers on 127.0.0.1): limits confirmed by read-back, a silent charger counted
offline at the most it may apply, a disobeying one at what it applies, a slow
one delaying no other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import time

import pytest

from custom_components.ev_power_share.core.commands import Command, Commands
from custom_components.ev_power_share.core.model import Port
from custom_components.ev_power_share.modbus.charger_client import ModbusCharger
from custom_components.ev_power_share.modbus_chargers import (
    ModbusChargerConfig,
    ModbusChargerSource,
)
from simulator.modbus_charger import SimulatedCharger

from .conftest import TIMEOUT_S

POLL_S = 0.05
STALE_S = 0.6


def config(sid: str, sim: SimulatedCharger, **kwargs: object) -> ModbusChargerConfig:
    return ModbusChargerConfig(
        subentry_id=sid,
        name=f"charger {sid}",
        group="site",
        host="127.0.0.1",
        model=sim.map.key,
        port=sim.port,
        failsafe_a=8.0,
        poll_s=POLL_S,
        stale_s=STALE_S,
        **kwargs,  # type: ignore[arg-type]
    )


def quick_client(c: ModbusChargerConfig) -> ModbusCharger:
    return ModbusCharger(
        c.host,
        c.model,
        port=c.port,
        unit=c.unit,
        sockets=c.sockets,
        failsafe_a=c.failsafe_a,
        timeout=0.3,
        backoff_initial=0.1,
        backoff_max=0.2,
    )


def write(port: str, amps: float) -> Commands:
    return Commands({port: amps}, [Command(port, amps, amps, "A", decrease=False)])


def port_of(source: ModbusChargerSource, pid: str) -> Port:
    return next(p for p in source.readings(time.time()).ports if p.id == pid)


async def until(check: Callable[[], bool]) -> None:
    """Wait (bounded) until ``check()`` holds."""
    for _ in range(int(TIMEOUT_S / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not reached in time")


@pytest.fixture
async def sims() -> AsyncIterator[list[SimulatedCharger]]:
    started: list[SimulatedCharger] = []
    for key in ("heidelberg_ec", "webasto_unite"):
        sim = SimulatedCharger(key, failsafe_a=6.0)
        await sim.start()
        started.append(sim)
    yield started
    for sim in started:
        await sim.stop()


@pytest.fixture
async def source(sims: list[SimulatedCharger]) -> AsyncIterator[ModbusChargerSource]:
    changes: list[None] = []
    src = ModbusChargerSource(
        [config("a", sims[0]), config("b", sims[1])],
        on_change=lambda: changes.append(None),
        client_factory=quick_client,
    )
    src.start()
    yield src
    async with asyncio.timeout(TIMEOUT_S):
        await src.async_close()


async def test_online_once_programmed_and_limits_confirmed(
    sims: list[SimulatedCharger], source: ModbusChargerSource
) -> None:
    sims[0].plug(1, ev_max_a=16.0)
    await until(lambda: port_of(source, "a:1").online)
    # The failsafe went in at connect, and the socket holds it.
    assert sims[0].sockets[1].failsafe_a == 8.0
    readings = source.readings(time.time())
    held = readings.held["a:1"] if readings.held is not None else None
    assert held is not None
    assert held.amps == pytest.approx(8.0)
    assert port_of(source, "a:1").ev is not None
    await source.async_apply(write("a:1", 12.0))
    await until(lambda: sims[0].applied(1) == pytest.approx(12.0))
    await until(lambda: (source.readings(time.time()).held or {})["a:1"] is not None)

    def confirmed() -> bool:
        h = (source.readings(time.time()).held or {}).get("a:1")
        return h is not None and h.amps == pytest.approx(12.0)

    await until(confirmed)
    assert source.port_state("a:1") == "charging"
    assert source.port_name("a:1") == "charger a"
    assert source.subentry_ports("a") == ["a:1"]


async def test_a_silent_charger_is_counted_at_the_most_it_may_apply(
    sims: list[SimulatedCharger], source: ModbusChargerSource
) -> None:
    await until(lambda: port_of(source, "a:1").online)
    await source.async_apply(write("a:1", 14.0))
    await until(lambda: sims[0].sockets[1].limit_a == pytest.approx(14.0))
    await asyncio.sleep(3 * POLL_S)
    sims[0].respond = False
    await until(lambda: not port_of(source, "a:1").online)
    port = port_of(source, "a:1")
    # It may still hold 14 A (more than its 8 A failsafe).
    assert port.failsafe_a == pytest.approx(14.0)
    assert source.port_state("a:1") == "unavailable"
    # The other charger is not held up by it.
    assert port_of(source, "b:1").online
    await source.async_apply(write("b:1", 10.0))
    await until(lambda: sims[1].sockets[1].limit_a == pytest.approx(10.0))
    sims[0].respond = True


async def test_a_charger_someone_else_drives_is_counted_at_what_it_applies(
    sims: list[SimulatedCharger], source: ModbusChargerSource
) -> None:
    await until(lambda: port_of(source, "b:1").online)
    sims[1].override(1, 25.0)
    await until(lambda: not port_of(source, "b:1").online)
    assert port_of(source, "b:1").failsafe_a == pytest.approx(25.0)
    sims[1].override(1, 8.0)
    await until(lambda: port_of(source, "b:1").online)


async def test_apply_never_waits_for_a_charger() -> None:
    sim = SimulatedCharger("abb_terra_ac")
    await sim.start()
    src = ModbusChargerSource([config("c", sim)], client_factory=quick_client)
    src.start()
    try:
        await until(lambda: port_of(src, "c:1").online)
        sim.respond = False
        started = time.perf_counter()
        for amps in (10.0, 11.0, 12.0):
            await src.async_apply(write("c:1", amps))
        assert time.perf_counter() - started < 0.05
        # Handed over, not confirmed: counted at the most it was handed.
        assert port_of(src, "c:1").failsafe_a >= 12.0
    finally:
        sim.respond = True
        await src.async_close()
        await sim.stop()
