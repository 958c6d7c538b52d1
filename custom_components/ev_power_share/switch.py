"""Per connector: charging enabled (off holds the connector at 0 A)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import STATE_OFF, STATE_ON

from .entity import ConnectorSetting, ConnectorView, SettingFns


@dataclass(frozen=True, kw_only=True)
class ConnectorSwitchDescription(
    SwitchEntityDescription, SettingFns[ConnectorView, bool]
):
    """A switch the user sets for one connector."""


def _set_enabled(view: ConnectorView, enabled: bool) -> None:
    view.controls.enabled = enabled


# Whether the connector may charge (off: held at 0 A).
CHARGING = ConnectorSwitchDescription(
    key="charging",
    translation_key="charging_enabled",
    value_fn=lambda view: view.controls.enabled,
    set_fn=_set_enabled,
)


class ConnectorSwitch(ConnectorSetting[bool], SwitchEntity):
    """A switch the user sets for one connector; kept across restarts."""

    entity_description: ConnectorSwitchDescription

    def _restored(self, state: str) -> bool | None:
        return {STATE_ON: True, STATE_OFF: False}.get(state)

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


async_setup_entry = ConnectorSwitch.setup_entry(per_connector=(CHARGING,))
"""A charging switch per connector."""

# Every state comes from the controller's cycle: nothing to limit.
PARALLEL_UPDATES = 0
