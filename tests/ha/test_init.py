"""Setting a site up and unloading it."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_power_share.const import DOMAIN
from custom_components.ev_power_share.core.model import SupplySystem
from custom_components.ev_power_share.data import SiteRuntime


async def test_setup_and_unload(
    hass: HomeAssistant, site_entry: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    assert site_entry.state is ConfigEntryState.LOADED

    runtime = site_entry.runtime_data
    assert isinstance(runtime, SiteRuntime)
    assert runtime.settings.supply.system is SupplySystem.THREE_PHASE_WYE
    assert runtime.settings.supply.voltage_ln_v == 230.0
    assert runtime.settings.site_limit_a == 80.0

    devices = dr.async_entries_for_config_entry(device_registry, site_entry.entry_id)
    assert len(devices) == 1
    device = devices[0]
    assert device.identifiers == {(DOMAIN, site_entry.entry_id)}
    assert device.name == "Maple Court"
    assert device.model == "Site"

    assert await hass.config_entries.async_unload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert site_entry.state is ConfigEntryState.NOT_LOADED


async def test_reload(hass: HomeAssistant, site_entry: MockConfigEntry) -> None:
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert site_entry.state is ConfigEntryState.LOADED
