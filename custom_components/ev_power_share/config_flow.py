"""Config flow of EV Power Share: one entry per site."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import uuid4

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME, UnitOfElectricCurrent
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .charger_flow import ChargerSubentryFlow
from .compat import async_update_and_abort, vol
from .const import (
    CONF_ACCESS_MODE,
    CONF_CONTINUOUS_FACTOR,
    CONF_MAIN_BREAKER_A,
    CONF_OCPP_PORT,
    CONF_SSL_CERTIFICATE,
    CONF_SSL_KEY,
    CONF_SUPPLY,
    CONTINUOUS_PCT_DEFAULT,
    DEFAULT_OCPP_PORT,
    DEFAULT_SUPPLY,
    DOMAIN,
    FORM_RANGES,
    SUBENTRY_CHARGER,
    SUBENTRY_GROUP,
    SUBENTRY_HA_CHARGER,
    SUBENTRY_METER,
    SUBENTRY_MODBUS_CHARGER,
    SUBENTRY_OUTLET,
    SUBENTRY_SCHEDULE,
    SUBENTRY_TARIFF,
    SUBENTRY_USER,
    SUPPLIES,
)
from .core.access import AccessSetting
from .csms.tls import TlsError, server_ssl_context
from .data import SiteSettings, site_groups
from .form_checks import async_port_errors, configured_port, in_range
from .form_parts import box
from .group_flow import PowerGroupSubentryFlow
from .ha_charger_flow import HaChargerSubentryFlow
from .meter_flow import MeterSubentryFlow
from .modbus_charger_flow import ModbusChargerSubentryFlow
from .options_flow import EvPowerShareOptionsFlow
from .outlet_flow import OutletSubentryFlow
from .schedule_flow import ScheduleLimitSubentryFlow
from .tariff_flow import TariffSubentryFlow
from .user_flow import UserSubentryFlow

SITE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME, default="Home"): TextSelector(),
        vol.Required(CONF_SUPPLY, default=DEFAULT_SUPPLY): SelectSelector(
            SelectSelectorConfig(
                options=list(SUPPLIES),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_SUPPLY,
            )
        ),
        # Bounds are checked in the flow, so a mistake gets a message on the field.
        vol.Required(CONF_MAIN_BREAKER_A): box(UnitOfElectricCurrent.AMPERE, 1),
        vol.Required(CONF_CONTINUOUS_FACTOR, default=CONTINUOUS_PCT_DEFAULT): box(
            "%", 1
        ),
    }
)


USER_SCHEMA = SITE_SCHEMA.extend(
    {vol.Required(CONF_OCPP_PORT, default=DEFAULT_OCPP_PORT): box("", 1)}
)


def _name_taken(
    hass: HomeAssistant, name: str, entry: ConfigEntry | None = None
) -> bool:
    """Another site has this very name (letter case and spaces aside)."""
    wanted = name.strip().casefold()
    return any(
        str(other.data.get(CONF_NAME, other.title)).strip().casefold() == wanted
        for other in hass.config_entries.async_entries(DOMAIN, include_ignore=False)
        if entry is None or other.entry_id != entry.entry_id
    )


def _validate(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors by field for a site's settings."""
    errors: dict[str, str] = {}
    if not str(user_input[CONF_NAME]).strip():
        errors[CONF_NAME] = "name_required"
    breaker = float(user_input[CONF_MAIN_BREAKER_A])
    lowest, highest = FORM_RANGES[CONF_MAIN_BREAKER_A]
    if breaker < lowest:
        errors[CONF_MAIN_BREAKER_A] = "breaker_not_positive"
    elif breaker > highest:
        errors[CONF_MAIN_BREAKER_A] = "breaker_too_high"
    if not in_range(user_input, CONF_CONTINUOUS_FACTOR):
        errors[CONF_CONTINUOUS_FACTOR] = "factor_out_of_range"
    return errors


def _entry_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """What is stored: the factor as a fraction, the name trimmed."""
    return {
        CONF_NAME: str(user_input[CONF_NAME]).strip(),
        CONF_SUPPLY: user_input[CONF_SUPPLY],
        CONF_MAIN_BREAKER_A: float(user_input[CONF_MAIN_BREAKER_A]),
        CONF_CONTINUOUS_FACTOR: float(user_input[CONF_CONTINUOUS_FACTOR]) / 100.0,
    }


