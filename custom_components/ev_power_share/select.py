"""The site's sharing policy as a select (automations can switch it)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .const import CONF_POLICY, SITE_GROUP_ID, SUBENTRY_CHARGER
from .controller import SiteController
from .core.model import Policy
from .core.solar import ChargeMode
from .data import EvPowerShareConfigEntry, charger_config
from .entity import ChargerEntity, EvPowerShareEntity, async_add_subentry_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvPowerShareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The policy select of a site."""
    runtime = entry.runtime_data
    async_add_entities([PolicySelect(runtime.controller)])

    def make(sub: ConfigSubentry) -> list[SelectEntity]:
        if sub.subentry_type != SUBENTRY_CHARGER:
            return []
        charger = charger_config(sub)
        return [
            ChargeModeSelect(
                runtime.controller, runtime.ocpp, sub.subentry_id, charger, "mode", n
            )
            for n in range(1, charger.connectors + 1)
        ]

    async_add_subentry_entities(hass, entry, async_add_entities, make)


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


class ChargeModeSelect(ChargerEntity, SelectEntity, RestoreEntity):
    """What the connector charges for; kept across restarts."""

    _attr_translation_key = "charge_mode"

    @property
    def options(self) -> list[str]:
        """Every charge mode."""
        return [m.value for m in ChargeMode]

    @property
    def _port_id(self) -> str:
        return self.source.chargers[self.charge_point_id].port_id(self.connector or 1)

    async def async_added_to_hass(self) -> None:
        """Restore the user's choice."""
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None and last.state in self.options:
            self.source.control(self._port_id).mode = ChargeMode(last.state)

    @property
    def current_option(self) -> str:
        """The mode in force."""
        return self.source.control(self._port_id).mode.value

    async def async_select_option(self, option: str) -> None:
        """Change the mode and re-allocate at once."""
        self.source.control(self._port_id).mode = ChargeMode(option)
        self.async_write_ha_state()
        await self.coordinator.async_request_refresh()
