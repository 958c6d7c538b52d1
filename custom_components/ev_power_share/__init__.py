"""EV Power Share: share a site's electrical capacity between EV chargers."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .data import EvPowerShareConfigEntry, SiteRuntime, SiteSettings

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS: list[Platform] = []


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration (service actions are registered here)."""
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> bool:
    """Set up a site."""
    settings = SiteSettings.from_entry_data(entry.data)
    entry.runtime_data = SiteRuntime(settings=settings)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=settings.name,
        manufacturer="EV Power Share",
        model="Site",
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> bool:
    """Unload a site."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
