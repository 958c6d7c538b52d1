"""The departure time of each connector's vehicle (scheduled charge mode)."""

from __future__ import annotations

import contextlib
import datetime as dt

from homeassistant.components.time import TimeEntity
from homeassistant.config_entries import ConfigSubentry
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
    """A departure time per connector of every charger."""
    runtime = entry.runtime_data

    def make(sub: ConfigSubentry) -> list[TimeEntity]:
        if sub.subentry_type != SUBENTRY_CHARGER:
            return []
        charger = charger_config(sub)
        return [
            DepartureTime(
                runtime.controller,
                runtime.ocpp,
                sub.subentry_id,
                charger,
                "departure",
                n,
            )
            for n in range(1, charger.connectors + 1)
        ]

    async_add_subentry_entities(hass, entry, async_add_entities, make)


class DepartureTime(ChargerEntity, TimeEntity, RestoreEntity):
    """When the vehicle leaves: scheduled mode delivers its energy by then."""

    _attr_translation_key = "departure"

    @property
    def _port_id(self) -> str:
        return self.source.chargers[self.charge_point_id].port_id(self.connector or 1)

    async def async_added_to_hass(self) -> None:
        """Restore the user's choice."""
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None:
            # (unknown or unavailable: keep the default)
            with contextlib.suppress(ValueError):
                self.source.control(self._port_id).departure = dt.time.fromisoformat(
                    last.state
                )

    @property
    def native_value(self) -> dt.time:
        """The departure time."""
        return self.source.control(self._port_id).departure

    async def async_set_value(self, value: dt.time) -> None:
        """Set it and re-plan at once."""
        self.source.control(self._port_id).departure = value.replace(
            second=0, microsecond=0
        )
        self.async_write_ha_state()
        await self.coordinator.async_request_refresh()
