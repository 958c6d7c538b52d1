"""A Modbus TCP charger in Home Assistant: its subentry flow (with its errors and
a read before saving) and a site balancing it against a real pymodbus server on
127.0.0.1 that simulates the charger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from homeassistant.config_entries import (
    ConfigEntryState,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import SUBENTRY_MODBUS_CHARGER
from custom_components.ev_power_share.core.model import Port, Vehicle
from simulator.modbus_charger import SimulatedCharger
from tests.modbus.conftest import free_port

from .test_groups import _add, _device, _flow as group_flow
from .test_site_control import FakeTransport, _setup


@pytest.fixture
async def heidelberg() -> AsyncIterator[SimulatedCharger]:
    sim = SimulatedCharger("heidelberg_ec", failsafe_a=10.0)
    async with asyncio.timeout(5.0), sim:
        yield sim


def _form(sim: SimulatedCharger, **changes: Any) -> dict[str, Any]:
    return {
        CONF_NAME: "Garage charger",
        "model": "heidelberg_ec",
        "group": "site",
        "connection": "L1-L2-L3",
        "host": "127.0.0.1",
        "port": sim.port,
        "sockets": 1,
        "max_current_a": 16,
        "failsafe_a": 6,
        "test_connection": True,
        **changes,
    }


async def _flow(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    data: dict[str, Any],
    subentry_id: str | None = None,
) -> dict[str, Any]:
    return await group_flow(
        hass, entry, data, subentry_id, subentry_type=SUBENTRY_MODBUS_CHARGER
    )


async def _until(check: Any) -> None:
    for _ in range(100):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached in time")


async def test_flow_says_what_is_wrong(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    heidelberg: SimulatedCharger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "custom_components.ev_power_share.modbus_charger_flow.PROBE_TIMEOUT_S", 0.5
    )
    await _setup(hass, site_entry)
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({CONF_NAME: " "}, {CONF_NAME: "name_required"}),
        ({"host": "http://x/"}, {"host": "host_invalid"}),
        ({"port": 70000}, {"port": "port_invalid"}),
        ({"unit": 256}, {"unit": "unit_invalid"}),
        ({"sockets": 2}, {"sockets": "sockets_out_of_range"}),
        ({"max_current_a": 100}, {"max_current_a": "max_current_out_of_range"}),
        ({"failsafe_a": 20}, {"failsafe_a": "failsafe_out_of_range"}),
        ({"failsafe_a": 3}, {"failsafe_a": "failsafe_below_minimum"}),
        ({"port": free_port()}, {"base": "charger_cannot_connect"}),
        ({"unit": 9}, {"base": "charger_no_response"}),
    ]
    for changes, errors in cases:
        result = await _flow(hass, site_entry, _form(heidelberg, **changes))
        assert result["type"] is FlowResultType.FORM, changes
        assert result["errors"] == errors, changes
    assert not [
        s for s in site_entry.subentries.values() if s.subentry_type == "modbus_charger"
    ]
    # The probe only reads: nothing was written to the charger.
    assert heidelberg.sockets[1].writes == 0
    assert heidelberg.sockets[1].failsafe_a == 10.0


async def test_site_balances_a_modbus_charger(
    hass: HomeAssistant, site_entry: MockConfigEntry, heidelberg: SimulatedCharger
) -> None:
    await _setup(hass, site_entry)
    panel = await _add(hass, site_entry, **{CONF_NAME: "Garage panel", "rating_a": 20})
    heidelberg.plug(1, ev_max_a=16.0)
    result = await _flow(hass, site_entry, _form(heidelberg, group=panel))
    assert result["type"] is FlowResultType.CREATE_ENTRY, result.get("errors")
    sid = next(
        s
        for s, e in site_entry.subentries.items()
        if e.subentry_type == "modbus_charger"
    )
    await hass.async_block_till_done()
    runtime = site_entry.runtime_data
    source = runtime.modbus_chargers
    assert source is not None
    pid = f"{sid}:1"
    # Alone on its panel, the car there is given all of it (16 A).
    await _until(lambda: heidelberg.applied(1) == pytest.approx(16.0))
    await _until(lambda: source.port_state(pid) == "charging")
    # Its failsafe was programmed as it connected, and the site's charger
    # watchdog (120 s) as its timeout, as far as its register goes (65.535 s).
    assert heidelberg.sockets[1].failsafe_a == 6.0
    assert heidelberg.timeout_s == pytest.approx(65.535)
    device = _device(dr.async_get(hass), f"{site_entry.entry_id}_{sid}")
    assert device is not None
    assert (device.manufacturer, device.model) == ("Heidelberg", "Energy Control")

    # Another car on the same 16 A (20 A × 80 %) panel: they share it.
    car = FakeTransport([Port("car", panel, max_a=32.0, ev=Vehicle(max_a=32.0))])
    runtime.controller.add_source(car)
    for _ in range(40):
        await runtime.controller.async_refresh()
        await hass.async_block_till_done()
        # The panel's 16 A hold at every step: the charger is lowered before
        # the car is raised.
        assert heidelberg.applied(1) + car.applied[-1]["car"] <= 16.0 + 1e-6
        if heidelberg.applied(1) == pytest.approx(8.0):
            break
        await asyncio.sleep(0.05)
    allocation = runtime.controller.data.allocation
    assert allocation.ports[pid].current_a == pytest.approx(8.0)
    assert allocation.ports["car"].current_a == pytest.approx(8.0)
    assert heidelberg.applied(1) == pytest.approx(8.0)

    # Reconfigure: checked too; then unload closes its connection.
    result = await _flow(hass, site_entry, _form(heidelberg, unit=0), sid)
    assert result["errors"] == {"unit": "unit_invalid"}
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert site_entry.state is ConfigEntryState.NOT_LOADED
    assert not source.running
