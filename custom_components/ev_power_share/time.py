"""The departure time of each connector's vehicle (scheduled charge mode)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
import datetime as dt

from homeassistant.components.time import TimeEntity, TimeEntityDescription

from .entity import ConnectorSetting, ConnectorView, SettingFns


@dataclass(frozen=True, kw_only=True)
class ConnectorTimeDescription(
    TimeEntityDescription, SettingFns[ConnectorView, dt.time]
):
    """A time the user sets for one connector."""


def _set_departure(view: ConnectorView, value: dt.time) -> None:
    view.controls.departure = value.replace(second=0, microsecond=0)


# When the vehicle leaves: scheduled mode delivers its energy by then.
DEPARTURE = ConnectorTimeDescription(
    key="departure",
    translation_key="departure",
    value_fn=lambda view: view.controls.departure,
    set_fn=_set_departure,
)


class ConnectorTime(ConnectorSetting[dt.time], TimeEntity):
    """A time the user sets for one connector; kept across restarts."""

    entity_description: ConnectorTimeDescription

    def _restored(self, state: str) -> dt.time | None:
        # (unknown or unavailable: keep the default)
        with contextlib.suppress(ValueError):
            return dt.time.fromisoformat(state)
        return None

    @property
    def native_value(self) -> dt.time:
        """The time in force."""
        return self.setting_value

    async def async_set_value(self, value: dt.time) -> None:
        """Set it and re-plan at once."""
        await self.async_write_setting(value)


async_setup_entry = ConnectorTime.setup_entry(per_connector=(DEPARTURE,))
"""A departure time per connector of every charger."""

# Every state comes from the controller's cycle: nothing to limit.
PARALLEL_UPDATES = 0
