"""The site's limit override: what an automation lowers for demand response."""

from __future__ import annotations

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberMode,
    RestoreNumber,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import UnitOfElectricCurrent, UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SITE_GROUP_ID, SUBENTRY_CHARGER
from .controller import LimitOverride, SiteController
from .data import EvPowerShareConfigEntry, charger_config
from .entity import ChargerEntity, EvPowerShareEntity, async_add_subentry_entities

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

    def make(sub: ConfigSubentry) -> list[NumberEntity]:
        if sub.subentry_type != SUBENTRY_CHARGER:
            return []
        charger = charger_config(sub)
        found: list[NumberEntity] = []
        for n in range(1, charger.connectors + 1):
            found.append(
                MaxCurrentNumber(
                    runtime.controller, runtime.ocpp, sub.subentry_id, charger, "max", n
                )
            )
            found.append(
                EnergyToAddNumber(
                    runtime.controller,
                    runtime.ocpp,
                    sub.subentry_id,
                    charger,
                    "energy_to_add",
                    n,
                )
            )
        return found

    async_add_subentry_entities(hass, entry, async_add_entities, make)


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


class MaxCurrentNumber(ChargerEntity, RestoreNumber):
    """The most the connector may be given (up to the charger's maximum)."""

    _attr_translation_key = "max_current"
    _attr_device_class = NumberDeviceClass.CURRENT
    _attr_native_unit_of_measurement = UnitOfElectricCurrent.AMPERE
    _attr_native_step = 1.0
    _attr_mode = NumberMode.BOX

    @property
    def _port_id(self) -> str:
        return self.source.chargers[self.charge_point_id].port_id(self.connector or 1)

    @property
    def native_min_value(self) -> float:
        """The site's minimum current: below it a vehicle cannot charge."""
        return self.coordinator.settings.min_current_a

    @property
    def native_max_value(self) -> float:
        """The charger's maximum."""
        return self.source.chargers[self.charge_point_id].max_current_a

    async def async_added_to_hass(self) -> None:
        """Restore the user's cap."""
        await super().async_added_to_hass()
        last = await self.async_get_last_number_data()
        if last is not None and last.native_value is not None:
            self._apply(last.native_value)

    def _apply(self, value: float) -> None:
        cap = min(max(value, self.native_min_value), self.native_max_value)
        self.source.control(self._port_id).max_current_a = (
            None if cap >= self.native_max_value else cap
        )

    @property
    def native_value(self) -> float:
        """The cap in force."""
        cap = self.source.control(self._port_id).max_current_a
        return self.native_max_value if cap is None else cap

    async def async_set_native_value(self, value: float) -> None:
        """Set the cap and re-allocate at once."""
        self._apply(value)
        self.async_write_ha_state()
        await self.coordinator.async_request_refresh()


class EnergyToAddNumber(ChargerEntity, RestoreNumber):
    """Scheduled mode: the energy to add in a session, by the departure time."""

    _attr_translation_key = "energy_to_add"
    _attr_device_class = NumberDeviceClass.ENERGY
    _attr_native_unit_of_measurement = UnitOfEnergy.KILO_WATT_HOUR
    _attr_native_min_value = 0.0
    _attr_native_max_value = 200.0
    _attr_native_step = 1.0
    _attr_mode = NumberMode.BOX

    @property
    def _port_id(self) -> str:
        return self.source.chargers[self.charge_point_id].port_id(self.connector or 1)

    async def async_added_to_hass(self) -> None:
        """Restore the user's choice."""
        await super().async_added_to_hass()
        last = await self.async_get_last_number_data()
        if last is not None and last.native_value is not None:
            self.source.control(self._port_id).energy_kwh = float(last.native_value)

    @property
    def native_value(self) -> float:
        """The energy to add."""
        return self.source.control(self._port_id).energy_kwh

    async def async_set_native_value(self, value: float) -> None:
        """Set it and re-plan at once."""
        self.source.control(self._port_id).energy_kwh = value
        self.async_write_ha_state()
        await self.coordinator.async_request_refresh()
