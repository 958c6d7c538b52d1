"""Selects: the site's sharing policy (automations can switch it); per
connector, what it charges for."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory

from .const import CONF_POLICY
from .controller import SiteController
from .core.model import Policy
from .core.solar import ChargeMode
from .data import EvPowerShareConfigEntry
from .entity import ConnectorSetting, ConnectorView, SettingFns, SiteSetting


@dataclass(frozen=True, kw_only=True)
class SiteSelectDescription(SelectEntityDescription, SettingFns[SiteController, str]):
    """A select of the site."""


def _set_policy(controller: SiteController, option: str) -> None:
    # Stored in the site's options; the options listener applies it.
    entry = controller.config_entry
    controller.hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_POLICY: option}
    )


POLICY = SiteSelectDescription(
    key="policy",
    translation_key="policy",
    entity_category=EntityCategory.CONFIG,
    options=[p.value for p in Policy],
    value_fn=lambda controller: controller.settings.policy.value,
    set_fn=_set_policy,
)


@dataclass(frozen=True, kw_only=True)
class ConnectorSelectDescription(
    SelectEntityDescription, SettingFns[ConnectorView, str]
):
    """A select the user sets for one connector."""


def _set_mode(view: ConnectorView, option: str) -> None:
    view.controls.mode = ChargeMode(option)


# What the connector charges for.
CHARGE_MODE = ConnectorSelectDescription(
    key="mode",
    translation_key="charge_mode",
    options=[m.value for m in ChargeMode],
    value_fn=lambda view: view.controls.mode.value,
    set_fn=_set_mode,
)


class SiteSelect(SiteSetting[str], SelectEntity):
    """A select of the site."""

    entity_description: SiteSelectDescription

    @property
    def current_option(self) -> str:
        """The option in force."""
        return self.setting.value_fn(self.coordinator)

    async def async_select_option(self, option: str) -> None:
        """Store the new option."""
        self.setting.set_fn(self.coordinator, option)


class ConnectorSelect(ConnectorSetting[str], SelectEntity):
    """A select the user sets for one connector; kept across restarts."""

    entity_description: ConnectorSelectDescription

    def _restored(self, state: str) -> str | None:
        return state if state in self.options else None

    @property
    def current_option(self) -> str:
        """The option in force."""
        return self.setting_value

    async def async_select_option(self, option: str) -> None:
        """Change it and re-allocate at once."""
        await self.async_write_setting(option)


def _site_selects(entry: EvPowerShareConfigEntry) -> list[SiteSelect]:
    return [SiteSelect(entry.runtime_data.controller, POLICY)]


async_setup_entry = ConnectorSelect.setup_entry(
    per_connector=(CHARGE_MODE,), site_entities=_site_selects
)
"""The policy select of a site; the selects of every connector."""

# Every state comes from the controller's cycle: nothing to limit.
PARALLEL_UPDATES = 0
