"""Sensors of a power group: load per phase, power, limit, headroom, design."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SITE_GROUP_ID, SUBENTRY_GROUP, SUBENTRY_METER
from .controller import ControllerSnapshot, SiteController
from .core.model import CONNECTIONS
from .data import EvPowerShareConfigEntry
from .entity import (
    ChargerEntity,
    ConnectorView,
    EvPowerShareEntity,
    WritesOnChange,
    async_add_subentry_entities,
    charger_entities,
)
from .meter_sensor import MeterSensor, meter_sensor_descriptions
from .meters import meter_settings
from .modbus import PROFILES
from .ocpp_source import ChargerConfig

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class GroupSensorDescription(SensorEntityDescription):
    """A group sensor and how to read it from a snapshot."""

    value_fn: Callable[[ControllerSnapshot, str], float | int | str | None]


def _leg_load(leg: int) -> Callable[[ControllerSnapshot, str], float | None]:
    def value(snap: ControllerSnapshot, gid: str) -> float | None:
        return round(snap.allocation.groups[gid].load_a[leg], 2)

    return value


def _headroom(snap: ControllerSnapshot, gid: str) -> float | None:
    headroom = snap.allocation.groups[gid].headroom_a
    return None if headroom is None else round(min(headroom), 2)


def _active_ports(snap: ControllerSnapshot, gid: str) -> int:
    chains = {g.id: g.parent for g in snap.site.groups}
    count = 0
    for port in snap.site.ports:
        current: str | None = port.group
        while current is not None and current != gid:
            current = chains[current]
        if current == gid and snap.allocation.ports[port.id].current_a > 0:
            count += 1
    return count


def _limit(snap: ControllerSnapshot, gid: str) -> float | None:
    limit = snap.allocation.groups[gid].limit_a
    return None if limit is None else round(limit, 2)


CURRENT = {
    "device_class": SensorDeviceClass.CURRENT,
    "native_unit_of_measurement": UnitOfElectricCurrent.AMPERE,
    "state_class": SensorStateClass.MEASUREMENT,
    "suggested_display_precision": 1,
}

LEG_SENSORS = tuple(
    GroupSensorDescription(
        key=f"load_l{leg + 1}",
        translation_key=f"load_l{leg + 1}",
        value_fn=_leg_load(leg),
        **CURRENT,  # type: ignore[arg-type]
    )
    for leg in range(3)
)

GROUP_SENSORS: tuple[GroupSensorDescription, ...] = (
    GroupSensorDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda snap, gid: round(snap.allocation.groups[gid].power_kw, 3),
    ),
    GroupSensorDescription(
        key="limit",
        translation_key="limit",
        value_fn=_limit,
        **CURRENT,  # type: ignore[arg-type]
    ),
    GroupSensorDescription(
        key="headroom",
        translation_key="headroom",
        value_fn=_headroom,
        **CURRENT,  # type: ignore[arg-type]
    ),
    GroupSensorDescription(
        key="active_ports",
        translation_key="active_ports",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=_active_ports,
    ),
    GroupSensorDescription(
        key="oversubscription",
        translation_key="oversubscription",
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=2,
        value_fn=lambda snap, gid: snap.design[gid].oversubscription,
    ),
    GroupSensorDescription(
        key="guaranteed_current",
        translation_key="guaranteed_current",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snap, gid: snap.design[gid].guaranteed_a,
        **CURRENT,  # type: ignore[arg-type]
    ),
)

SITE_SENSORS: tuple[GroupSensorDescription, ...] = (
    GroupSensorDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=["ok", "infeasible"],
        value_fn=lambda snap, _gid: "ok" if snap.allocation.feasible else "infeasible",
    ),
    GroupSensorDescription(
        key="cycle_time",
        translation_key="cycle_time",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        native_unit_of_measurement="ms",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda snap, _gid: round(snap.cycle_ms, 3),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvPowerShareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Sensors for the site and for each panel or circuit, also those added later."""
    controller = entry.runtime_data.controller
    per_group = (*LEG_SENSORS[: controller.supply.legs], *GROUP_SENSORS)
    async_add_entities(
        GroupSensor(controller, SITE_GROUP_ID, description)
        for description in (*per_group, *SITE_SENSORS)
    )

    meters = entry.runtime_data.meters

    chargers = charger_entities(
        entry, ConnectorSensor, per_connector=_connector_sensors
    )

    def make(sub: ConfigSubentry) -> list[Entity]:
        if sub.subentry_type == SUBENTRY_GROUP:
            return [GroupSensor(controller, sub.subentry_id, d) for d in per_group]
        if sub.subentry_type == SUBENTRY_METER:
            meter = meter_settings(sub)
            group_legs = _group_legs(controller, meter.group)
            phases = PROFILES[meter.profile].phases if meter.source == "modbus" else 0
            return [
                MeterSensor(controller, meters, meter, d)
                for d in meter_sensor_descriptions(meter, group_legs, phases)
            ]
        return chargers(sub)

    async_add_subentry_entities(hass, entry, async_add_entities, make)