def _form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored data shown back in the form (factor as a percentage)."""
    return {
        CONF_NAME: data[CONF_NAME],
        CONF_SUPPLY: data[CONF_SUPPLY],
        CONF_MAIN_BREAKER_A: data[CONF_MAIN_BREAKER_A],
        CONF_CONTINUOUS_FACTOR: round(data[CONF_CONTINUOUS_FACTOR] * 100.0, 1),
    }


class EvPowerShareConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up or reconfigure a site."""

    VERSION = 1
    MINOR_VERSION = 2
    """1.2: the unique id is generated (1.1 had the name's slug)."""

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """How the site shares power: policy, minimum current, timing."""
        return EvPowerShareOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Panels, circuits, chargers and meters are added to a site as subentries."""
        return {
            SUBENTRY_GROUP: PowerGroupSubentryFlow,
            SUBENTRY_CHARGER: ChargerSubentryFlow,
            SUBENTRY_METER: MeterSubentryFlow,
            SUBENTRY_SCHEDULE: ScheduleLimitSubentryFlow,
            SUBENTRY_OUTLET: OutletSubentryFlow,
            SUBENTRY_MODBUS_CHARGER: ModbusChargerSubentryFlow,
            SUBENTRY_HA_CHARGER: HaChargerSubentryFlow,
            SUBENTRY_TARIFF: TariffSubentryFlow,
            SUBENTRY_USER: UserSubentryFlow,
        }

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the site's name, supply and main breaker."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate(user_input)
            if not errors and _name_taken(self.hass, user_input[CONF_NAME]):
                return self.async_abort(reason="already_configured")
            errors |= await async_port_errors(
                self.hass, user_input.get(CONF_OCPP_PORT), None
            )
            if not errors:
                data = _entry_data(user_input)
                # Not the name: a site may be renamed, and names may look alike.
                await self.async_set_unique_id(uuid4().hex)
                return self.async_create_entry(
                    title=data[CONF_NAME],
                    data=data,
                    options={
                        CONF_OCPP_PORT: int(float(user_input[CONF_OCPP_PORT])),
                        # A new site: open while it has no users (a home),
                        # authorised once it has one (a condo).
                        CONF_ACCESS_MODE: AccessSetting.AUTO.value,
                    },
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a site's name, supply, main breaker, or how its chargers
        connect: the OCPP port and TLS (OCPP security profile 2)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate(user_input)
            legs = SUPPLIES[user_input[CONF_SUPPLY]].legs
            if any(
                max(g.phases) >= legs
                for g in site_groups(
                    SiteSettings.from_entry_data(entry.data), entry.subentries
                )[1:]
            ):
                errors[CONF_SUPPLY] = "supply_phases_in_use"
            tls = await self._async_validate_tls(user_input, errors)
            port = user_input.get(CONF_OCPP_PORT)
            errors |= await async_port_errors(self.hass, port, entry)
            if not errors:
                data = _entry_data(user_input) | tls
                if _name_taken(self.hass, data[CONF_NAME], entry):
                    return self.async_abort(reason="already_configured")
                changes: dict[str, Any] = {"title": data[CONF_NAME], "data": data}
                if port is not None:
                    changes["options"] = {
                        **entry.options,
                        CONF_OCPP_PORT: int(float(port)),
                    }
                # The entry's update listener reloads the site for new data.
                return async_update_and_abort(self, entry, **changes)
        current = (
            _form_values(entry.data)
            | {key: entry.data[key] for key in TLS_KEYS if entry.data.get(key)}
            | {CONF_OCPP_PORT: configured_port(entry)}
        )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                RECONFIGURE_SCHEMA, user_input or current
            ),
            errors=errors,
        )

    async def _async_validate_tls(
        self, user_input: Mapping[str, Any], errors: dict[str, str]
    ) -> dict[str, str | None]:
        """Certificate and key paths: both or neither, and loadable (off the loop)."""
        cert, key = (str(user_input.get(k) or "").strip() or None for k in TLS_KEYS)
        if cert is None and key is None:
            return dict.fromkeys(TLS_KEYS)
        if cert is None or key is None:
            errors[CONF_SSL_CERTIFICATE if cert is None else CONF_SSL_KEY] = (
                "tls_pair_required"
            )
            return {}
        try:
            await self.hass.async_add_executor_job(server_ssl_context, cert, key)
        except TlsError as err:
            field = CONF_SSL_KEY if err.reason == "invalid" else CONF_SSL_CERTIFICATE
            if err.reason == "missing" and err.detail == key:
                field = CONF_SSL_KEY
            errors[field] = f"tls_{err.reason}"
            return {}
        return {CONF_SSL_CERTIFICATE: cert, CONF_SSL_KEY: key}


TLS_KEYS = (CONF_SSL_CERTIFICATE, CONF_SSL_KEY)
RECONFIGURE_SCHEMA = SITE_SCHEMA.extend(
    {
        vol.Optional(CONF_OCPP_PORT): box("", 1),
        vol.Optional(CONF_SSL_CERTIFICATE): TextSelector(),
        vol.Optional(CONF_SSL_KEY): TextSelector(),
    }
)
