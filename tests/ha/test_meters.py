"""Meters in Home Assistant: sensor entities or a real Modbus TCP meter (pymodbus's
server on 127.0.0.1) on a power group give the chargers what the building leaves."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.ev_power_share.const import DOMAIN, SUBENTRY_METER
from custom_components.ev_power_share.core.model import Port, Vehicle
from custom_components.ev_power_share.diagnostics import (
    async_get_config_entry_diagnostics,
)
from simulator.modbus_meter import SimulatedModbusMeter

from .test_groups import _add, _device
from .test_site_control import FakeTransport, _setup, assert_replays

AMPS = {"unit_of_measurement": "A", "device_class": "current"}
WATTS = {"unit_of_measurement": "W", "device_class": "power"}
CLAMPS = {
    "current_l1": "sensor.clamp_l1",
    "current_l2": "sensor.clamp_l2",
    "current_l3": "sensor.clamp_l3",
}


def _clamps(hass: HomeAssistant, l1: float, l2: float, l3: float) -> None:
    for entity_id, amps in zip(CLAMPS.values(), (l1, l2, l3), strict=True):
        hass.states.async_set(entity_id, str(amps), AMPS, force_update=True)


async def _meter_flow(
    hass: HomeAssistant, entry: MockConfigEntry, source: str, data: dict[str, Any]
) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_METER), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["sensors", "modbus"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": source}
    )
    assert result["step_id"] == source
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], data
    )
    await hass.async_block_till_done()
    return dict(result)


def _one_car(max_a: float = 32.0) -> FakeTransport:
    """One three-phase car on the site, drawing nothing yet."""
    return FakeTransport([Port("car", "site", max_a=max_a, ev=Vehicle(max_a=max_a))])


async def _cycle(hass: HomeAssistant, entry: MockConfigEntry) -> float:
    """Run a control cycle; the car's current."""
    controller = entry.runtime_data.controller
    await controller.async_refresh()
    await hass.async_block_till_done()
    return controller.data.allocation.ports["car"].current_a


async def _tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, s: float) -> None:
    freezer.tick(timedelta(seconds=s))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def test_sensor_meter_flow_refuses_what_cannot_be_measured(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    _clamps(hass, 1, 1, 1)
    hass.states.async_set("sensor.energy", "3", {"unit_of_measurement": "kWh"})
    base = {CONF_NAME: "Main CT clamps", "group": "site", "stale_after_s": 15}
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({}, {"base": "sources_required"}),
        (
            {**CLAMPS, "current_l2": "sensor.energy"},
            {"current_l2": "entity_not_current"},
        ),
        ({**CLAMPS, "current_l3": "sensor.nowhere"}, {"current_l3": "entity_missing"}),
        (
            {"current_l1": "sensor.clamp_l1"},
            {"current_l2": "current_required", "current_l3": "current_required"},
        ),
        ({"power": "sensor.clamp_l1"}, {"power": "entity_not_power"}),
        ({**CLAMPS, "stale_after_s": 1}, {"stale_after_s": "stale_out_of_range"}),
    ]
    for extra, errors in cases:
        result = await _meter_flow(hass, site_entry, "sensors", {**base, **extra})
        assert result["type"] is FlowResultType.FORM, extra
        assert result["errors"] == errors, extra
    result = await _meter_flow(hass, site_entry, "sensors", {**base, **CLAMPS})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # One meter per group.
    result = await _meter_flow(hass, site_entry, "sensors", {**base, **CLAMPS})
    assert result["errors"] == {"group": "group_has_meter"}


