"""Binary sensors of a charger: online, and a vehicle plugged in per connector."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined,unused-ignore]
    # The device class moved to .const in 2026 but is still re-exported; the
    # 2025.4 package only has it here, so import it from the package for both.
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import EvPowerShareConfigEntry
from .entity import (
    ChargerEntity,
    ConnectorView,
    async_add_subentry_entities,
    charger_entities,
)

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ChargerBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor of a charger or connector and how to read it."""

    value_fn: Callable[[ConnectorView], bool | None]
    while_offline: bool = False
    """Available while the charger is offline."""


CHARGER_BINARY_SENSORS: tuple[ChargerBinarySensorDescription, ...] = (
    # Connected to Home Assistant and under its control (holds our failsafe).
    ChargerBinarySensorDescription(
        key="online",
        translation_key="charger_online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        while_offline=True,
        value_fn=lambda view: view.online,
    ),
)
CONNECTOR_BINARY_SENSORS: tuple[ChargerBinarySensorDescription, ...] = (
    # A vehicle is plugged into the connector, as the charger's last status said.
    ChargerBinarySensorDescription(
        key="vehicle",
        translation_key="vehicle_connected",
        device_class=BinarySensorDeviceClass.PLUG,
        value_fn=lambda view: (
            None if view.state is None else view.state.vehicle_connected
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvPowerShareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Per charger: online; per connector: vehicle connected."""
    make = charger_entities(
        entry,
        ChargerBinarySensor,
        per_charger=CHARGER_BINARY_SENSORS,
        per_connector=CONNECTOR_BINARY_SENSORS,
    )
    async_add_subentry_entities(hass, entry, async_add_entities, make)


class ChargerBinarySensor(ChargerEntity, BinarySensorEntity):
    """A binary sensor of a charger (``connector`` None) or one connector."""

    entity_description: ChargerBinarySensorDescription

    @property
    def available(self) -> bool:
        """Unknown while the charger is offline, unless it says so."""
        return super().available and (
            self.entity_description.while_offline
            or self.source.online(self.charge_point_id)
        )

    @property
    def is_on(self) -> bool | None:
        """The description's reading of the charger or connector now."""
        return self.entity_description.value_fn(self.view)
