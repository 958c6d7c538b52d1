"""Selects: the site's sharing policy (automations can switch it); per
connector, what it charges for; per port without a card reader, who its
sessions are booked to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory

from .const import CONF_POLICY, SUBENTRY_USER
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

    choices_fn: Callable[[ConfigEntry], Mapping[str, str]] | None = None
    """Options that are the site's (each value as shown), instead of ``options``."""


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


UNASSIGNED = "Unassigned"
"""The charging user's option of no user (stored as "")."""


def site_user_choices(entry: ConfigEntry) -> dict[str, str]:
    """The charging user's options: unassigned, then the site's users by name
    (a name two users share is told apart by the end of their id)."""
    users = [
        (sid, s.title)
        for sid, s in entry.subentries.items()
        if s.subentry_type == SUBENTRY_USER
    ]
    names = [name for _sid, name in users]
    choices = {"": UNASSIGNED}
    for sid, name in users:
        shown = name if names.count(name) == 1 and name != UNASSIGNED else None
        choices[sid] = shown or f"{name} ({sid[-4:]})"
    return choices


def _set_user(view: ConnectorView, user_id: str) -> None:
    view.controls.user_id = user_id or None


# Who a port's sessions are booked to (ports without a card reader).
CHARGING_USER = ConnectorSelectDescription(
    key="charging_user",
    translation_key="charging_user",
    options=[],
    choices_fn=site_user_choices,
    value_fn=lambda view: view.controls.user_id or "",
    set_fn=_set_user,
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

    def _choices(self) -> Mapping[str, str] | None:
        choices_fn = self.entity_description.choices_fn
        return None if choices_fn is None else choices_fn(self.coordinator.config_entry)

    def _value_of(self, option: str) -> str | None:
        choices = self._choices()
        if choices is None:
            return option if option in (self.entity_description.options or ()) else None
        return next((v for v, shown in choices.items() if shown == option), None)

    def _restored(self, state: str) -> str | None:
        return self._value_of(state)

    @property
    def options(self) -> list[str]:
        """What may be chosen."""
        choices = self._choices()
        if choices is None:
            return list(self.entity_description.options or ())
        return list(choices.values())

    @property
    def current_option(self) -> str | None:
        """The option in force (None: one that is no longer offered)."""
        choices = self._choices()
        if choices is None:
            return self.setting_value
        return choices.get(self.setting_value)

    async def async_select_option(self, option: str) -> None:
        """Change it and re-allocate at once."""
        value = self._value_of(option)
        if value is not None:
            await self.async_write_setting(value)


def _site_selects(entry: EvPowerShareConfigEntry) -> list[SiteSelect]:
    return [SiteSelect(entry.runtime_data.controller, POLICY)]


async_setup_entry = ConnectorSelect.setup_entry(
    per_connector=(CHARGE_MODE,),
    per_port=(CHARGE_MODE, CHARGING_USER),
    site_entities=_site_selects,
)
"""The policy select of a site; the selects of every connector (and, on the
ports without a card reader, their charging user)."""

# Every state comes from the controller's cycle: nothing to limit.
PARALLEL_UPDATES = 0