async def test_sensor_meter_shares_what_the_building_leaves(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    tmp_path: Path,
) -> None:
    await _setup(hass, site_entry)  # 100 A main breaker: 80 A per phase
    controller = site_entry.runtime_data.controller
    controller.add_source(_one_car())
    _clamps(hass, 50, 45, 40)
    result = await _meter_flow(
        hass,
        site_entry,
        "sensors",
        {CONF_NAME: "Main CT clamps", "group": "site", "stale_after_s": 15, **CLAMPS},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    meter_id = next(iter(site_entry.subentries))

    # The building takes 50 A on L1: the car gets the 30 A left on that phase.
    assert await _cycle(hass, site_entry) == 30
    device = _device(dr.async_get(hass), f"{site_entry.entry_id}_{meter_id}")
    assert device is not None
    assert device.model == "Sensors"
    registry = er.async_get(hass)
    non_ev = registry.async_get_entity_id(
        "sensor", DOMAIN, f"{site_entry.entry_id}_{meter_id}_non_ev_load_l1"
    )
    status = registry.async_get_entity_id(
        "sensor", DOMAIN, f"{site_entry.entry_id}_{meter_id}_meter_status"
    )
    assert non_ev is not None
    assert status is not None
    assert hass.states.get(non_ev).state == "50.0"
    assert hass.states.get(status).state == "fresh"

    # A kettle: more load counts at once. (Time is frozen in this test: it moves
    # on between readings, as it does outside tests.)
    await _tick(hass, freezer, 1)
    _clamps(hass, 70, 45, 40)
    assert await _cycle(hass, site_entry) == 10
    # When it stops, the headroom comes back only once the lower load lasted.
    await _tick(hass, freezer, 1)
    _clamps(hass, 50, 45, 40)
    assert await _cycle(hass, site_entry) == 10
    for _ in range(8):
        await _tick(hass, freezer, 5)
        _clamps(hass, 50, 45, 40)
    assert await _cycle(hass, site_entry) == 30

    # The clamps go silent: the last load is held with a margin, then the car
    # falls back to its failsafe current (6 A) and the user is told.
    await _tick(hass, freezer, 20)
    assert await _cycle(hass, site_entry) < 30
    assert hass.states.get(status).state == "holding"
    await _tick(hass, freezer, 60)
    assert await _cycle(hass, site_entry) == 6
    assert hass.states.get(status).state == "failed"
    issue_id = f"meter_unavailable_{site_entry.entry_id}_{meter_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "meter": "Main CT clamps",
        "site": "Maple Court",
    }
    # They come back: at once out of the failsafe, and the issue goes; the
    # lower load they now show counts once it has lasted (the last known load
    # was in force until this reading replaced it).
    await _tick(hass, freezer, 1)
    _clamps(hass, 20, 20, 20)
    assert await _cycle(hass, site_entry) == 30
    assert hass.states.get(status).state == "fresh"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    for _ in range(8):
        await _tick(hass, freezer, 5)
        _clamps(hass, 20, 20, 20)
    assert await _cycle(hass, site_entry) == 32  # the car's own maximum

    # Diagnostics show the meter, and the measured load replays exactly.
    diag = await async_get_config_entry_diagnostics(hass, site_entry)
    assert diag["meters"][meter_id]["state"] == "fresh"
    assert diag["meters"][meter_id]["non_ev_load_a"] == [20.0, 20.0, 20.0]
    (site_group,) = [
        g for g in diag["last_allocation_input"]["groups"] if g["id"] == "site"
    ]
    assert site_group["unmanaged_a"] == [20.0, 20.0, 20.0]
    await assert_replays(hass, diag, tmp_path)


