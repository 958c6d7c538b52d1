"""Base entity: one device per power group, values from the controller's snapshot."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, SITE_GROUP_ID
from .controller import SiteController


def group_device_identifier(entry_id: str, group_id: str) -> tuple[str, str]:
    """The device registry identifier of a power group (the site: the entry's)."""
    if group_id == SITE_GROUP_ID:
        return (DOMAIN, entry_id)
    return (DOMAIN, f"{entry_id}_{group_id}")


def signal_groups_added(entry_id: str) -> str:
    """Dispatcher signal: new power groups (their ids) need entities."""
    return f"{DOMAIN}_{entry_id}_groups_added"


class EvPowerShareEntity(CoordinatorEntity[SiteController]):
    """An entity of one power group of a site."""

    _attr_has_entity_name = True

    def __init__(self, controller: SiteController, group_id: str, key: str) -> None:
        """Attach to the group's device; the unique id survives renames."""
        super().__init__(controller)
        entry_id = controller.config_entry.entry_id
        self.group_id = group_id
        self._attr_unique_id = f"{entry_id}_{group_id}_{key}"
        # Devices are created with the site and its group subentries.
        self._attr_device_info = DeviceInfo(
            identifiers={group_device_identifier(entry_id, group_id)}
        )

    @property
    def available(self) -> bool:
        """Unavailable once the group is gone from the running model."""
        return (
            super().available
            and self.group_id in self.coordinator.data.allocation.groups
        )
