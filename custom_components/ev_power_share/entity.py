"""Base entities: one device per power group, charger or meter, values from the
controller's snapshot (how platforms add them: :mod:`.entity_setup`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.restore_state import RestoreEntity
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import SITE_GROUP_ID
from .controller import SiteController
from .core.allocator import PortAllocation
from .core.settings import PortSettings
from .csms import ConnectorState, Station
from .data import EvPowerShareConfigEntry
from .devices import charger_device_identifier, group_device_identifier
from .entity_setup import SetupEntry, charger_entities, platform_setup
from .port_links import PortLink

type DeviceIdentifier = Callable[[str, str], tuple[str, str]]
"""A device's registry identifier, from the entry's id and its owner's."""


class DeviceEntity(CoordinatorEntity[SiteController]):
    """An entity of one of the site's devices: a power group, charger or meter."""

    _attr_has_entity_name = True

    def __init__(
        self,
        controller: SiteController,
        description: EntityDescription,
        device: DeviceIdentifier,
        owner_id: str,
        where: str | None = None,
    ) -> None:
        """Attach to the device of ``owner_id`` (a group's or subentry's id); the
        unique id (of the entry, ``where`` in it, and the key) survives renames."""
        super().__init__(controller)
        entry_id = controller.config_entry.entry_id
        self.entity_description = description
        self._attr_unique_id = f"{entry_id}_{where or owner_id}_{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={device(entry_id, owner_id)})


class EvPowerShareEntity(DeviceEntity):
    """An entity of one power group of a site."""

    def __init__(
        self,
        controller: SiteController,
        group_id: str,
        description: EntityDescription,
    ) -> None:
        """Attach to the group's device (created with the site and its group
        subentries)."""
        super().__init__(controller, description, group_device_identifier, group_id)
        self.group_id = group_id

    @property
    def available(self) -> bool:
        """Unavailable once the group is gone from the running model."""
        return (
            super().available
            and self.group_id in self.coordinator.data.allocation.groups
        )


@dataclass(frozen=True, slots=True)
class ConnectorView:
    """Everything an entity of one connector shows, at this moment."""

    max_current_a: float
    """The charger's rated current per phase."""
    connector: int
    station: Station | None
    """An OCPP charger's station, while it is connected (else None)."""
    state: ConnectorState | None
    online: bool
    allocation: PortAllocation | None
    controls: PortSettings
    """The user's settings of the connector (the controller's: change them
    through a description's ``set_fn`` only)."""


class ChargerEntity(DeviceEntity):
    """An entity of a charger (``connector`` None) or of one of its connectors,
    of any kind: what it reads of its charger comes through its ``link``.

    A charger with several connectors names its connector entities "… (connector
    2)"; with one, just "…".
    """

    def __init__(
        self,
        controller: SiteController,
        link: PortLink,
        subentry_id: str,
        description: EntityDescription,
        connector: int | None = None,
    ) -> None:
        """Attach to the charger's device."""
        where = subentry_id if connector is None else f"{subentry_id}_{connector}"
        super().__init__(
            controller, description, charger_device_identifier, subentry_id, where
        )
        self.link = link
        self.connector = connector
        self._attr_translation_placeholders = {
            "connector": f" (connector {connector})"
            if connector is not None and link.connectors > 1
            else ""
        }

    @classmethod
    def setup_entry(
        cls,
        *,
        per_charger: Sequence[EntityDescription] = (),
        per_connector: Sequence[EntityDescription] = (),
        per_port: Sequence[EntityDescription] | None = None,
        site_entities: Callable[[EvPowerShareConfigEntry], Iterable[Entity]]
        | None = None,
    ) -> SetupEntry:
        """The set-up of a platform of this class's entities (see
        :func:`charger_entities`), after the site's own ``site_entities``:
        ``per_charger`` and ``per_connector`` for OCPP chargers, ``per_port``
        (default: ``per_connector``) for the ports of the other kinds."""

        def subentry_entities(
            entry: EvPowerShareConfigEntry,
        ) -> Callable[[ConfigSubentry], list[Entity]]:
            return charger_entities(
                entry,
                cls,
                per_charger=per_charger,
                per_connector=per_connector,
                per_port=per_connector if per_port is None else per_port,
            )

        return platform_setup(subentry_entities, site_entities)

    @property
    def port_id(self) -> str:
        """The allocator's id of the connector (connector 1 for charger entities)."""
        return self.link.port_id(self.connector or 1)

    @property
    def view(self) -> ConnectorView:
        """The connector (or, for charger entities, connector 1) as it is now."""
        connector = self.connector or 1
        pid = self.link.port_id(connector)
        snapshot = self.coordinator.data
        return ConnectorView(
            max_current_a=self.link.max_current_a(),
            connector=connector,
            station=self.link.station(),
            state=self.link.state(connector),
            online=self.link.online(),
            allocation=None if snapshot is None else snapshot.allocation.ports.get(pid),
            controls=self.coordinator.port_settings(pid),
        )

    @property
    def available(self) -> bool:
        """Only while the charger is configured; most entities also need it online."""
        return super().available and self.link.configured()


