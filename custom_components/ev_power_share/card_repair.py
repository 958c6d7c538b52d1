"""The repair flow of an unknown card: assign it to a user, or dismiss it."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .compat import RepairsFlowResult, vol
from .const import CONF_USER_TOKENS, SUBENTRY_USER
from .data import EvPowerShareConfigEntry

CONF_USER = "user"


class UnknownCardRepairFlow(RepairsFlow):
    """A card nobody has was refused: give it to a user (it is accepted from
    then on, also by the chargers' local lists), or dismiss it."""

    def __init__(self, entry: EvPowerShareConfigEntry, token: str, where: str) -> None:
        self._entry = entry
        self._token = token
        self._where = where

    def _placeholders(self) -> dict[str, str]:
        return {"card": self._token, "where": self._where, "site": self._entry.title}

    def _users(self) -> dict[str, str]:
        return {
            sid: s.title
            for sid, s in self._entry.subentries.items()
            if s.subentry_type == SUBENTRY_USER
        }

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Ask what to do with it."""
        return self.async_show_menu(
            step_id="init",
            menu_options=["assign", "dismiss"],
            description_placeholders=self._placeholders(),
        )

    async def async_step_assign(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Pick the user whose card it is."""
        users = self._users()
        if not users:
            return self.async_abort(reason="no_users")
        errors: dict[str, str] = {}
        if user_input is not None:
            subentry = self._entry.subentries.get(str(user_input.get(CONF_USER)))
            if subentry is None or subentry.subentry_type != SUBENTRY_USER:
                errors[CONF_USER] = "user_invalid"
            else:
                tokens = list(subentry.data.get(CONF_USER_TOKENS) or ())
                if self._token not in tokens:
                    tokens.append(self._token)
                self.hass.config_entries.async_update_subentry(
                    self._entry,
                    subentry,
                    data={**subentry.data, CONF_USER_TOKENS: tokens},
                )
                return self.async_create_entry(data={})
        schema = vol.Schema(
            {
                vol.Required(CONF_USER): SelectSelector(
                    SelectSelectorConfig(
                        options=[
                            SelectOptionDict(value=sid, label=name)
                            for sid, name in users.items()
                        ],
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="assign",
            data_schema=schema,
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def async_step_dismiss(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Confirm: the card stays refused (announced again if it is tried again)."""
        if user_input is None:
            return self.async_show_form(
                step_id="dismiss",
                data_schema=vol.Schema({}),
                description_placeholders=self._placeholders(),
            )
        return self.async_create_entry(data={})
