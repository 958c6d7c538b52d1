"""The departure time of each connector's vehicle (scheduled charge mode)."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import datetime as dt

from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .const import SUBENTRY_CHARGER
from .controller import SiteController
from .data import EvPowerShareConfigEntry, charger_config
from .entity import ConnectorSetting, ConnectorView, async_add_subentry_entities
from .ocpp_source import ChargerConfig, OcppSource

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
    runtime = entry.runtime_data

    def make(sub: ConfigSubentry) -> list[TimeEntity]:
        if sub.subentry_type != SUBENTRY_CHARGER:
            return []
        charger = charger_config(sub)
        return [
            ConnectorTime(
                runtime.controller, runtime.ocpp, sub.subentry_id, charger, d, n
            )
            for n in range(1, charger.connectors + 1)
            for d in CONNECTOR_TIMES
        ]

    async_add_subentry_entities(hass, entry, async_add_entities, make)


class ConnectorTime(ConnectorSetting[dt.time], TimeEntity, RestoreEntity):
    """A time the user sets for one connector; kept across restarts."""

    entity_description: ConnectorTimeDescription

    def __init__(
        self,
        controller: SiteController,
        source: OcppSource,
        subentry_id: str,
        charger: ChargerConfig,
        description: ConnectorTimeDescription,
        connector: int,
    ) -> None:
        """Describe the time."""
        super().__init__(
            controller, source, subentry_id, charger, description.key, connector
        )
        self.entity_description = description
        self.setting = description

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
