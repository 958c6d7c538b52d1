"""Per connector: charging enabled (off holds the connector at 0 A)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import STATE_OFF
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .const import SUBENTRY_CHARGER
from .data import EvPowerShareConfigEntry, charger_config
from .entity import ChargerEntity, async_add_subentry_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvPowerShareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A charging switch per connector."""
    runtime = entry.runtime_data

    def make(sub: ConfigSubentry) -> list[SwitchEntity]:
        if sub.subentry_type != SUBENTRY_CHARGER:
            return []
        charger = charger_config(sub)
        return [
            ChargingSwitch(
                runtime.controller,
                runtime.ocpp,
                sub.subentry_id,
                charger,
                "charging",
                n,
            )
            for n in range(1, charger.connectors + 1)
        ]

    async_add_subentry_entities(hass, entry, async_add_entities, make)


class ChargingSwitch(ChargerEntity, SwitchEntity, RestoreEntity):
    """Whether the connector may charge; kept across restarts."""

    _attr_translation_key = "charging_enabled"

    @property
    def _port_id(self) -> str:
        return self.source.chargers[self.charge_point_id].port_id(self.connector or 1)

    async def async_added_to_hass(self) -> None:
        """Restore the user's choice."""
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None and last.state == STATE_OFF:
            self.source.control(self._port_id).enabled = False

    @property
    def is_on(self) -> bool:
        """True unless the user paused the connector."""
        return self.source.control(self._port_id).enabled

    async def _set(self, enabled: bool) -> None:
        self.source.control(self._port_id).enabled = enabled
        self.async_write_ha_state()
        await self.coordinator.async_request_refresh()

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Let the connector charge."""
        await self._set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Hold the connector at 0 A."""
        await self._set(False)