def _connector_sensors(charger: ChargerConfig) -> tuple[EntityDescription, ...]:
    """A current per leg the charger is wired to, then the other figures."""
    legs = len(CONNECTIONS[charger.connection].legs)
    return (*CONNECTOR_CURRENTS[:legs], *CONNECTOR_SENSORS)


def _group_legs(controller: SiteController, group_id: str) -> tuple[int, ...]:
    for group in controller.groups:
        if group.id == group_id:
            return group.phases
    return tuple(range(controller.supply.legs))


class GroupSensor(WritesOnChange, EvPowerShareEntity, SensorEntity):
    """A figure of one power group."""

    entity_description: GroupSensorDescription

    def __init__(
        self,
        controller: SiteController,
        group_id: str,
        description: GroupSensorDescription,
    ) -> None:
        """Describe the sensor."""
        super().__init__(controller, group_id, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> float | int | str | None:
        """The value in the controller's latest snapshot."""
        return self.entity_description.value_fn(self.coordinator.data, self.group_id)


@dataclass(frozen=True, kw_only=True)
class ConnectorSensorDescription(SensorEntityDescription):
    """A sensor of one charger connector and how to read it."""

    value_fn: Callable[[ConnectorView], float | str | None]
    while_offline: bool = False
    """Available while the charger is offline (what we count it at, for one)."""


def _kilo(value: float | None) -> float | None:
    return None if value is None else round(value / 1000.0, 3)


def _phase_current(leg: int) -> Callable[[ConnectorView], float | None]:
    def value(view: ConnectorView) -> float | None:
        if view.state is None or len(view.state.current_a) <= leg:
            return None
        return round(view.state.current_a[leg], 2)

    return value


CONNECTOR_CURRENTS = tuple(
    ConnectorSensorDescription(
        key=f"current_l{leg + 1}",
        translation_key=f"connector_current_l{leg + 1}",
        value_fn=_phase_current(leg),
        **CURRENT,  # type: ignore[arg-type]
    )
    for leg in range(3)
)

CONNECTOR_SENSORS: tuple[ConnectorSensorDescription, ...] = (
    ConnectorSensorDescription(
        key="status",
        translation_key="connector_status",
        value_fn=lambda v: None if v.state is None else v.state.status,
    ),
    ConnectorSensorDescription(
        key="power",
        translation_key="connector_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda v: None if v.state is None else _kilo(v.state.power_w),
    ),
    ConnectorSensorDescription(
        key="energy",
        translation_key="connector_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        while_offline=True,
        value_fn=lambda v: None if v.state is None else _kilo(v.state.energy_wh),
    ),
    ConnectorSensorDescription(
        key="session_energy",
        translation_key="connector_session_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda v: (
            None if v.state is None else _kilo(v.state.session_energy_wh)
        ),
    ),
    ConnectorSensorDescription(
        key="allocated_current",
        translation_key="connector_allocated_current",
        while_offline=True,
        value_fn=lambda v: (
            None if v.allocation is None else round(v.allocation.current_a, 2)
        ),
        **CURRENT,  # type: ignore[arg-type]
    ),
    ConnectorSensorDescription(
        key="soc",
        translation_key="connector_soc",
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda v: None if v.state is None else v.state.soc,
    ),
)


class ConnectorSensor(WritesOnChange, ChargerEntity, RestoreSensor):
    """A figure of one charger connector.

    The energy register is restored across restarts until the charger reports
    again, so the Energy dashboard never sees it drop to unknown and back.
    """

    entity_description: ConnectorSensorDescription
    _restored: float | None = None

    async def async_added_to_hass(self) -> None:
        """Restore the last energy register."""
        await super().async_added_to_hass()
        if self.entity_description.state_class is SensorStateClass.TOTAL_INCREASING:
            last = await self.async_get_last_sensor_data()
            if last is not None and isinstance(last.native_value, (int, float)):
                self._restored = float(last.native_value)

    @property
    def available(self) -> bool:
        """Unavailable while the charger is offline, unless this is what we count."""
        return super().available and (
            self.entity_description.while_offline
            or self.source.online(self.charge_point_id)
        )

    @property
    def native_value(self) -> float | str | None:
        """The connector's value now; the energy register keeps its last value
        while the charger is offline, and across restarts."""
        value = self.entity_description.value_fn(self.view)
        if self.entity_description.state_class is not SensorStateClass.TOTAL_INCREASING:
            return value
        if isinstance(value, float):
            self._restored = value
        return self._restored

    @property
    def extra_state_attributes(self) -> dict[str, str] | None:
        """Why the allocated current is what it is."""
        if self.entity_description.key != "allocated_current":
            return None
        allocation = self.view.allocation
        return None if allocation is None else {"reason": allocation.reason}

    def _shown(self) -> object:
        """The value, and the reason of the allocated current."""
        available = self.available
        if not available:
            return (False, None, None)
        reason = (self.extra_state_attributes or {}).get("reason")
        return (True, self.native_value, reason)
