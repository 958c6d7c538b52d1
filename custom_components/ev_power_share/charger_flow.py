"""The subentry flow of an OCPP charger of a site."""

from __future__ import annotations

from collections.abc import Mapping
import secrets
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_NAME, UnitOfElectricCurrent
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .compat import vol
from .const import (
    CHARGE_POINT_ID_MAX,
    CONF_CHARGE_POINT_ID,
    CONF_CHARGER_MIN_A,
    CONF_CONNECTION,
    CONF_CONNECTORS,
    CONF_FAILSAFE_A,
    CONF_GROUP,
    CONF_LIMIT_STEP,
    CONF_LIMIT_UNIT,
    CONF_MAX_CURRENT_A,
    CONF_PASSWORD,
    CONF_WRITES_PER_MIN,
    FORM_RANGES,
    LIMIT_UNITS,
    PASSWORD_LENGTH_RANGE,
    SITE_GROUP_ID,
)
from .core.model import CONNECTIONS
from .core.topology import GroupConfig
from .data import control_settings, site_chargers
from .form_checks import in_range, name_and_group_errors, within
from .form_parts import SiteForm, SiteSubentryFlow, box, group_picker


def generate_password() -> str:
    """A password for a new charger: 24 characters a charger's form accepts."""
    return secrets.token_urlsafe(18)


def charger_schema(
    groups: list[GroupConfig], legs: int, *, new: bool = False
) -> vol.Schema:
    """The form of an OCPP charger; a ``new`` one shows its (generated)
    password, to be copied into the charger; later it is masked."""
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_CHARGE_POINT_ID): TextSelector(),
            vol.Required(CONF_GROUP, default=SITE_GROUP_ID): group_picker(groups),
            vol.Required(CONF_CONNECTORS, default=1): box("", 1),
            vol.Required(
                CONF_CONNECTION, default="L1-L2-L3" if legs == 3 else "L1"
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[
                        name for name, c in CONNECTIONS.items() if max(c.legs) < legs
                    ],
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(CONF_MAX_CURRENT_A, default=32): box(
                UnitOfElectricCurrent.AMPERE, 1
            ),
            vol.Optional(CONF_FAILSAFE_A): box(UnitOfElectricCurrent.AMPERE, 1),
            vol.Optional(CONF_PASSWORD): TextSelector(
                TextSelectorConfig(
                    type=TextSelectorType.TEXT if new else TextSelectorType.PASSWORD
                )
            ),
            # How it takes a limit: what it says, unless set here.
            vol.Required(CONF_LIMIT_UNIT, default="auto"): SelectSelector(
                SelectSelectorConfig(
                    options=list(LIMIT_UNITS),
                    mode=SelectSelectorMode.DROPDOWN,
                    translation_key=CONF_LIMIT_UNIT,
                )
            ),
            vol.Optional(CONF_LIMIT_STEP): box("", 0.1),
            vol.Optional(CONF_CHARGER_MIN_A): box(UnitOfElectricCurrent.AMPERE, 1),
            vol.Optional(CONF_WRITES_PER_MIN): box("", 1),
        }
    )


def validate_charger(
    user_input: Mapping[str, Any],
    entry: ConfigEntry,
    groups: list[GroupConfig],
    subentry_id: str | None,
) -> dict[str, str]:
    """Form errors by field for a charger (``subentry_id``: the one edited)."""
    errors, group = name_and_group_errors(user_input, groups)
    cp_id = str(user_input[CONF_CHARGE_POINT_ID]).strip()
    others = site_chargers(
        {k: v for k, v in entry.subentries.items() if k != subentry_id}
    )
    if (
        not cp_id
        or len(cp_id) > CHARGE_POINT_ID_MAX
        or any(ch.isspace() or ch in "/?#%" for ch in cp_id)
    ):
        errors[CONF_CHARGE_POINT_ID] = "charge_point_id_invalid"
    elif cp_id in {c.charge_point_id for c in others}:
        errors[CONF_CHARGE_POINT_ID] = "charge_point_id_taken"
    if group is not None and not set(
        CONNECTIONS[user_input[CONF_CONNECTION]].legs
    ) <= set(group.phases):
        errors[CONF_CONNECTION] = "connection_not_in_group"
    if not in_range(user_input, CONF_CONNECTORS) or (
        float(user_input[CONF_CONNECTORS]) % 1
    ):
        errors[CONF_CONNECTORS] = "connectors_out_of_range"
    max_a = float(user_input[CONF_MAX_CURRENT_A])
    if not within(max_a, FORM_RANGES[CONF_MAX_CURRENT_A]):
        errors[CONF_MAX_CURRENT_A] = "max_current_out_of_range"
    password = str(user_input.get(CONF_PASSWORD) or "")
    if password and (
        not within(len(password), PASSWORD_LENGTH_RANGE)
        or any(ch.isspace() for ch in password)
    ):
        errors[CONF_PASSWORD] = "password_invalid"
    failsafe = user_input.get(CONF_FAILSAFE_A)
    minimum = control_settings(entry.options).min_current_a
    if (
        failsafe is not None
        and float(failsafe) != 0
        and not (minimum <= float(failsafe) <= max_a)
    ):
        errors[CONF_FAILSAFE_A] = "failsafe_out_of_range"
    errors.update(_limit_errors(user_input, max_a))
    return errors


