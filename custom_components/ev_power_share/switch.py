"""Per connector: charging enabled (off holds the connector at 0 A)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .data import EvPowerShareConfigEntry
from .entity import (
    ConnectorSetting,
    ConnectorView,
    async_add_subentry_entities,
    charger_entities,
)

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ConnectorSwitchDescription(SwitchEntityDescription):
    """A switch the user sets for one connector."""

    value_fn: Callable[[ConnectorView], bool]
    set_fn: Callable[[ConnectorView, bool], None]


def _set_enabled(view: ConnectorView, enabled: bool) -> None:
    view.controls.enabled = enabled


CONNECTOR_SWITCHES: tuple[ConnectorSwitchDescription, ...] = (
    # Whether the connector may charge (off: held at 0 A).
    ConnectorSwitchDescription(
        key="charging",
        translation_key="charging_enabled",
        value_fn=lambda view: view.controls.enabled,
        set_fn=_set_enabled,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvPowerShareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A charging switch per connector."""
    make = charger_entities(entry, ConnectorSwitch, per_connector=CONNECTOR_SWITCHES)
    async_add_subentry_entities(hass, entry, async_add_entities, make)


class ConnectorSwitch(ConnectorSetting[bool], SwitchEntity, RestoreEntity):
    """A switch the user sets for one connector; kept across restarts."""

    entity_description: ConnectorSwitchDescription

    async def _async_last_value(self) -> bool | None:
        last = await self.async_get_last_state()
        if last is None or last.state not in (STATE_ON, STATE_OFF):
            return None
        return last.state == STATE_ON

    @property
    def is_on(self) -> bool:
        """The setting in force."""
        return self.setting_value

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch it on and re-allocate at once."""
        await self.async_write_setting(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch it off and re-allocate at once."""
        await self.async_write_setting(False)
