"""The site simulator's ports that are not OCPP charge points, over their real
transports on 127.0.0.1: a Modbus TCP charger (read and written by the
integration's own Modbus client), a smart outlet and a charger already in Home
Assistant (the HTTP endpoints the demo's REST switch and number use)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from custom_components.ev_power_share.modbus.charger_client import ModbusCharger
from simulator.port_kinds import ModbusPort
from simulator.site import SiteSimulator
from simulator.site_config import SiteConfig, parse_config

from .conftest import wait_until

APPLY_DELAY_S = 1.0


def _config() -> SiteConfig:
    car = {"capacity_kwh": 60, "arrival": "00:00", "departure": "00:00"}
    return parse_config(
        {
            "site": {"main_breaker_a": 63},
            "speedup": 1,
            "tick_s": 0.1,
            "chargers": [
                {"id": "mb", "kind": "modbus", "map": "heidelberg_ec",
                 "max_current_a": 16, "failsafe_a": 6},
                {"id": "plug", "kind": "outlet", "connection": "L2",
                 "max_current_a": 10},
                {"id": "wallbox", "kind": "ha", "connection": "L1",
                 "max_current_a": 16, "apply_delay_s": APPLY_DELAY_S},
            ],
            "vehicles": [
                {**car, "name": "A", "port": "mb/1", "max_a": 16, "jitter_a": 0},
                {**car, "name": "B", "port": "plug/1", "max_a": 16, "phases": 1,
                 "jitter_a": 0},
                {**car, "name": "C", "port": "wallbox/1", "max_a": 16, "phases": 1,
                 "jitter_a": 0},
            ],
        }
    )  # fmt: skip


@pytest.fixture
async def site() -> Any:
    async with SiteSimulator(
        _config(), "ws://127.0.0.1:9", status_port=0, log_interval_s=0
    ) as simulator:
        yield simulator


async def _post(site: SiteSimulator, path: str, body: object) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{site.status_port}{path}", json=body) as resp,
    ):
        return resp.status, await resp.json() if resp.status == 200 else None


def _drawn(site: SiteSimulator, port: str) -> float:
    return max(site.status()["ports"][port]["currents_a"], default=0.0)


async def test_a_modbus_charger_applies_what_it_is_written(site: SiteSimulator) -> None:
    """The vehicle follows the limit written over Modbus, and the charger
    reports what the vehicle draws (the site's physics, not its own)."""
    other = site.others["mb"]
    assert isinstance(other, ModbusPort)
    client = ModbusCharger(
        "127.0.0.1",
        "heidelberg_ec",
        port=other.charger.port,
        failsafe_a=6.0,
    )
    await client.connect()
    try:
        assert await client.write_limit(1, 10) == 10
        await wait_until(lambda: 9.5 < _drawn(site, "mb/1") <= 10.0, 10)
        reading = (await client.poll())[1]
        assert reading.limit_a == 10
        assert reading.connected
        assert max(reading.currents_a) == pytest.approx(_drawn(site, "mb/1"), abs=0.5)
    finally:
        await client.close()


async def test_an_outlet_draws_its_nominal_while_on(site: SiteSimulator) -> None:
    assert _drawn(site, "plug/1") == 0.0  # off until switched on
    assert await _post(site, "/outlets/plug", {"on": True}) == (
        200,
        {"on": True, "power_w": 0.0},
    )
    await wait_until(lambda: _drawn(site, "plug/1") == 10.0, 10)
    status, _ = await _post(site, "/outlets/plug", {"on": False})
    assert status == 200
    await wait_until(lambda: _drawn(site, "plug/1") == 0.0, 10)
    assert site.status()["ports"]["plug/1"]["switched"] == 2
    assert (await _post(site, "/outlets/plug", {"on": "yes"}))[0] == 400
    assert (await _post(site, "/outlets/wallbox", {"on": True}))[0] == 404


async def test_a_charger_in_home_assistant_applies_a_limit_late(
    site: SiteSimulator,
) -> None:
    status, body = await _post(site, "/ha_chargers/wallbox", {"limit_a": 8})
    assert status == 200
    assert body["requested_a"] == 8.0
    assert body["applied_a"] == 16.0  # not yet
    took = await wait_until(
        lambda: site.status()["ports"]["wallbox/1"]["limit_a"] == 8.0, 10
    )
    assert took >= APPLY_DELAY_S * 0.8
    await wait_until(lambda: _drawn(site, "wallbox/1") <= 8.0, 10)
    for bad in ({"limit_a": "8"}, {"limit_a": True}, [8]):
        assert (await _post(site, "/ha_chargers/wallbox", bad))[0] == 400
    assert (await _post(site, "/ha_chargers/wallbox", {"limit_a": 99}))[1][
        "requested_a"
    ] == 16.0  # clamped to its rating
