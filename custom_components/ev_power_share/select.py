"""Selects: the site's sharing policy (automations can switch it); per
connector, what it charges for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .const import CONF_POLICY, SITE_GROUP_ID
from .controller import SiteController
from .core.model import Policy
from .core.solar import ChargeMode
from .data import EvPowerShareConfigEntry
from .entity import (
    ConnectorSetting,
    ConnectorView,
    EvPowerShareEntity,
    async_add_subentry_entities,
    charger_entities,
)

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SiteSelectDescription(SelectEntityDescription):
    """A select of the site."""

    value_fn: Callable[[SiteController], str]
    set_fn: Callable[[SiteController, str], None]


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
class ConnectorSelectDescription(SelectEntityDescription):
    """A select the user sets for one connector."""

    value_fn: Callable[[ConnectorView], str]
    set_fn: Callable[[ConnectorView, str], None]


def _set_mode(view: ConnectorView, option: str) -> None:
    view.controls.mode = ChargeMode(option)


CONNECTOR_SELECTS: tuple[ConnectorSelectDescription, ...] = (
    # What the connector charges for.
    ConnectorSelectDescription(
        key="mode",
        translation_key="charge_mode",
        options=[m.value for m in ChargeMode],
        value_fn=lambda view: view.controls.mode.value,
        set_fn=_set_mode,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvPowerShareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The policy select of a site; the selects of every connector."""
    runtime = entry.runtime_data
    async_add_entities([SiteSelect(runtime.controller, POLICY)])

    make = charger_entities(entry, ConnectorSelect, per_connector=CONNECTOR_SELECTS)
    async_add_subentry_entities(hass, entry, async_add_entities, make)


class SiteSelect(EvPowerShareEntity, SelectEntity):
    """A select of the site."""

    entity_description: SiteSelectDescription

    def __init__(
        self, controller: SiteController, description: SiteSelectDescription
    ) -> None:
        """Attach to the site."""
        super().__init__(controller, SITE_GROUP_ID, description.key)
        self.entity_description = description

    @property
    def current_option(self) -> str:
        """The option in force."""
        return self.entity_description.value_fn(self.coordinator)

    async def async_select_option(self, option: str) -> None:
        """Store the new option."""
        self.entity_description.set_fn(self.coordinator, option)


class ConnectorSelect(ConnectorSetting[str], SelectEntity, RestoreEntity):
    """A select the user sets for one connector; kept across restarts."""

    entity_description: ConnectorSelectDescription

    async def _async_last_value(self) -> str | None:
        last = await self.async_get_last_state()
        if last is None or last.state not in self.options:
            return None
        return last.state

    @property
    def current_option(self) -> str:
        """The option in force."""
        return self.setting_value

    async def async_select_option(self, option: str) -> None:
        """Change it and re-allocate at once."""
        await self.async_write_setting(option)
