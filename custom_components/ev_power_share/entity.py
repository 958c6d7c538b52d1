"""Base entity: one device per power group, values from the controller's snapshot."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .controller import SiteController


class EvPowerShareEntity(CoordinatorEntity[SiteController]):
    """An entity of one power group of a site."""

    _attr_has_entity_name = True

    def __init__(self, controller: SiteController, group_id: str, key: str) -> None:
        """Attach to the group's device; the unique id survives renames."""
        super().__init__(controller)
        entry_id = controller.config_entry.entry_id
        self.group_id = group_id
        self._attr_unique_id = f"{entry_id}_{group_id}_{key}"
        # The site group is the site's own device (created at set-up).
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, entry_id)})
