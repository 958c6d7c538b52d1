"""A whole simulated site against the project's real central system and a real
Modbus TCP meter, on 127.0.0.1, at 60× speed."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

import aiohttp
import pytest

from custom_components.ev_power_share.csms import CentralSystem, Station
from custom_components.ev_power_share.modbus import ModbusMeter
from simulator.modbus_meter import SimulatedModbusMeter
from simulator.site import SiteSimulator, _reversals, run
from simulator.site_config import SiteConfig, parse_config

from .conftest import TIMEOUT_S, start_central, wait_until

pytestmark = pytest.mark.timeout(15)

FOLLOW_WITHIN_S = 3.0
"""A changed limit shows in the reported current within this (real) time: one
tick (0.1 s) + at most the vehicle's follow delay (3 s / 60) + one MeterValues
period (0.5 s), with room for a busy machine."""

SCENARIO: dict[str, Any] = {
    "name": "loopback",
    "start": "12:00",
    "speedup": 60,
    "tick_s": 0.1,
    "meter_interval_s": 0.5,
    "site": {"main_breaker_a": 63},
    "groups": [{"id": "garage", "kind": "circuit", "rating_a": 50}],
    "chargers": [
        {"id": "cp-a", "ocpp": "1.6", "group": "garage", "max_current_a": 32},
        {
            "id": "cp-b",
            "ocpp": "2.0.1",
            "group": "garage",
            "connectors": 2,
            "connection": "L2-L3-L1",
            "max_current_a": 16,
        },
    ],
    "meter": {"port": 0},
    "base_load": {"common_w": 690},  # 1 A on each leg, nothing else
    "vehicles": [
        {"name": "big", "port": "cp-a/1", "phases": 3, "max_a": 32, "soc": 20},
        {"name": "one", "port": "cp-b/1", "phases": 1, "max_a": 16, "soc": 20},
        {"name": "three", "port": "cp-b/2", "phases": 3, "max_a": 16, "soc": 20},
    ],
}


def scenario(**changes: Any) -> SiteConfig:
    vehicles = [
        {"jitter_a": 0, "capacity_kwh": 200, "reports_soc": True} | v
        for v in SCENARIO["vehicles"]
    ]
    return parse_config(SCENARIO | {"vehicles": vehicles} | changes)


def drawn(station: Station, connector: int) -> float:
    """The highest phase current a station last reported on a connector."""
    state = station.connectors.get(connector)
    return max(state.current_a, default=0.0) if state else 0.0


async def charging(central: CentralSystem) -> tuple[Station, Station]:
    """Both stations booted, every port in a transaction and reporting current."""

    def ready() -> bool:
        stations = central.stations
        return all(
            s in stations
            and stations[s].booted
            and all(
                (state := stations[s].connectors.get(c)) is not None
                and state.transaction_id is not None
                and drawn(stations[s], c) > 0
                for c in connectors
            )
            for s, connectors in (("cp-a", (1,)), ("cp-b", (1, 2)))
        )

    await wait_until(ready, TIMEOUT_S)
    return central.stations["cp-a"], central.stations["cp-b"]


async def test_vehicles_follow_the_limits_and_the_meter_sees_them(
    central: CentralSystem, meter: SimulatedModbusMeter
) -> None:
    url = f"ws://127.0.0.1:{central.port}"
    async with SiteSimulator(scenario(), url, meter=meter, log_interval_s=0) as site:
        a, b = await charging(central)
        # No profile yet: each charger allows its own maximum.
        await wait_until(lambda: drawn(a, 1) == pytest.approx(32), FOLLOW_WITHIN_S)
        assert a.connectors[1].status == "Charging"
        assert a.connectors[1].soc is not None

        # A live limit on the 1.6 station: the vehicle follows, the report shows it.
        assert await a.set_limit(1, 10)
        took = await wait_until(lambda: drawn(a, 1) <= 10, FOLLOW_WITHIN_S)
        assert drawn(a, 1) == pytest.approx(10)
        assert a.connectors[1].current_a == pytest.approx((10, 10, 10))
        assert took < FOLLOW_WITHIN_S

        # The failsafe on the 2.0.1 station (connector 0): both EVSEs follow.
        assert await b.set_failsafe(8)
        await wait_until(lambda: drawn(b, 1) <= 8 and drawn(b, 2) <= 8, FOLLOW_WITHIN_S)
        assert b.connectors[1].current_a == pytest.approx((8, 0, 0))  # one phase
        assert b.connectors[2].current_a == pytest.approx((8, 8, 8))
        assert b.connectors[2].power_w == pytest.approx(8 * 3 * 230)
        assert site.chargers["cp-b"].cp.effective_limit(1) == 8

        # The meter: 1 A base load + cp-a 10 A on L1 L2 L3 + cp-b (L2-L3-L1):
        # the one-phase car 8 A on L2, the three-phase car 8 A on each leg.
        expected = (1 + 10 + 8, 1 + 10 + 8 + 8, 1 + 10 + 8)
        assert meter.values.currents_a == pytest.approx(expected)
        async with ModbusMeter("127.0.0.1", "sdm630", port=meter.port) as client:
            reading = await client.read()
        assert reading.currents_a == pytest.approx(expected, abs=0.01)
        assert reading.power_w == pytest.approx(sum(expected) * 230, rel=1e-3)
        assert reading.import_kwh > 0

        # Below 6 A the vehicle pauses; the 1.6 station says so.
        assert await a.set_limit(1, 4)
        await wait_until(lambda: drawn(a, 1) == 0, FOLLOW_WITHIN_S)
        await wait_until(
            lambda: a.connectors[1].status == "SuspendedEVSE", FOLLOW_WITHIN_S
        )
        status = site.status()
        assert status["ports"]["cp-a/1"]["state"] == "suspended_evse"
        assert status["ports"]["cp-a/1"]["limit_a"] == 4
        assert status["legs"]["ev_a"] == pytest.approx([8, 16, 8])  # cp-b only
        assert status["meter"]["currents_a"] == pytest.approx([9, 17, 9])
        assert status["household_w"] == pytest.approx(690)
        assert status["speedup"] == 60


async def test_status_endpoint_and_schedule(
    central: CentralSystem, meter: SimulatedModbusMeter
) -> None:
    """A vehicle leaves at 12:01 (a real second at 60×): the transaction stops and
    the connector is Available; GET /status shows it."""
    vehicles = [dict(v) for v in SCENARIO["vehicles"]]
    vehicles[0] |= {"arrival": "11:00", "departure": "12:01"}
    config = scenario(vehicles=vehicles)
    url = f"ws://127.0.0.1:{central.port}"
    async with SiteSimulator(
        config, url, meter=meter, status_port=0, log_interval_s=0
    ) as site:
        await wait_until(
            lambda: (
                "cp-a" in central.stations
                and (state := central.stations["cp-a"].connectors.get(1)) is not None
                and state.transaction_id is not None
            )
        )
        a = central.stations["cp-a"]
        await wait_until(lambda: a.connectors[1].status == "Available", 4.0)
        assert a.connectors[1].transaction_id is None
        assert a.connectors[1].session_energy_wh is not None
        assert a.connectors[1].session_energy_wh > 0
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{site.status_port}/status") as response,
        ):
            body = await response.json()
        assert response.status == 200
        assert body["ports"]["cp-a/1"]["vehicle"] is None
        assert body["ports"]["cp-b/2"]["vehicle"] == "three"
        assert body["ports"]["cp-b/2"]["online"] is True
        assert body["time"] >= "12:01"
        assert set(body) >= {"pv_w", "household_w", "meter", "legs", "ports"}


async def test_chargers_reconnect_after_the_central_system_restarts(
    meter: SimulatedModbusMeter,
) -> None:
    """Home Assistant restarts: the vehicles keep charging meanwhile (under the
    profiles their chargers hold); the chargers connect again, boot, announce their
    connectors, report currents and obey new limits."""
    central = await start_central()
    port = central.port
    try:
        async with SiteSimulator(
            scenario(), f"ws://127.0.0.1:{port}", meter=meter, log_interval_s=0
        ) as site:
            await charging(central)
            async with asyncio.timeout(TIMEOUT_S):
                await central.stop()
            await wait_until(lambda: not site.chargers["cp-a"].ready, 2.0)
            before = site.model.ports["cp-a/1"].register_wh
            await asyncio.sleep(0.3)
            assert site.model.ports["cp-a/1"].register_wh > before
            central = await start_central(port)
            stations = central.stations
            await wait_until(
                lambda: (
                    all(c.ready for c in site.chargers.values())
                    and {"cp-a", "cp-b"} <= set(stations)
                    and drawn(stations["cp-a"], 1) > 0
                    and all(
                        (state := stations["cp-b"].connectors.get(c)) is not None
                        and state.status == "Occupied"
                        for c in (1, 2)
                    )
                )
            )
            a = stations["cp-a"]
            assert a.connectors[1].status == "Charging"  # the transaction goes on
            assert await a.set_limit(1, 12)
            await wait_until(lambda: drawn(a, 1) == 12, FOLLOW_WITHIN_S)
    finally:
        async with asyncio.timeout(TIMEOUT_S):
            await central.stop()


async def test_command_line_runs_and_logs(
    central: CentralSystem, caplog: pytest.LogCaptureFixture
) -> None:
    args = argparse.Namespace(
        config="simulator/scenarios/condo.yaml",
        ocpp=f"ws://127.0.0.1:{central.port}",
        meter_port=0,
        speedup=600.0,
        start="07:00",
        status_port=None,
        charger_port=None,
        log_interval=0.5,
        duration=2.0,
        verbose=False,
    )
    with caplog.at_level(logging.INFO, logger="simulator.site"):
        await run(args)
    lines = [r.getMessage() for r in caplog.records if r.name == "simulator.site"]
    summaries = [line for line in lines if "cp-01/1" in line]
    assert len(summaries) >= 2
    assert all(
        f"cp-0{n}/" in summaries[-1] for n in (1, 2, 3, 4, 5, 6, 8)
    )  # every charger, each line
    assert all(f"{p}/1" in summaries[-1] for p in ("visitor-2", "outlet-1"))
    assert "PV" in summaries[-1]
    booted = {line.split(":")[0] for line in lines if "booted" in line}
    assert booted == {f"cp-0{n}" for n in (1, 2, 3, 4, 5, 6, 8)}
    assert not central.stations  # all closed at the end


def test_reversals_count_turns_not_changes() -> None:
    assert _reversals([]) == 0
    assert _reversals([6, 8, 10, 10, 16]) == 0  # a ramp
    assert _reversals([16, 10, 10, 16]) == 1  # down for a new car, back up
    assert _reversals([16, 20, 16, 20, 16]) == 3  # hunting
