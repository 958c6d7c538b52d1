"""Sensors of a meter: the non-EV load it gives its group, its state, and for a
Modbus meter what it reads (the CT clamps' currents, power, energy)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import time
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.helpers.device_registry import DeviceInfo

from .controller import SiteController
from .core.load_estimate import MeterState
from .devices import meter_device_identifier
from .entity import WritesOnChange
from .meters import MeterSettings, SiteMeters

CURRENT = {
    "device_class": SensorDeviceClass.CURRENT,
    "native_unit_of_measurement": UnitOfElectricCurrent.AMPERE,
    "state_class": SensorStateClass.MEASUREMENT,
    "suggested_display_precision": 1,
}
"""What every current sensor of the integration is (of a group, connector or
meter)."""


def current_per_leg[D: SensorEntityDescription](
    description: Callable[..., D],
    key: str,
    value_fn: Callable[[int], Callable[..., float | None]],
    translation_key: str | None = None,
    **fields: Any,
) -> tuple[D, ...]:
    """A current sensor per leg, ``<key>_l1`` to ``<key>_l3`` (and so their
    translation keys); ``value_fn(leg)`` reads leg ``leg`` (0 to 2)."""
    return tuple(
        description(
            key=f"{key}_l{leg + 1}",
            translation_key=f"{translation_key or key}_l{leg + 1}",
            value_fn=value_fn(leg),
            **CURRENT,
            **fields,
        )
        for leg in range(3)
    )


@dataclass(frozen=True, kw_only=True)
class MeterSensorDescription(SensorEntityDescription):
    """A meter sensor and how to read it."""

    value_fn: Callable[[SiteMeters, MeterSettings], float | str | None]
    reading: bool = False
    """Read from the Modbus meter itself: unavailable while it has no fresh one."""


def _non_ev(leg: int) -> Callable[[SiteMeters, MeterSettings], float | None]:
    def value(meters: SiteMeters, meter: MeterSettings) -> float | None:
        estimate = meters.estimates.get(meter.id)
        if estimate is None:
            return None
        return round(estimate.unmanaged_a[leg], 2)

    return value


def _status(meters: SiteMeters, meter: MeterSettings) -> str | None:
    estimate = meters.estimates.get(meter.id)
    return None if estimate is None else estimate.state.value


def _current(phase: int) -> Callable[[SiteMeters, MeterSettings], float | None]:
    def value(meters: SiteMeters, meter: MeterSettings) -> float | None:
        reading = meters.reading(meter.id)
        if reading is None or len(reading.currents_a) <= phase:
            return None
        return round(abs(reading.currents_a[phase]), 2)

    return value


def _power(meters: SiteMeters, meter: MeterSettings) -> float | None:
    reading = meters.reading(meter.id)
    return None if reading is None else round(reading.power_w, 1)


def _energy(direction: str) -> MeterSensorDescription:
    """The register of the energy imported or exported (``direction``)."""

    def value(meters: SiteMeters, meter: MeterSettings) -> float | None:
        reading = meters.reading(meter.id)
        if reading is None:
            return None
        kwh = reading.import_kwh if direction == "import" else reading.export_kwh
        return None if kwh is None else round(kwh, 3)

    return MeterSensorDescription(
        key=f"meter_energy_{direction}",
        translation_key=f"meter_energy_{direction}",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=value,
        reading=True,
    )


NON_EV_SENSORS = current_per_leg(MeterSensorDescription, "non_ev_load", _non_ev)
STATUS_SENSOR = MeterSensorDescription(
    key="meter_status",
    translation_key="meter_status",
    device_class=SensorDeviceClass.ENUM,
    options=[s.value for s in MeterState],
    entity_category=EntityCategory.DIAGNOSTIC,
    value_fn=_status,
)
READING_CURRENTS = current_per_leg(
    MeterSensorDescription, "meter_current", _current, reading=True
)
READING_SENSORS = (
    MeterSensorDescription(
        key="meter_power",
        translation_key="meter_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=_power,
        reading=True,
    ),
    _energy("import"),
    _energy("export"),
)


def meter_sensor_descriptions(
    meter: MeterSettings, group_legs: tuple[int, ...], phases: int
) -> list[MeterSensorDescription]:
    """The sensors of a meter: non-EV load on the group's legs, its status, and
    for a Modbus meter its own readings (``phases`` of them)."""
    found = [NON_EV_SENSORS[leg] for leg in group_legs]
    found.append(STATUS_SENSOR)
    if meter.source == "modbus":
        found += [*READING_CURRENTS[:phases], *READING_SENSORS]
    return found


class MeterSensor(WritesOnChange, SensorEntity):
    """A figure of one meter, refreshed every control cycle."""

    _attr_has_entity_name = True
    entity_description: MeterSensorDescription

    def __init__(
        self,
        controller: SiteController,
        meters: SiteMeters,
        meter: MeterSettings,
        description: MeterSensorDescription,
    ) -> None:
        """Attach to the meter's device; the unique id survives renames."""
        super().__init__(controller)
        entry_id = controller.config_entry.entry_id
        self.meters = meters
        self.meter_id = meter.id
        self.entity_description = description
        self._attr_unique_id = f"{entry_id}_{meter.id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={meter_device_identifier(entry_id, meter.id)}
        )

    @property
    def available(self) -> bool:
        """While the meter is configured; readings only while fresh."""
        meter = self.meters.meters.get(self.meter_id)
        if not super().available or meter is None:
            return False
        if not self.entity_description.reading:
            return True
        reading = self.meters.reading(self.meter_id)
        return (
            reading is not None
            and time.time() - reading.timestamp.timestamp() <= meter.stale_s
        )

    @property
    def native_value(self) -> float | str | None:
        """The meter's figure now."""
        meter = self.meters.meters.get(self.meter_id)
        if meter is None:
            return None
        return self.entity_description.value_fn(self.meters, meter)