@dataclass(frozen=True, kw_only=True)
class SettingFns[V, T]:
    """How a user setting is read and written, from a view ``V`` of what it
    belongs to (mixed into the entity descriptions of number, select, switch
    and time)."""

    value_fn: Callable[[V], T]
    """The setting as it is now."""
    set_fn: Callable[[V, T], None]
    """The one place the setting is written (also when it is restored)."""


class SiteSetting[T](EvPowerShareEntity):
    """A setting of the whole site, read and written through the controller
    (which keeps it: there is nothing to restore)."""

    def __init__(
        self, controller: SiteController, description: EntityDescription
    ) -> None:
        """Attach to the site."""
        super().__init__(controller, SITE_GROUP_ID, description)

    @property
    def setting(self) -> SettingFns[SiteController, T]:
        """How this setting is read and written: the entity's description."""
        return cast("SettingFns[SiteController, T]", self.entity_description)


class ConnectorSetting[T](ChargerEntity, RestoreEntity):
    """A user setting of one connector, kept across restarts.

    What it shows and writes is its description's ``value_fn`` / ``set_fn``;
    ``_restored`` reads the setting from the entity's last state, for the
    platform (or ``_async_last_value`` reads it some other way).
    """

    @property
    def setting(self) -> SettingFns[ConnectorView, T]:
        """How this setting is read and written: the entity's description."""
        return cast("SettingFns[ConnectorView, T]", self.entity_description)

    def _restored(self, state: str) -> T | None:
        """The setting a last state shows (None: none, keep the default)."""
        raise NotImplementedError

    async def _async_last_value(self) -> T | None:
        """The value before the restart (None: none, keep the default)."""
        last = await self.async_get_last_state()
        return None if last is None else self._restored(last.state)

    async def async_added_to_hass(self) -> None:
        """Restore the user's choice: the controller keeps it; the entity's
        last state is only read where the controller has none (an
        installation from before it kept them)."""
        await super().async_added_to_hass()
        if self.coordinator.has_port_settings(self.port_id):
            return
        if (value := await self._async_last_value()) is not None:
            self._set(value)

    def _set(self, value: T) -> None:
        view = self.view
        self.setting.set_fn(view, value)
        self.coordinator.set_port_settings(self.port_id, view.controls)

    @property
    def setting_value(self) -> T:
        """The setting in force."""
        return self.setting.value_fn(self.view)

    async def async_write_setting(self, value: T) -> None:
        """Write the setting, show it, and re-allocate at once."""
        self._set(value)
        self.async_write_ha_state()
        await self.coordinator.async_request_refresh()


@dataclass(frozen=True, kw_only=True)
class ConnectorReading[T]:
    """How a figure of a charger or connector is read (mixed into the entity
    descriptions of sensor and binary sensor)."""

    value_fn: Callable[[ConnectorView], T]
    while_offline: bool = False
    """Available while the charger is offline (what we count it at, for one)."""


class OnlineEntity(ChargerEntity):
    """An entity that needs its charger online: what it shows (or sends) is the
    charger's own; a :class:`ConnectorReading` with ``while_offline`` stays."""

    @property
    def available(self) -> bool:
        """Unavailable while the charger is offline, unless its description says."""
        description = self.entity_description
        return super().available and (
            (isinstance(description, ConnectorReading) and description.while_offline)
            or self.link.online()
        )


class ConnectorFigure[T](OnlineEntity):
    """A figure of a charger or connector, as its :class:`ConnectorReading`
    description reads it."""

    @property
    def reading(self) -> T:
        """What the description reads of the charger or connector now."""
        description = cast("ConnectorReading[T]", self.entity_description)
        return description.value_fn(self.view)


class WritesOnChange(CoordinatorEntity[SiteController]):
    """Writes its state only when what it shows changed.

    A cycle every few seconds would otherwise write hundreds of unchanged
    states (and recorder rows). ``_shown()`` is what counts as the state.
    """

    _written: object = None

    def _shown(self) -> object:
        """What the state shows: availability, value and any attributes."""
        available = self.available
        return (available, self.native_value if available else None)  # type: ignore[attr-defined]

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when it changed."""
        if (shown := self._shown()) != self._written:
            self._written = shown
            super()._handle_coordinator_update()
