"""The site's limit override: what an automation lowers for demand response."""

from __future__ import annotations

from homeassistant.components.number import NumberDeviceClass, NumberEntity, NumberMode
from homeassistant.const import UnitOfElectricCurrent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SITE_GROUP_ID
from .controller import LimitOverride, SiteController
from .data import EvPowerShareConfigEntry
from .entity import EvPowerShareEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvPowerShareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The limit override of a site."""
    runtime = entry.runtime_data
    async_add_entities(
        [SiteLimitNumber(runtime.controller, runtime.settings.site_limit_a)]
    )


class SiteLimitNumber(EvPowerShareEntity, NumberEntity):
    """The site's current limit per phase; lower it to shed EV load.

    It can only go down to 0 and up to the main breaker's continuous limit; at the
    maximum the override is cleared.
    """

    _attr_translation_key = "site_limit"
    _attr_device_class = NumberDeviceClass.CURRENT
    _attr_native_unit_of_measurement = UnitOfElectricCurrent.AMPERE
    _attr_native_min_value = 0.0
    _attr_native_step = 1.0
    _attr_mode = NumberMode.BOX

    def __init__(self, controller: SiteController, breaker_limit_a: float) -> None:
        """Attach to the site."""
        super().__init__(controller, SITE_GROUP_ID, "limit_override")
        self._attr_native_max_value = breaker_limit_a

    @property
    def native_value(self) -> float:
        """The limit in force (the override, or the breaker's continuous limit)."""
        override = self.coordinator.overrides.get(SITE_GROUP_ID)
        if override is None or override.current_a is None:
            return self.native_max_value
        return min(override.current_a, self.native_max_value)

    async def async_set_native_value(self, value: float) -> None:
        """Lower (or restore) the site's limit and re-allocate at once."""
        override = (
            None if value >= self.native_max_value else LimitOverride(current_a=value)
        )
        self.coordinator.set_override(SITE_GROUP_ID, override)
        await self.coordinator.async_request_refresh()
