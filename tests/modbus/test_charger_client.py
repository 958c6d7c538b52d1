"""Each charger map against a simulated charger of its own (real pymodbus server
on 127.0.0.1): the failsafe programmed at connect, a limit written and read back,
the keep-alive kept, the fallback once we stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from custom_components.ev_power_share.modbus.charger_client import (
    ChargerUnavailableError,
    ModbusCharger,
    probe_charger,
)
from custom_components.ev_power_share.modbus.charger_maps import (
    CHARGER_MAPS,
    ChargerMap,
    FailsafeSpec,
    KeepAlive,
)
from custom_components.ev_power_share.modbus.reading import MeterErrorReason
from simulator.modbus_charger import SimulatedCharger

from .conftest import REQUEST_TIMEOUT_S, TIMEOUT_S, free_port

TIMEOUT_FOR_TESTS_S = 1.0
"""The charger's communication timeout in these tests (short, to see it lapse)."""


def fast(charger_map: ChargerMap) -> ChargerMap:
    """The map with a short timeout (and keep-alive) to see it work in a test."""
    failsafe: FailsafeSpec = replace(
        charger_map.failsafe, timeout_s=TIMEOUT_FOR_TESTS_S
    )
    keep: KeepAlive = replace(charger_map.keep_alive, period_s=0.2)
    return replace(charger_map, failsafe=failsafe, keep_alive=keep, refresh_s=0.3)


@pytest.fixture(params=sorted(CHARGER_MAPS))
async def pair(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[SimulatedCharger, ModbusCharger]]:
    cmap = fast(CHARGER_MAPS[request.param])
    # Where the timeout is the charger's own set-up, it is set so on the charger.
    timeout_s = 5.0 if cmap.failsafe.timeout_writable else TIMEOUT_FOR_TESTS_S
    sim = SimulatedCharger(cmap, failsafe_a=10.0, timeout_s=timeout_s)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.start()
    client = ModbusCharger(
        "127.0.0.1", cmap, port=sim.port, failsafe_a=8.0, timeout=REQUEST_TIMEOUT_S
    )
    yield sim, client
    async with asyncio.timeout(TIMEOUT_S):
        await client.close()
        await sim.stop()


def writable_failsafe(cmap: ChargerMap) -> bool:
    return cmap.failsafe.current is not None and cmap.failsafe.current_writable


async def test_connect_programs_the_failsafe(
    pair: tuple[SimulatedCharger, ModbusCharger],
) -> None:
    sim, client = pair
    async with asyncio.timeout(TIMEOUT_S):
        await client.connect()
    cmap = client.map
    programmed = client.programmed[1]
    if writable_failsafe(cmap):
        assert sim.sockets[1].failsafe_a == 8.0
        assert programmed.failsafe_a == 8.0
    elif cmap.failsafe.current is not None:
        # Set on the charger only: read, never written.
        assert sim.sockets[1].failsafe_a == 10.0
        assert programmed.failsafe_a == 10.0
    if cmap.failsafe.timeout_writable:
        assert sim.timeout_s == TIMEOUT_FOR_TESTS_S
    # It holds its failsafe as its limit from now on (a limit we know of).
    assert sim.sockets[1].limit_a == pytest.approx(programmed.failsafe_a or 8.0)


async def test_a_second_connect_writes_nothing_that_is_already_there(
    pair: tuple[SimulatedCharger, ModbusCharger],
) -> None:
    sim, client = pair
    async with asyncio.timeout(TIMEOUT_S):
        await client.connect()
        first = sim.writes_total
        await client.close()
        await client.connect()
    # Flash wear: the failsafe and its limit are there already.
    extra = (
        1
        if client.map.failsafe.timeout_writable
        and not (client.map.failsafe.timeout_readable)
        else 0
    )
    assert sim.writes_total - first == extra


async def test_limit_written_and_read_back(
    pair: tuple[SimulatedCharger, ModbusCharger],
) -> None:
    sim, client = pair
    sim.plug(1, ev_max_a=32.0)
    async with asyncio.timeout(TIMEOUT_S):
        await client.connect()
        held = await client.write_limit(1, 13.0)
        reading = (await client.poll())[1]
    assert held == pytest.approx(13.0)
    assert sim.applied(1) == pytest.approx(13.0)
    assert reading.limit_a == pytest.approx(13.0)
    assert reading.connected
    assert reading.charging
    assert reading.currents_a == pytest.approx((13.0,) * 3)
    async with asyncio.timeout(TIMEOUT_S):
        assert await client.write_limit(1, 0.0) == 0.0
        paused = (await client.poll())[1]
    assert sim.applied(1) == 0.0
    assert paused.limit_a == 0.0
    assert paused.connected
    assert not paused.charging


