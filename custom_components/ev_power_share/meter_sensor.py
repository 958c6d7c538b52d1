"""Sensors of a meter: the non-EV load it gives its group, its state, and for a
Modbus meter what it reads (the CT clamps' currents, power, energy). The kinds of
figure (``CURRENT``, ``POWER_KW``, …) are here for every sensor of the site."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import time
from typing import Any, TypedDict

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfPower,
)

from .controller import SiteController
from .core.load_estimate import MeterState
from .data import meter_settings
from .devices import meter_device_identifier
from .entity import DeviceEntity, WritesOnChange
from .meters import MeterSettings, SiteMeters
from .modbus import PROFILES


class SensorKind(TypedDict, total=False):
    """What a kind of figure is (its device and state class, unit and
    precision), spread into the descriptions of the sensors of it."""

    device_class: SensorDeviceClass
    native_unit_of_measurement: str
    state_class: SensorStateClass
    suggested_display_precision: int


CURRENT = SensorKind(
    device_class=SensorDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=1,
)
"""Every current sensor of the integration (of a group, connector or meter)."""
POWER_KW = SensorKind(
    device_class=SensorDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.KILO_WATT,
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=2,
)
"""The power of a group or connector."""
ENERGY_TOTAL = SensorKind(
    device_class=SensorDeviceClass.ENERGY,
    native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    state_class=SensorStateClass.TOTAL_INCREASING,
)
"""An energy register (for the Energy dashboard)."""


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


def _energy(direction: str) -> Callable[[SiteMeters, MeterSettings], float | None]:
    """The register of the energy imported or exported (``direction``)."""

    def value(meters: SiteMeters, meter: MeterSettings) -> float | None:
        reading = meters.reading(meter.id)
        if reading is None:
            return None
        kwh = reading.import_kwh if direction == "import" else reading.export_kwh
        return None if kwh is None else round(kwh, 3)

    return value


def _reading(
    key: str,
    value_fn: Callable[[SiteMeters, MeterSettings], float | None],
    kind: SensorKind,
) -> MeterSensorDescription:
    """A figure the Modbus meter reads itself, ``meter_<key>``."""
    return MeterSensorDescription(
        key=f"meter_{key}",
        translation_key=f"meter_{key}",
        value_fn=value_fn,
        reading=True,
        **kind,
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
    _reading(
        "power",
        _power,
        SensorKind(
            device_class=SensorDeviceClass.POWER,
            native_unit_of_measurement=UnitOfPower.WATT,
            state_class=SensorStateClass.MEASUREMENT,
        ),
    ),
    _reading("energy_import", _energy("import"), ENERGY_TOTAL),
    _reading("energy_export", _energy("export"), ENERGY_TOTAL),
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


class MeterSensor(WritesOnChange, DeviceEntity, SensorEntity):
    """A figure of one meter, refreshed every control cycle."""

    entity_description: MeterSensorDescription

    def __init__(
        self,
        controller: SiteController,
        meters: SiteMeters,
        meter: MeterSettings,
        description: MeterSensorDescription,
    ) -> None:
        """Attach to the meter's device."""
        super().__init__(controller, description, meter_device_identifier, meter.id)
        self.meters = meters
        self.meter_id = meter.id

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


def meter_sensors(
    controller: SiteController, meters: SiteMeters, subentry: ConfigSubentry
) -> list[MeterSensor]:
    """The sensors of a meter subentry (on the legs of the group it measures)."""
    meter = meter_settings(subentry)
    group_legs = _group_legs(controller, meter.group)
    phases = PROFILES[meter.profile].phases if meter.source == "modbus" else 0
    return [
        MeterSensor(controller, meters, meter, d)
        for d in meter_sensor_descriptions(meter, group_legs, phases)
    ]


def _group_legs(controller: SiteController, group_id: str) -> tuple[int, ...]:
    for group in controller.groups:
        if group.id == group_id:
            return group.phases
    return tuple(range(controller.supply.legs))
