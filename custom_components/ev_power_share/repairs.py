"""Repair flows: what the user can fix from Settings → System → Repairs.

- A refused group removal is explained; confirming dismisses it.
- An unknown charger that connects can be added (its id prefilled) or rejected.
- A charger without a password gets one.
- An unknown card that was refused is given to a user, or dismissed.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .card_repair import UnknownCardRepairFlow
from .charger_flow import (
    charger_data,
    charger_schema,
    generate_password,
    validate_charger,
)
from .compat import RepairsFlowResult, vol
from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_PASSWORD,
    CONF_REJECTED_CHARGERS,
    DOMAIN,
    PASSWORD_LENGTH_RANGE,
    REJECTED_MAX,
    SUBENTRY_CHARGER,
)
from .data import EvPowerShareConfigEntry, SiteSettings, site_groups
from .issues import ISSUE_NO_PASSWORD, ISSUE_UNKNOWN_CHARGER
from .users import ISSUE_UNKNOWN_CARD


class UnknownChargerRepairFlow(RepairsFlow):
    """Add a charger that connected unannounced, or reject it for good."""

    def __init__(self, entry: EvPowerShareConfigEntry, charge_point_id: str) -> None:
        self._entry = entry
        self._cp_id = charge_point_id

    def _placeholders(self) -> dict[str, str]:
        return {"charger": self._cp_id, "site": self._entry.title}

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Ask what to do with it."""
        return self.async_show_menu(
            step_id="init",
            menu_options=["add", "reject"],
            description_placeholders=self._placeholders(),
        )

    async def async_step_add(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """The charger form, its charge point id filled in."""
        entry = self._entry
        settings = SiteSettings.from_entry_data(entry.data)
        groups = site_groups(settings, entry.subentries)
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = validate_charger(user_input, entry, groups, None)
            if not errors:
                data = charger_data(user_input)
                self.hass.config_entries.async_add_subentry(
                    entry,
                    ConfigSubentry(
                        data=MappingProxyType(data),
                        subentry_type=SUBENTRY_CHARGER,
                        title=str(user_input[CONF_NAME]).strip(),
                        unique_id=data[CONF_CHARGE_POINT_ID],
                    ),
                )
                return self.async_create_entry(data={})
        suggested = user_input or {
            CONF_NAME: self._cp_id,
            CONF_CHARGE_POINT_ID: self._cp_id,
            CONF_PASSWORD: generate_password(),
        }
        return self.async_show_form(
            step_id="add",
            data_schema=self.add_suggested_values_to_schema(
                charger_schema(groups, settings.supply.legs, new=True), suggested
            ),
            errors=errors,
            description_placeholders=self._placeholders(),
        )

    async def async_step_reject(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Confirm, then refuse it from now on (it is disconnected at once)."""
        if user_input is None:
            return self.async_show_form(
                step_id="reject",
                data_schema=vol.Schema({}),
                description_placeholders=self._placeholders(),
            )
        entry = self._entry
        rejected = [
            i for i in entry.options.get(CONF_REJECTED_CHARGERS, ()) if i != self._cp_id
        ]
        rejected = [*rejected, self._cp_id][-REJECTED_MAX:]
        self.hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_REJECTED_CHARGERS: rejected}
        )
        runtime = getattr(entry, "runtime_data", None)
        station = None if runtime is None else runtime.ocpp.stations.get(self._cp_id)
        if station is not None:
            # It reconnects and is refused at the handshake from now on.
            entry.async_create_background_task(
                self.hass, station.disconnect(), f"{DOMAIN} reject {self._cp_id}"
            )
        return self.async_create_entry(data={})


class ChargerPasswordRepairFlow(RepairsFlow):
    """Give a charger without a password one (shown, to be copied into it)."""

    def __init__(self, entry: EvPowerShareConfigEntry, subentry_id: str) -> None:
        self._entry = entry
        self._subentry_id = subentry_id
        self._password = generate_password()

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Start (what Repairs passes here is the issue, not the user's input)."""
        return await self.async_step_password()

    async def async_step_password(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """The password form (a new one suggested)."""
        entry = self._entry
        subentry = entry.subentries.get(self._subentry_id)
        if subentry is None:  # removed meanwhile: nothing left to fix
            return self.async_create_entry(data={})
        errors: dict[str, str] = {}
        if user_input is not None:
            password = str(user_input.get(CONF_PASSWORD) or "").strip()
            low, high = PASSWORD_LENGTH_RANGE
            if not low <= len(password) <= high or any(c.isspace() for c in password):
                errors[CONF_PASSWORD] = "password_invalid"
            else:
                self.hass.config_entries.async_update_subentry(
                    entry, subentry, data={**subentry.data, CONF_PASSWORD: password}
                )
                return self.async_create_entry(data={})
        schema = vol.Schema(
            {
                vol.Required(CONF_PASSWORD): TextSelector(
                    TextSelectorConfig(type=TextSelectorType.TEXT)
                )
            }
        )
        return self.async_show_form(
            step_id="password",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or {CONF_PASSWORD: self._password}
            ),
            errors=errors,
            description_placeholders={
                "charger": subentry.title,
                "charge_point_id": str(subentry.data[CONF_CHARGE_POINT_ID]),
                "site": entry.title,
            },
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The flow that fixes ``issue_id``."""
    entry = (
        None
        if data is None
        else hass.config_entries.async_get_entry(str(data["entry_id"]))
    )
    if entry is not None and entry.domain == DOMAIN and data is not None:
        if issue_id.startswith(f"{ISSUE_UNKNOWN_CHARGER}_"):
            return UnknownChargerRepairFlow(entry, str(data["charge_point_id"]))
        if issue_id.startswith(f"{ISSUE_NO_PASSWORD}_"):
            return ChargerPasswordRepairFlow(entry, str(data["subentry_id"]))
        if issue_id.startswith(f"{ISSUE_UNKNOWN_CARD}_"):
            return UnknownCardRepairFlow(entry, str(data["token"]), str(data["where"]))
    return ConfirmRepairFlow()