async def test_falls_back_when_we_stop_and_not_while_we_keep_it_alive(
    pair: tuple[SimulatedCharger, ModbusCharger],
) -> None:
    sim, client = pair
    cmap = client.map
    async with asyncio.timeout(TIMEOUT_S):
        await client.connect()
        await client.write_limit(1, 16.0)
    if cmap.failsafe.timeout is None and cmap.keep_alive.how != "limit":
        pytest.skip(f"{cmap.name}: its timeout is set on the charger only")
    loop = asyncio.get_running_loop()
    end = loop.time() + 2 * TIMEOUT_FOR_TESTS_S
    async with asyncio.timeout(TIMEOUT_S):
        while loop.time() < end:
            if cmap.keep_alive.how == "limit":
                await client.write_limit(1, 16.0)  # the command writer's refresh
            await client.poll()
            assert sim.applied(1) == pytest.approx(16.0)
            await asyncio.sleep(0.1)
        await asyncio.sleep(TIMEOUT_FOR_TESTS_S + 0.3)
    assert sim.applied(1) == pytest.approx(sim.sockets[1].failsafe_a)


async def test_energy_counts_while_charging(
    pair: tuple[SimulatedCharger, ModbusCharger],
) -> None:
    sim, client = pair
    sim.plug(1, ev_max_a=16.0)
    sim.sockets[1].energy_wh = 12_345.0
    async with asyncio.timeout(TIMEOUT_S):
        await client.connect()
        await client.write_limit(1, 16.0)
        first = (await client.poll())[1].energy_kwh
        await asyncio.sleep(0.3)
        await client.poll()
    assert first == pytest.approx(12.345, abs=0.1)  # within its resolution
    assert sim.sockets[1].energy_wh > 12_345.0


async def test_nothing_listening_backs_off() -> None:
    client = ModbusCharger(
        "127.0.0.1", "heidelberg_ec", port=free_port(), timeout=REQUEST_TIMEOUT_S
    )
    async with asyncio.timeout(TIMEOUT_S):
        with pytest.raises(ChargerUnavailableError) as err:
            await client.connect()
        assert err.value.reason is MeterErrorReason.CANNOT_CONNECT
        with pytest.raises(ChargerUnavailableError):
            await client.connect()  # at once, within the back-off
    assert client.health.retry_in > 0


async def test_probe_reads_without_programming() -> None:
    sim = SimulatedCharger("webasto_unite", failsafe_a=10.0)
    async with asyncio.timeout(TIMEOUT_S), sim:
        reading = await probe_charger("127.0.0.1", sim.port, 255, "webasto_unite")
    assert sim.sockets[1].writes == 0
    assert sim.sockets[1].failsafe_a == 10.0
    assert not reading.connected


async def test_a_silent_charger_is_unavailable() -> None:
    sim = SimulatedCharger("abb_terra_ac")
    async with asyncio.timeout(TIMEOUT_S), sim:
        client = ModbusCharger("127.0.0.1", "abb_terra_ac", port=sim.port, timeout=0.3)
        await client.connect()
        sim.respond = False
        with pytest.raises(ChargerUnavailableError) as err:
            await client.poll()
        assert err.value.reason is MeterErrorReason.NO_RESPONSE
        sim.respond = True
        await client.close()


async def test_two_sockets_are_separate() -> None:
    cmap = CHARGER_MAPS["alfen_eve"]
    sim = SimulatedCharger(cmap, sockets=2)
    async with asyncio.timeout(TIMEOUT_S), sim:
        client = ModbusCharger("127.0.0.1", cmap, port=sim.port, sockets=2)
        await client.connect()
        await client.write_limit(2, 20.0)
        await client.write_limit(1, 7.0)
        readings = await client.poll()
        await client.close()
    assert readings[1].limit_a == pytest.approx(7.0)
    assert readings[2].limit_a == pytest.approx(20.0)
    assert sim.sockets[2].limit_a == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("key", "watchdog_s", "expected_s"),
    [
        # Heidelberg takes ms in a 16-bit register: at most 65.535 s.
        ("heidelberg_ec", 120.0, 65.535),
        ("heidelberg_ec", 30.0, 30.0),
        ("webasto_unite", 120.0, 120.0),
    ],
)
async def test_connect_programs_the_sites_watchdog_as_its_timeout(
    key: str, watchdog_s: float, expected_s: float
) -> None:
    """The site's charger watchdog is the charger's communication timeout where
    it takes one (within what its register holds), as an OCPP charger's is."""
    cmap = CHARGER_MAPS[key]
    sim = SimulatedCharger(cmap, failsafe_a=10.0, timeout_s=5.0)
    async with asyncio.timeout(TIMEOUT_S):
        await sim.start()
    client = ModbusCharger(
        "127.0.0.1",
        cmap,
        port=sim.port,
        failsafe_a=6.0,
        watchdog_s=watchdog_s,
        timeout=REQUEST_TIMEOUT_S,
    )
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await client.connect()
        assert client.timeout_s == pytest.approx(expected_s)
        assert sim.timeout_s == pytest.approx(expected_s)
        assert client.programmed[1].timeout_s == pytest.approx(expected_s)
    finally:
        async with asyncio.timeout(TIMEOUT_S):
            await client.close()
            await sim.stop()


def test_a_timeout_set_on_the_charger_is_not_the_sites_watchdog() -> None:
    """Where the charger keeps its timeout in its own set-up (Alfen, CHARX),
    the site cannot program it: its map's figure stands."""
    for key in ("alfen_eve", "phoenix_charx"):
        spec = CHARGER_MAPS[key].failsafe
        assert spec.timeout_for(300.0) == spec.timeout_s == 60.0
