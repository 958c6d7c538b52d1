"""The departure time of each connector's vehicle (scheduled charge mode)."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import datetime as dt

from homeassistant.components.time import TimeEntity, TimeEntityDescription
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
class ConnectorTimeDescription(TimeEntityDescription):
    """A time the user sets for one connector."""

    value_fn: Callable[[ConnectorView], dt.time]
    set_fn: Callable[[ConnectorView, dt.time], None]


def _set_departure(view: ConnectorView, value: dt.time) -> None:
    view.controls.departure = value.replace(second=0, microsecond=0)


CONNECTOR_TIMES: tuple[ConnectorTimeDescription, ...] = (
    # When the vehicle leaves: scheduled mode delivers its energy by then.
    ConnectorTimeDescription(
        key="departure",
        translation_key="departure",
        value_fn=lambda view: view.controls.departure,
        set_fn=_set_departure,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvPowerShareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A departure time per connector of every charger."""
    make = charger_entities(entry, ConnectorTime, per_connector=CONNECTOR_TIMES)
    async_add_subentry_entities(hass, entry, async_add_entities, make)


class ConnectorTime(ConnectorSetting[dt.time], TimeEntity, RestoreEntity):
    """A time the user sets for one connector; kept across restarts."""

    entity_description: ConnectorTimeDescription

    async def _async_last_value(self) -> dt.time | None:
        last = await self.async_get_last_state()
        if last is None:
            return None
        # (unknown or unavailable: keep the default)
        with contextlib.suppress(ValueError):
            return dt.time.fromisoformat(last.state)
        return None

    @property
    def native_value(self) -> dt.time:
        """The time in force."""
        return self.setting_value

    async def async_set_value(self, value: dt.time) -> None:
        """Set it and re-plan at once."""
        await self.async_write_setting(value)
