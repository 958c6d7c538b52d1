"""The subentry flow of a Modbus TCP charger: its model (register map), where
it is, its rating and failsafe; optionally read once before it is saved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_NAME, UnitOfElectricCurrent
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .compat import vol
from .const import (
    CONF_CONNECTION,
    CONF_FAILSAFE_A,
    CONF_GROUP,
    CONF_HOST,
    CONF_MAX_CURRENT_A,
    CONF_MODEL,
    CONF_PORT,
    CONF_SOCKETS,
    CONF_TEST_CONNECTION,
    CONF_UNIT,
    FAILSAFE_MAX_A,
    FORM_RANGES,
    MODBUS_CHARGER_UNIT_RANGE,
    SITE_GROUP_ID,
    SUBENTRY_MODBUS_CHARGER,
)
from .core.model import CONNECTIONS
from .form_checks import name_and_group_errors, within
from .form_parts import SiteForm, SiteSubentryFlow, box, group_picker
from .modbus.charger_client import ChargerUnavailableError, probe_charger
from .modbus.charger_maps import CHARGER_MAPS

PROBE_TIMEOUT_S = 5.0


def modbus_charger_schema(site: SiteForm) -> vol.Schema:
    """The form of a Modbus charger."""
    legs = site.legs
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_MODEL, default="alfen_eve"): SelectSelector(
                SelectSelectorConfig(
                    options=list(CHARGER_MAPS),
                    mode=SelectSelectorMode.DROPDOWN,
                    translation_key=CONF_MODEL,
                )
            ),
            vol.Required(CONF_GROUP, default=SITE_GROUP_ID): group_picker(site.groups),
            vol.Required(
                CONF_CONNECTION, default="L1-L2-L3" if legs == 3 else "L1"
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[n for n, c in CONNECTIONS.items() if max(c.legs) < legs],
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(CONF_HOST): TextSelector(),
            vol.Required(CONF_PORT, default=502): box("", 1),
            vol.Optional(CONF_UNIT): box("", 1),
            vol.Required(CONF_SOCKETS, default=1): box("", 1),
            vol.Required(CONF_MAX_CURRENT_A, default=16): box(
                UnitOfElectricCurrent.AMPERE, 1
            ),
            vol.Required(CONF_FAILSAFE_A, default=6): box(
                UnitOfElectricCurrent.AMPERE, 1
            ),
            vol.Required(CONF_TEST_CONNECTION, default=True): BooleanSelector(),
        }
    )


def _address_errors(user_input: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    host = str(user_input[CONF_HOST]).strip()
    if not host or any(c.isspace() or c in "/?#" for c in host):
        errors[CONF_HOST] = "host_invalid"
    port = float(user_input[CONF_PORT])
    if port % 1 or not 1 <= port <= 65535:
        errors[CONF_PORT] = "port_invalid"
    unit = user_input.get(CONF_UNIT)
    if unit is not None and (
        float(unit) % 1 or not within(unit, MODBUS_CHARGER_UNIT_RANGE)
    ):
        errors[CONF_UNIT] = "unit_invalid"
    return errors


def _rating_errors(user_input: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    cmap = CHARGER_MAPS[user_input[CONF_MODEL]]
    sockets = float(user_input[CONF_SOCKETS])
    if sockets % 1 or not 1 <= sockets <= cmap.max_sockets:
        errors[CONF_SOCKETS] = "sockets_out_of_range"
    max_a = float(user_input[CONF_MAX_CURRENT_A])
    if not within(max_a, FORM_RANGES[CONF_MAX_CURRENT_A]):
        errors[CONF_MAX_CURRENT_A] = "max_current_out_of_range"
    failsafe = float(user_input[CONF_FAILSAFE_A])
    if not 0.0 <= failsafe <= min(max_a, FAILSAFE_MAX_A):
        errors[CONF_FAILSAFE_A] = "failsafe_out_of_range"
    elif 0.0 < failsafe < cmap.limit.minimum_a:
        errors[CONF_FAILSAFE_A] = "failsafe_below_minimum"
    return errors


async def async_validate_modbus_charger(
    user_input: Mapping[str, Any], site: SiteForm
) -> dict[str, str]:
    """Form errors by field; the charger is read once (nothing written) when all
    else is right and the user asked for it."""
    errors, group = name_and_group_errors(user_input, site.groups)
    if group is not None and not set(
        CONNECTIONS[user_input[CONF_CONNECTION]].legs
    ) <= set(group.phases):
        errors[CONF_CONNECTION] = "connection_not_in_group"
    errors |= _address_errors(user_input) | _rating_errors(user_input)
    if errors or not user_input.get(CONF_TEST_CONNECTION, True):
        return errors
    data = modbus_charger_data(user_input)
    try:
        await probe_charger(
            data[CONF_HOST],
            data[CONF_PORT],
            data[CONF_UNIT] or CHARGER_MAPS[data[CONF_MODEL]].default_unit,
            data[CONF_MODEL],
            timeout=PROBE_TIMEOUT_S,
        )
    except ChargerUnavailableError as err:
        errors["base"] = f"charger_{err.reason.value}"
    return errors


def modbus_charger_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """What a Modbus charger stores."""
    unit = user_input.get(CONF_UNIT)
    return {
        CONF_MODEL: user_input[CONF_MODEL],
        CONF_GROUP: user_input[CONF_GROUP],
        CONF_CONNECTION: user_input[CONF_CONNECTION],
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(float(user_input[CONF_PORT])),
        CONF_UNIT: None if unit is None else int(float(unit)),
        CONF_SOCKETS: int(float(user_input[CONF_SOCKETS])),
        CONF_MAX_CURRENT_A: float(user_input[CONF_MAX_CURRENT_A]),
        CONF_FAILSAFE_A: float(user_input[CONF_FAILSAFE_A]),
    }


class ModbusChargerSubentryFlow(SiteSubentryFlow):
    """Add or change a Modbus TCP charger of a site."""

    def form_schema(self, site: SiteForm) -> vol.Schema:
        """Its model, address, rating and failsafe."""
        return modbus_charger_schema(site)

    async def async_form_errors(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Checked against the site; read once if asked."""
        return await async_validate_modbus_charger(user_input, site)

    def form_data(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """What the charger stores."""
        return modbus_charger_data(user_input)

    def form_unique_id(self, data: Mapping[str, Any]) -> str | None:
        """One charger per address, port and unit."""
        return f"{SUBENTRY_MODBUS_CHARGER}:{data[CONF_HOST]}:{data[CONF_PORT]}:{data[CONF_UNIT]}"
