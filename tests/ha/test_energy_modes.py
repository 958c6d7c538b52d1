"""Charge modes in Home Assistant: solar surplus from a grid power sensor (home
battery not counted), and scheduled charging in the price sensor's cheapest hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.ev_power_share.const import (
    CONF_BATTERY_POWER_ENTITY,
    CONF_GRID_POWER_ENTITY,
    CONF_GRID_POWER_SIGN,
    CONF_PRICE_ENTITY,
    DOMAIN,
)
from custom_components.ev_power_share.core.model import Port, Vehicle
from custom_components.ev_power_share.core.settings import PortSettings
from custom_components.ev_power_share.core.solar import ChargeMode

from .conftest import SITE_DATA
from .test_site_control import FakeTransport, _setup

WATTS = {"unit_of_measurement": "W", "device_class": "power"}


async def _site(
    hass: HomeAssistant, options: dict[str, Any], mode: ChargeMode
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Maple Court",
        unique_id="maple_court",
        data=dict(SITE_DATA),
        options=options,
    )
    await _setup(hass, entry)
    runtime = entry.runtime_data
    runtime.controller.add_source(
        FakeTransport([Port("car", "site", max_a=16.0, ev=Vehicle(max_a=16.0))])
    )
    runtime.controller.set_port_settings("car", PortSettings(mode=mode))
    return entry


async def _car(hass: HomeAssistant, entry: MockConfigEntry) -> float:
    controller = entry.runtime_data.controller
    await controller.async_refresh()
    await hass.async_block_till_done()
    return controller.data.allocation.ports["car"].current_a


async def _tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, s: float) -> None:
    freezer.tick(timedelta(seconds=s))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_solar_mode_charges_from_the_surplus_only(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    entry = await _site(
        hass,
        {
            CONF_GRID_POWER_ENTITY: "sensor.grid",
            CONF_GRID_POWER_SIGN: "export_positive",
        },
        ChargeMode.SOLAR,
    )
    # Exporting 6 kW: enough for 8 A on three phases (5.5 kW), after the
    # enable delay; never before.
    readings = []
    for _ in range(12):
        hass.states.async_set("sensor.grid", "6000", WATTS, force_update=True)
        readings.append(await _car(hass, entry))
        await _tick(hass, freezer, 5)
    assert readings[0] == 0
    assert readings[-1] == 8
    assert all(r in (0, 8) for r in readings)
    assert entry.runtime_data.energy.decision is not None

    # The sensor goes away: no surplus is assumed; the car stops in time (it is
    # never raised meanwhile).
    hass.states.async_set("sensor.grid", "unavailable", WATTS)
    seen = []
    for _ in range(80):
        seen.append(await _car(hass, entry))
        await _tick(hass, freezer, 5)
    assert max(seen) <= 8
    assert seen[-1] == 0


async def test_battery_discharge_is_not_surplus(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    entry = await _site(
        hass,
        {
            CONF_GRID_POWER_ENTITY: "sensor.grid",
            CONF_BATTERY_POWER_ENTITY: "sensor.battery",
        },
        ChargeMode.SOLAR,
    )
    # Exporting 5 kW, but only because the battery gives 4 kW: 1 kW is surplus.
    for _ in range(20):
        hass.states.async_set("sensor.grid", "-5000", WATTS, force_update=True)
        hass.states.async_set("sensor.battery", "4000", WATTS, force_update=True)
        assert await _car(hass, entry) == 0
        await _tick(hass, freezer, 5)


async def test_min_solar_always_gives_the_minimum(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    entry = await _site(
        hass, {CONF_GRID_POWER_ENTITY: "sensor.grid"}, ChargeMode.MIN_SOLAR
    )
    hass.states.async_set("sensor.grid", "800", WATTS)  # importing: no surplus
    assert await _car(hass, entry) == 6


async def test_scheduled_mode_charges_in_the_cheapest_hours(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    tz = dt_util.get_default_time_zone()
    start = datetime(2026, 11, 24, 18, 0, tzinfo=tz)
    freezer.move_to(start)
    # Nord Pool style: expensive in the evening, cheap from 02:00 to 04:00.
    prices = {
        "raw_today": [
            {
                "start": start + timedelta(hours=h),
                "end": start + timedelta(hours=h + 1),
                "value": 0.05 if h in (8, 9) else 0.40,
            }
            for h in range(14)
        ]
    }
    hass.states.async_set("sensor.price", "0.40", prices)
    entry = await _site(hass, {CONF_PRICE_ENTITY: "sensor.price"}, ChargeMode.SCHEDULED)
    controls = entry.runtime_data.controller.port_settings("car")
    controls.energy_kwh = 15.0  # 16 A on three phases is 11 kW: under 2 h
    controls.departure = time(7, 0)
    entry.runtime_data.controller.set_port_settings("car", controls)

    assert await _car(hass, entry) == 0  # 18:00 is expensive
    plan = entry.runtime_data.energy.plans["car"]
    assert not plan.at_risk
    freezer.move_to(start + timedelta(hours=8, minutes=1))  # 02:01, cheap
    async_fire_time_changed(hass)
    assert await _car(hass, entry) == 16

    # Without a forecast it charges at once.
    hass.states.async_set("sensor.price", "0.40", {})
    freezer.move_to(start + timedelta(hours=1))
    assert await _car(hass, entry) == 16


async def test_options_check_the_power_sensors(hass: HomeAssistant) -> None:
    entry = await _site(hass, {}, ChargeMode.FAST)
    hass.states.async_set("sensor.grid", "1.5", {"unit_of_measurement": "kWh"})
    hass.states.async_set("sensor.battery", "-300", WATTS)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    form = {
        "policy": "equal_share",
        "min_current_a": 6,
        "failsafe_a": 6,
        "rotation_period_min": 15,
        "control_interval_s": 5,
        "hysteresis_a": 1,
        CONF_GRID_POWER_ENTITY: "sensor.grid",
        CONF_BATTERY_POWER_ENTITY: "sensor.battery",
        CONF_PRICE_ENTITY: "sensor.nowhere",
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    assert result["errors"] == {
        CONF_GRID_POWER_ENTITY: "entity_not_power",
        CONF_PRICE_ENTITY: "entity_missing",
    }
    hass.states.async_set("sensor.grid", "1500", WATTS)
    hass.states.async_set("sensor.price", "0.3", {})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, CONF_PRICE_ENTITY: "sensor.price"}
    )
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    energy = entry.runtime_data.energy
    assert energy.settings.grid_power_entity == "sensor.grid"
    assert energy.settings.price_entity == "sensor.price"
    assert energy.battery_discharge_w(dt_util.utcnow().timestamp()) == 0  # charging