async def test_unavailable_sensor_never_widens_headroom(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await _setup(hass, site_entry)
    site_entry.runtime_data.controller.add_source(_one_car())
    _clamps(hass, 60, 60, 60)
    await _meter_flow(
        hass,
        site_entry,
        "sensors",
        {CONF_NAME: "Clamps", "group": "site", "stale_after_s": 15, **CLAMPS},
    )
    assert await _cycle(hass, site_entry) == 20
    hass.states.async_set("sensor.clamp_l1", "unavailable", AMPS)
    for _ in range(20):
        await _tick(hass, freezer, 5)
        assert await _cycle(hass, site_entry) <= 20


async def test_power_only_meter_with_export_positive_sign(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    await _setup(hass, site_entry)
    site_entry.runtime_data.controller.add_source(_one_car())
    # A P1 reader that counts export as positive: -9200 W means importing 9.2 kW.
    hass.states.async_set("sensor.p1_power", "-9200", WATTS)
    result = await _meter_flow(
        hass,
        site_entry,
        "sensors",
        {
            CONF_NAME: "P1",
            "group": "site",
            "stale_after_s": 15,
            "power": "sensor.p1_power",
            "power_sign": "export_positive",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # A total cannot say which phase carries it: 40 A (9.2 kW / 230 V) is
    # counted on every phase, so the car gets 80 - 40 A.
    assert await _cycle(hass, site_entry) == 32
    await asyncio.sleep(0.01)  # a later reading
    hass.states.async_set("sensor.p1_power", "-13800", WATTS)  # 60 A
    assert await _cycle(hass, site_entry) == 20


@pytest.fixture
async def modbus_meter() -> Any:
    async with SimulatedModbusMeter("sdm630") as meter:
        yield meter


async def test_modbus_meter_probed_then_read(
    hass: HomeAssistant,
    site_entry: MockConfigEntry,
    modbus_meter: SimulatedModbusMeter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "custom_components.ev_power_share.meter_flow.PROBE_TIMEOUT_S", 0.5
    )
    await _setup(hass, site_entry)
    site_entry.runtime_data.controller.add_source(_one_car())
    panel = await _add(hass, site_entry, **{CONF_NAME: "Garage panel", "rating_a": 63})
    site_entry.runtime_data.controller.add_source(
        FakeTransport([Port("car2", panel, max_a=32.0, ev=Vehicle(max_a=32.0))])
    )
    modbus_meter.set(currents=(30.0, 8.0, 5.0), power_w=9890.0, import_kwh=1234.5)
    form = {
        CONF_NAME: "Main meter",
        "group": "site",
        "profile": "sdm630",
        "host": "127.0.0.1",
        "port": modbus_meter.port,
        "unit": 1,
        "poll_interval_s": 1,
        "stale_after_s": 15,
    }
    # Nothing on that port: said so, nothing saved.
    result = await _meter_flow(hass, site_entry, "modbus", {**form, "port": 1})
    assert result["errors"] == {"base": "meter_cannot_connect"}
    # A single-phase model on a three-phase group.
    result = await _meter_flow(
        hass, site_entry, "modbus", {**form, "profile": "sdm120"}
    )
    assert result["errors"] == {"profile": "meter_phases_mismatch"}
    result = await _meter_flow(hass, site_entry, "modbus", form)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    meter_id = next(
        sid for sid, s in site_entry.subentries.items() if s.subentry_type == "meter"
    )
    meters = site_entry.runtime_data.meters
    # Wait for the first poll.
    for _ in range(50):
        if meters.reading(meter_id) is not None:
            break
        await asyncio.sleep(0.05)
    assert meters.reading(meter_id) is not None
    await _cycle(hass, site_entry)
    registry = er.async_get(hass)

    def state(key: str) -> str:
        entity_id = registry.async_get_entity_id(
            "sensor", DOMAIN, f"{site_entry.entry_id}_{meter_id}_{key}"
        )
        assert entity_id is not None, key
        return hass.states.get(entity_id).state

    assert state("meter_current_l1") == "30.0"
    assert state("meter_power") == "9890.0"
    assert state("meter_energy_import") == "1234.5"
    device = _device(dr.async_get(hass), f"{site_entry.entry_id}_{meter_id}")
    assert device is not None
    assert (device.manufacturer, device.model) == ("Eastron", "SDM630")

    # The site's 80 A minus 30 A of building load on L1, shared by two cars.
    allocation = site_entry.runtime_data.controller.data.allocation
    assert allocation.ports["car"].current_a == 25
    assert allocation.ports["car2"].current_a == 25

    # Reconfigure keeps the probe: a wrong unit id is refused.
    result = await hass.config_entries.subentries.async_init(
        (site_entry.entry_id, SUBENTRY_METER),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": meter_id},
    )
    assert result["step_id"] == "reconfigure_modbus"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**form, "unit": 7}
    )
    assert result["errors"] == {"base": "meter_no_response"}
