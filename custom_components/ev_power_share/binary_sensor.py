"""Binary sensors of a charger: online, and a vehicle plugged in per connector."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined,unused-ignore]
    # The device class moved to .const in 2026 but is still re-exported; the
    # 2025.4 package only has it here, so import it from the package for both.
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory

from .entity import ConnectorFigure, ConnectorReading


@dataclass(frozen=True, kw_only=True)
class ChargerBinarySensorDescription(
    BinarySensorEntityDescription, ConnectorReading[bool | None]
):
    """A binary sensor of a charger or connector and how to read it."""


# Connected to Home Assistant and under its control (holds our failsafe).
ONLINE = ChargerBinarySensorDescription(
    key="online",
    translation_key="charger_online",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    while_offline=True,
    value_fn=lambda view: view.online,
)

# A vehicle is plugged into the connector, as the charger's last status said.
VEHICLE = ChargerBinarySensorDescription(
    key="vehicle",
    translation_key="vehicle_connected",
    device_class=BinarySensorDeviceClass.PLUG,
    value_fn=lambda view: None if view.state is None else view.state.vehicle_connected,
)


class ChargerBinarySensor(ConnectorFigure[bool | None], BinarySensorEntity):
    """A binary sensor of a charger (``connector`` None) or one connector;
    unknown while the charger is offline, unless its description says."""

    entity_description: ChargerBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """The description's reading of the charger or connector now."""
        return self.reading


async_setup_entry = ChargerBinarySensor.setup_entry(
    per_charger=(ONLINE,),
    per_connector=(VEHICLE,),
    per_port=(ONLINE, VEHICLE),
)
"""Per charger: online; per connector: vehicle connected."""

# Every state comes from the controller's cycle: nothing to limit.
PARALLEL_UPDATES = 0