def _limit_errors(user_input: Mapping[str, Any], max_a: float) -> dict[str, str]:
    """Errors in how the charger takes a limit (its step, minimum, budget)."""
    errors: dict[str, str] = {}
    if user_input.get(CONF_LIMIT_STEP) is not None and not in_range(
        user_input, CONF_LIMIT_STEP
    ):
        errors[CONF_LIMIT_STEP] = "limit_step_out_of_range"
    minimum = user_input.get(CONF_CHARGER_MIN_A)
    if minimum is not None and not (
        in_range(user_input, CONF_CHARGER_MIN_A) and float(minimum) <= max_a
    ):
        errors[CONF_CHARGER_MIN_A] = "charger_min_out_of_range"
    writes = user_input.get(CONF_WRITES_PER_MIN)
    if writes is not None and (
        not in_range(user_input, CONF_WRITES_PER_MIN) or float(writes) % 1
    ):
        errors[CONF_WRITES_PER_MIN] = "writes_per_minute_out_of_range"
    return errors


def charger_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    failsafe = user_input.get(CONF_FAILSAFE_A)
    return {
        CONF_CHARGE_POINT_ID: str(user_input[CONF_CHARGE_POINT_ID]).strip(),
        CONF_GROUP: user_input[CONF_GROUP],
        CONF_CONNECTORS: int(float(user_input[CONF_CONNECTORS])),
        CONF_CONNECTION: user_input[CONF_CONNECTION],
        CONF_MAX_CURRENT_A: float(user_input[CONF_MAX_CURRENT_A]),
        CONF_FAILSAFE_A: None if failsafe is None else float(failsafe),
        CONF_PASSWORD: user_input.get(CONF_PASSWORD) or None,
        CONF_LIMIT_UNIT: user_input.get(CONF_LIMIT_UNIT) or "auto",
        CONF_LIMIT_STEP: _number(user_input.get(CONF_LIMIT_STEP)),
        CONF_CHARGER_MIN_A: _number(user_input.get(CONF_CHARGER_MIN_A)),
        CONF_WRITES_PER_MIN: None
        if (writes := user_input.get(CONF_WRITES_PER_MIN)) is None
        else int(float(writes)),
    }


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


class ChargerSubentryFlow(SiteSubentryFlow):
    """Add or change an OCPP charger of a site."""

    names_site = True

    def form_schema(self, site: SiteForm) -> vol.Schema:
        """A new charger's password is shown; a stored one masked."""
        return charger_schema(site.groups, site.legs, new=site.subentry is None)

    async def async_form_errors(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Checked against the site's groups and other chargers."""
        return validate_charger(user_input, site.entry, site.groups, site.subentry_id)

    def form_data(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """What a charger stores."""
        return charger_data(user_input)

    def form_unique_id(self, data: Mapping[str, Any]) -> str | None:
        """Its charge point id."""
        return str(data[CONF_CHARGE_POINT_ID])

    def form_suggested(self, site: SiteForm) -> Mapping[str, Any] | None:
        """A new charger starts with a generated password."""
        if site.subentry is None:
            return {CONF_PASSWORD: generate_password()}
        return super().form_suggested(site)
