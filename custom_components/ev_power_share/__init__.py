"""EV Power Share: share a site's electrical capacity between EV chargers."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .controller import SiteController
from .data import EvPowerShareConfigEntry, SiteRuntime, SiteSettings, control_settings
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS: list[Platform] = [Platform.NUMBER, Platform.SELECT, Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration: its service actions."""
    async_setup_services(hass)
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> bool:
    """Set up a site: its device, its controller, its entities."""
    settings = SiteSettings.from_entry_data(entry.data)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=settings.name,
        manufacturer="EV Power Share",
        model="Site",
    )
    controller = SiteController(
        hass, entry, settings.supply, settings.groups(), control_settings(entry.options)
    )
    await controller.async_load()
    await controller.async_config_entry_first_refresh()
    entry.runtime_data = SiteRuntime(settings=settings, controller=controller)
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_options_updated(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> None:
    """Apply new options to the running controller, keeping its state."""
    runtime = entry.runtime_data
    runtime.controller.reconfigure(
        runtime.settings.supply,
        runtime.settings.groups(),
        control_settings(entry.options),
    )
    await runtime.controller.async_request_refresh()


async def async_unload_entry(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> bool:
    """Unload a site (the controller's shutdown is registered on unload)."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
