"""Buttons of a charger: restart it; per connector start, stop, unlock."""

from __future__ import annotations

# The device class moved to .const in 2026 (still re-exported at runtime); 2025.4
# only has it in the package, so import it from the package for both versions.
from homeassistant.components.button import (  # type: ignore[attr-defined,unused-ignore]
    ButtonDeviceClass,
    ButtonEntity,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .commands import async_command
from .const import SUBENTRY_CHARGER
from .controller import SiteController
from .data import EvPowerShareConfigEntry, charger_config
from .entity import ChargerEntity, async_add_subentry_entities
from .ocpp_source import ChargerConfig, OcppSource

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvPowerShareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Per charger: restart; per connector: start, stop, unlock."""
    runtime = entry.runtime_data

    def make(sub: ConfigSubentry) -> list[ButtonEntity]:
        if sub.subentry_type != SUBENTRY_CHARGER:
            return []
        charger = charger_config(sub)
        args = (runtime.controller, runtime.ocpp, sub.subentry_id, charger)
        return [
            CommandButton(*args, "reset"),
            *(
                CommandButton(*args, command, n)
                for n in range(1, charger.connectors + 1)
                for command in ("start", "stop", "unlock")
            ),
        ]

    async_add_subentry_entities(hass, entry, async_add_entities, make)


class CommandButton(ChargerEntity, ButtonEntity):
    """Sends one command to the charger (``reset``) or a connector."""

    def __init__(
        self,
        controller: SiteController,
        source: OcppSource,
        subentry_id: str,
        charger: ChargerConfig,
        command: str,
        connector: int | None = None,
    ) -> None:
        """Name and class it after its command."""
        super().__init__(controller, source, subentry_id, charger, command, connector)
        self.command = command
        self._attr_translation_key = f"{command}_charger"
        if command == "reset":
            self._attr_device_class = ButtonDeviceClass.RESTART
            self._attr_entity_category = EntityCategory.CONFIG

    @property
    def available(self) -> bool:
        """Only a charger under control takes commands."""
        return super().available and self.source.online(self.charge_point_id)

    async def async_press(self) -> None:
        """Send the command."""
        await async_command(
            self.source, self.charge_point_id, self.command, self.connector or 1
        )
