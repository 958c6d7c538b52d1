"""Sensors of a power group (load per phase, power, limit, headroom, design) and
of a charger's connectors; a meter's are in :mod:`.meter_sensor`."""

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
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfEnergy
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import SITE_GROUP_ID, SUBENTRY_GROUP, SUBENTRY_METER, SUBENTRY_USER
from .controller import ControllerSnapshot, SiteController
from .core.model import CONNECTIONS
from .csms import ConnectorState
from .data import EvPowerShareConfigEntry
from .entity import (
    ConnectorFigure,
    ConnectorReading,
    ConnectorView,
    EvPowerShareEntity,
    WritesOnChange,
)
from .entity_setup import charger_entities, platform_setup
from .meter_sensor import CURRENT, POWER_KW, current_per_leg, meter_sensors
from .ocpp_source import ChargerConfig
from .user_sensor import site_sensors, user_sensors


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


@dataclass(frozen=True, kw_only=True)
class GroupSensorDescription(SensorEntityDescription):
    """A group sensor and how to read it from a snapshot."""

    value_fn: Callable[[ControllerSnapshot, str], float | int | str | None]


LEG_SENSORS = current_per_leg(GroupSensorDescription, "load", _leg_load)

GROUP_SENSORS: tuple[GroupSensorDescription, ...] = (
    GroupSensorDescription(
        key="power",
        translation_key="power",
        **POWER_KW,
        value_fn=lambda snap, gid: round(snap.allocation.groups[gid].power_kw, 3),
    ),
    GroupSensorDescription(
        key="limit",
        translation_key="limit",
        value_fn=_limit,
        **CURRENT,
    ),
    GroupSensorDescription(
        key="headroom",
        translation_key="headroom",
        value_fn=_headroom,
        **CURRENT,
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
        **CURRENT,
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


def _group_sensors(controller: SiteController) -> tuple[GroupSensorDescription, ...]:
    """The loads of the legs the site has, then the other figures."""
    return (*LEG_SENSORS[: controller.supply.legs], *GROUP_SENSORS)


def _connector_sensors(charger: ChargerConfig) -> tuple[EntityDescription, ...]:
    """A current per leg the charger is wired to, then the other figures."""
    legs = len(CONNECTIONS[charger.connection].legs)
    return (*CONNECTOR_CURRENTS[:legs], *CONNECTOR_SENSORS)


class GroupSensor(WritesOnChange, EvPowerShareEntity, SensorEntity):
    """A figure of one power group."""

    entity_description: GroupSensorDescription

    @property
    def native_value(self) -> float | int | str | None:
        """The value in the controller's latest snapshot."""
        return self.entity_description.value_fn(self.coordinator.data, self.group_id)


@dataclass(frozen=True, kw_only=True)
class ConnectorSensorDescription(
    SensorEntityDescription, ConnectorReading[float | str | None]
):
    """A sensor of one charger connector and how to read it."""


def _kilo(value: float | None) -> float | None:
    return None if value is None else round(value / 1000.0, 3)


def _phase_current(leg: int) -> Callable[[ConnectorView], float | None]:
    def value(view: ConnectorView) -> float | None:
        if view.state is None or len(view.state.current_a) <= leg:
            return None
        return round(view.state.current_a[leg], 2)

    return value


def _energy(
    key: str, wh: Callable[[ConnectorState], float | None], *, register: bool
) -> ConnectorSensorDescription:
    """An energy of the connector in kWh: its meter's register (kept while the
    charger is offline, and across restarts), or the session's."""
    return ConnectorSensorDescription(
        key=key,
        translation_key=f"connector_{key}",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING if register else None,
        suggested_display_precision=2,
        while_offline=register,
        value_fn=lambda v: None if v.state is None else _kilo(wh(v.state)),
    )


CONNECTOR_CURRENTS = current_per_leg(
    ConnectorSensorDescription,
    "current",
    _phase_current,
    translation_key="connector_current",
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
        **POWER_KW,
        value_fn=lambda v: None if v.state is None else _kilo(v.state.power_w),
    ),
    _energy("energy", lambda state: state.energy_wh, register=True),
    _energy("session_energy", lambda state: state.session_energy_wh, register=False),
    ConnectorSensorDescription(
        key="allocated_current",
        translation_key="connector_allocated_current",
        while_offline=True,
        value_fn=lambda v: (
            None if v.allocation is None else round(v.allocation.current_a, 2)
        ),
        **CURRENT,
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


PORT_SENSORS: tuple[ConnectorSensorDescription, ...] = tuple(
    d
    for d in CONNECTOR_SENSORS
    if d.key in ("status", "energy", "session_energy", "allocated_current")
)
"""The figures of a port of the other kinds (a charger already in Home
Assistant, an outlet, a Modbus charger): what their sources tell."""


class ConnectorSensor(
    WritesOnChange, ConnectorFigure[float | str | None], RestoreSensor
):
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
    def native_value(self) -> float | str | None:
        """The connector's value now; the energy register keeps its last value
        while the charger is offline, and across restarts."""
        value = self.reading
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


def _site_sensors(entry: EvPowerShareConfigEntry) -> list[Entity]:
    controller = entry.runtime_data.controller
    site = (*_group_sensors(controller), *SITE_SENSORS)
    sensors: list[Entity] = [GroupSensor(controller, SITE_GROUP_ID, d) for d in site]
    if (figures := entry.runtime_data.figures) is not None:
        sensors += site_sensors(figures, entry.entry_id)
    return sensors


def _subentry_sensors(
    entry: EvPowerShareConfigEntry,
) -> Callable[[ConfigSubentry], list[Entity]]:
    """A group's figures, a meter's, or a charger's connectors'."""
    controller = entry.runtime_data.controller
    meters = entry.runtime_data.meters
    per_group = _group_sensors(controller)
    chargers = charger_entities(
        entry,
        ConnectorSensor,
        per_connector=_connector_sensors,
        per_port=PORT_SENSORS,
    )

    figures = entry.runtime_data.figures

    def make(sub: ConfigSubentry) -> list[Entity]:
        if sub.subentry_type == SUBENTRY_USER:
            return (
                [] if figures is None else [*user_sensors(figures, entry.entry_id, sub)]
            )
        if sub.subentry_type == SUBENTRY_GROUP:
            return [GroupSensor(controller, sub.subentry_id, d) for d in per_group]
        if sub.subentry_type == SUBENTRY_METER:
            return list(meter_sensors(controller, meters, sub))
        return chargers(sub)

    return make


async_setup_entry = platform_setup(_subentry_sensors, _site_sensors)
"""Sensors for the site and for each panel or circuit, meter and charger, also
those added later."""

# Every state comes from the controller's cycle: nothing to limit.
PARALLEL_UPDATES = 0
