"""Sensors of a power group: load per phase, power, limit, headroom, design."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfElectricCurrent, UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import SITE_GROUP_ID, SUBENTRY_GROUP
from .controller import ControllerSnapshot, SiteController
from .data import EvPowerShareConfigEntry
from .entity import EvPowerShareEntity, signal_groups_added

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

    @callback
    def add_groups(group_ids: Iterable[str]) -> None:
        for gid in group_ids:
            async_add_entities(
                (GroupSensor(controller, gid, d) for d in per_group),
                config_subentry_id=gid,
            )

    add_groups(
        sid for sid, s in entry.subentries.items() if s.subentry_type == SUBENTRY_GROUP
    )
    entry.async_on_unload(
        async_dispatcher_connect(hass, signal_groups_added(entry.entry_id), add_groups)
    )


class GroupSensor(EvPowerShareEntity, SensorEntity):
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

    _written: tuple[bool, float | int | str | None] | None = None

    @property
    def native_value(self) -> float | int | str | None:
        """The value in the controller's latest snapshot."""
        return self.entity_description.value_fn(self.coordinator.data, self.group_id)

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when it changed: a cycle every few seconds would
        otherwise write hundreds of unchanged states (and recorder rows)."""
        available = self.available
        shown = (available, self.native_value if available else None)
        if shown != self._written:
            self._written = shown
            super()._handle_coordinator_update()
