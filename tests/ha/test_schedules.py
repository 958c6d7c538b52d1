"""Time-of-use limits: a real `schedule` helper lowers a group's limit in its
window (weekdays 12:00–18:00 no charging, evenings at most 11 kW)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.ev_power_share.const import SUBENTRY_SCHEDULE
from custom_components.ev_power_share.core.model import Port, Vehicle

from .test_groups import _add
from .test_site_control import FakeTransport, _setup

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


async def _limit_flow(
    hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, Any]
) -> dict[str, Any]:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_SCHEDULE), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], data
    )
    await hass.async_block_till_done()
    return dict(result)


async def _at(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime
) -> None:
    freezer.move_to(when)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


# The schedule helper keeps a timer for its next change after the test.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_schedule_lowers_and_restores_the_limit(
    hass: HomeAssistant, site_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=dt_util.get_default_time_zone())
    await _at(hass, freezer, monday)
    assert await async_setup_component(
        hass,
        "schedule",
        {
            "schedule": {
                "peak": {
                    "name": "Peak",
                    **{
                        day: [{"from": "12:00:00", "to": "18:00:00"}]
                        for day in WEEKDAYS
                    },
                },
                "evening": {
                    "name": "Evening",
                    **{
                        day: [{"from": "18:00:00", "to": "22:00:00"}]
                        for day in (*WEEKDAYS, "saturday", "sunday")
                    },
                },
            }
        },
    )
    await _setup(hass, site_entry)  # 100 A main: 80 A per phase
    controller = site_entry.runtime_data.controller
    controller.add_source(
        FakeTransport([Port("car", "site", max_a=32.0, ev=Vehicle(max_a=32.0))])
    )
    base = {CONF_NAME: "Peak", "group": "site", "schedule": "schedule.peak"}
    for extra, errors in (
        ({}, {"base": "limit_required"}),
        ({"current_a": 120}, {"current_a": "current_out_of_range"}),
        ({"power_kw": -1}, {"power_kw": "power_out_of_range"}),
    ):
        result = await _limit_flow(hass, site_entry, {**base, **extra})
        assert result["errors"] == errors, extra
    result = await _limit_flow(hass, site_entry, {**base, "power_kw": 0})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    result = await _limit_flow(
        hass,
        site_entry,
        {
            CONF_NAME: "Evening",
            "group": "site",
            "schedule": "schedule.evening",
            "power_kw": 11,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY

    async def car() -> float:
        await controller.async_refresh()
        await hass.async_block_till_done()
        return controller.data.allocation.ports["car"].current_a

    assert await car() == 32  # Monday morning: no limit
    await _at(hass, freezer, monday + timedelta(hours=3))  # 12:00
    assert hass.states.get("schedule.peak").state == "on"
    assert await car() == 0  # peak: no charging
    # A window is not a design flaw: no "cannot give the minimum" repair.
    assert not [
        i for (_d, i) in ir.async_get(hass).issues if i.startswith("guarantee_below")
    ]
    await _at(hass, freezer, monday + timedelta(hours=9, minutes=1))  # 18:01
    assert hass.states.get("schedule.evening").state == "on"
    # 11 kW on three phases at 230 V: 15.9 A.
    assert 15.0 <= await car() <= 11000 / (3 * 230)
    await _at(hass, freezer, monday + timedelta(hours=13, minutes=1))  # 22:01
    assert await car() == 32


async def test_a_group_with_a_time_of_use_limit_cannot_be_removed(
    hass: HomeAssistant, site_entry: MockConfigEntry
) -> None:
    hass.states.async_set("input_boolean.demand_response", "off")
    await _setup(hass, site_entry)
    panel = await _add(hass, site_entry)
    result = await _limit_flow(
        hass,
        site_entry,
        {
            CONF_NAME: "Demand response",
            "group": panel,
            "schedule": "input_boolean.demand_response",
            "current_a": 16,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    controller = site_entry.runtime_data.controller
    controller.add_source(
        FakeTransport([Port("car", panel, max_a=32.0, ev=Vehicle(max_a=32.0))])
    )
    await controller.async_refresh()
    assert controller.data.allocation.ports["car"].current_a == 32
    hass.states.async_set("input_boolean.demand_response", "on")
    await hass.async_block_till_done()
    await controller.async_refresh()
    assert controller.data.allocation.ports["car"].current_a == 16

    hass.config_entries.async_remove_subentry(site_entry, panel)
    await hass.async_block_till_done()
    await hass.async_block_till_done()
    assert panel in site_entry.subentries  # put back: the limit hangs under it
