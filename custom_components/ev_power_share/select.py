"""The site's sharing policy as a select (automations can switch it)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_POLICY, SITE_GROUP_ID
from .controller import SiteController
from .core.model import Policy
from .data import EvPowerShareConfigEntry
from .entity import EvPowerShareEntity

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvPowerShareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The policy select of a site."""
    async_add_entities([PolicySelect(entry.runtime_data.controller)])


class PolicySelect(EvPowerShareEntity, SelectEntity):
    """How capacity is shared; stored in the site's options."""

    _attr_translation_key = "policy"
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, controller: SiteController) -> None:
        """Attach to the site."""
        super().__init__(controller, SITE_GROUP_ID, "policy")
        self._attr_options = [p.value for p in Policy]

    @property
    def current_option(self) -> str:
        """The policy in force."""
        return self.coordinator.settings.policy.value

    async def async_select_option(self, option: str) -> None:
        """Store the new policy; the options listener applies it."""
        entry = self.coordinator.config_entry
        self.hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_POLICY: option}
        )
