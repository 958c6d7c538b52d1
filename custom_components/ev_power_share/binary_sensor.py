"""Binary sensors of a charger: online, and a vehicle plugged in per connector."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined,unused-ignore]
    # The device class moved to .const in 2026 but is still re-exported; the
    # 2025.4 package only has it here, so import it from the package for both.
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SUBENTRY_CHARGER
from .data import EvPowerShareConfigEntry, charger_config
from .entity import ChargerEntity, async_add_subentry_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvPowerShareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Per charger: online; per connector: vehicle connected."""
    runtime = entry.runtime_data

    def make(sub: ConfigSubentry) -> list[BinarySensorEntity]:
        if sub.subentry_type != SUBENTRY_CHARGER:
            return []
        charger = charger_config(sub)
        args = (runtime.controller, runtime.ocpp, sub.subentry_id, charger)
        return [
            ChargerOnline(*args, "online"),
            *(
                VehicleConnected(*args, "vehicle", n)
                for n in range(1, charger.connectors + 1)
            ),
        ]

    async_add_subentry_entities(hass, entry, async_add_entities, make)


class ChargerOnline(ChargerEntity, BinarySensorEntity):
    """Connected to Home Assistant and under its control (holds our failsafe)."""

    _attr_translation_key = "charger_online"
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    @property
    def is_on(self) -> bool:
        """True while the charger is controlled."""
        return self.source.online(self.charge_point_id)


class VehicleConnected(ChargerEntity, BinarySensorEntity):
    """A vehicle is plugged into the connector."""

    _attr_translation_key = "vehicle_connected"
    _attr_device_class = BinarySensorDeviceClass.PLUG

    @property
    def available(self) -> bool:
        """Unknown while the charger is offline."""
        return super().available and self.source.online(self.charge_point_id)

    @property
    def is_on(self) -> bool | None:
        """As the charger's last status said."""
        state = self.view.state
        return None if state is None else state.vehicle_connected
