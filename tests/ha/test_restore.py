"""The connector settings a user made are kept across restarts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from homeassistant.core import HomeAssistant, State
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache,
    mock_restore_cache_with_extra_data,
)

from custom_components.ev_power_share.const import DOMAIN
from custom_components.ev_power_share.core.solar import ChargeMode

from .test_site_control import _setup
from .test_snapshots import CHARGER_ID, site_with_panel  # noqa: F401 - the fixture

PORT_1, PORT_2 = "space-12:1", "space-12:2"


async def test_settings_are_restored(
    hass: HomeAssistant,
    site_with_panel: MockConfigEntry,  # noqa: F811
) -> None:
    states = [
        State("switch.space_12_charging_connector_1", "off"),
        State("switch.space_12_charging_connector_2", "unavailable"),
        State("select.space_12_charge_mode_connector_1", "solar"),
        State("select.space_12_charge_mode_connector_2", "no such mode"),
        State("time.space_12_departure_connector_1", "06:15:00"),
        State("time.space_12_departure_connector_2", "unknown"),
    ]
    number = {
        "native_max_value": 32.0,
        "native_min_value": 0.0,
        "native_step": 1.0,
        "native_unit_of_measurement": "A",
    }
    mock_restore_cache_with_extra_data(
        hass,
        [
            *((state, {}) for state in states),
            (
                State("number.space_12_maximum_current_connector_1", "10"),
                number | {"native_value": 10.0},
            ),
            (
                # Above the charger's 16 A: no cap at all.
                State("number.space_12_maximum_current_connector_2", "20"),
                number | {"native_value": 20.0},
            ),
            (
                State("number.space_12_energy_to_add_connector_1", "35"),
                number | {"native_value": 35.0, "native_max_value": 200.0},
            ),
        ],
    )
    await _setup(hass, site_with_panel)

    controller = site_with_panel.runtime_data.controller
    one, two = controller.port_settings(PORT_1), controller.port_settings(PORT_2)
    assert (one.enabled, two.enabled) == (False, True)
    assert (one.mode, two.mode) == (ChargeMode.SOLAR, ChargeMode.FAST)
    assert (one.departure, two.departure) == (dt.time(6, 15), dt.time(7, 0))
    assert (one.max_current_a, two.max_current_a) == (10.0, None)
    assert (one.energy_kwh, two.energy_kwh) == (35.0, 20.0)
    assert hass.states.get("switch.space_12_charging_connector_1").state == "off"
    assert hass.states.get("number.space_12_maximum_current_connector_2").state == (
        "16.0"
    )


async def test_settings_are_kept_by_the_controller(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    site_with_panel: MockConfigEntry,  # noqa: F811
) -> None:
    """What the user sets through the entities is kept in the controller's store
    (beside the overrides), and comes back from there: the entities' own last
    states are not needed, and a stored setting wins over them."""
    await _setup(hass, site_with_panel)
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": "switch.space_12_charging_connector_2"},
        blocking=True,
    )
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": "select.space_12_charge_mode_connector_1", "option": "solar"},
        blocking=True,
    )
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.space_12_maximum_current_connector_1", "value": 12},
        blocking=True,
    )
    assert await hass.config_entries.async_unload(site_with_panel.entry_id)
    await hass.async_block_till_done()
    stored = hass_storage[f"{DOMAIN}.{site_with_panel.entry_id}"]["data"]["ports"]
    assert stored[PORT_1]["mode"] == "solar"
    assert stored[PORT_1]["max_current_a"] == 12.0
    assert stored[PORT_2]["enabled"] is False

    # The entities' last states say otherwise: the store wins.
    mock_restore_cache(hass, [State("switch.space_12_charging_connector_2", "on")])
    assert await hass.config_entries.async_setup(site_with_panel.entry_id)
    await hass.async_block_till_done()
    controller = site_with_panel.runtime_data.controller
    one, two = controller.port_settings(PORT_1), controller.port_settings(PORT_2)
    assert (one.mode, one.max_current_a, two.enabled) == (ChargeMode.SOLAR, 12.0, False)
    assert hass.states.get("switch.space_12_charging_connector_2").state == "off"
    assert hass.states.get("select.space_12_charge_mode_connector_1").state == "solar"


async def test_a_removed_chargers_settings_are_forgotten(
    hass: HomeAssistant,
    site_with_panel: MockConfigEntry,  # noqa: F811
) -> None:
    await _setup(hass, site_with_panel)
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": "switch.space_12_charging_connector_1"},
        blocking=True,
    )
    controller = site_with_panel.runtime_data.controller
    assert set(controller._persisted.ports) >= {PORT_1}
    hass.config_entries.async_remove_subentry(site_with_panel, CHARGER_ID)
    await hass.async_block_till_done()
    controller = site_with_panel.runtime_data.controller
    assert not {PORT_1, PORT_2} & set(controller._persisted.ports)
