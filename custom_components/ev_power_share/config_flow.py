"""Config flow of EV Power Share: one entry per site."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME, UnitOfElectricCurrent
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.util import slugify

from .compat import vol
from .const import (
    CONF_CONTINUOUS_FACTOR,
    CONF_FAILSAFE_A,
    CONF_HYSTERESIS_A,
    CONF_INTERVAL_S,
    CONF_MAIN_BREAKER_A,
    CONF_MIN_CURRENT_A,
    CONF_POLICY,
    CONF_ROTATION_MIN,
    CONF_SUPPLY,
    CONTINUOUS_PCT_DEFAULT,
    CONTINUOUS_PCT_MAX,
    CONTINUOUS_PCT_MIN,
    DEFAULT_OPTIONS,
    DEFAULT_SUPPLY,
    DOMAIN,
    FAILSAFE_MAX_A,
    HYSTERESIS_RANGE_A,
    INTERVAL_RANGE_S,
    MAIN_BREAKER_MAX_A,
    MAIN_BREAKER_MIN_A,
    MIN_CURRENT_RANGE,
    ROTATION_RANGE_MIN,
    SUPPLIES,
)
from .core.model import Policy

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
        vol.Required(CONF_MAIN_BREAKER_A): NumberSelector(
            NumberSelectorConfig(
                mode=NumberSelectorMode.BOX,
                step=1,
                unit_of_measurement=UnitOfElectricCurrent.AMPERE,
            )
        ),
        vol.Required(
            CONF_CONTINUOUS_FACTOR, default=CONTINUOUS_PCT_DEFAULT
        ): NumberSelector(
            NumberSelectorConfig(
                mode=NumberSelectorMode.BOX, step=1, unit_of_measurement="%"
            )
        ),
    }
)


def _validate(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors by field for a site's settings."""
    errors: dict[str, str] = {}
    if not str(user_input[CONF_NAME]).strip():
        errors[CONF_NAME] = "name_required"
    breaker = float(user_input[CONF_MAIN_BREAKER_A])
    if breaker < MAIN_BREAKER_MIN_A:
        errors[CONF_MAIN_BREAKER_A] = "breaker_not_positive"
    elif breaker > MAIN_BREAKER_MAX_A:
        errors[CONF_MAIN_BREAKER_A] = "breaker_too_high"
    pct = float(user_input[CONF_CONTINUOUS_FACTOR])
    if not CONTINUOUS_PCT_MIN <= pct <= CONTINUOUS_PCT_MAX:
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
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """How the site shares power: policy, minimum current, timing."""
        return EvPowerShareOptionsFlow()

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the site's name, supply and main breaker."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate(user_input)
            if not errors:
                data = _entry_data(user_input)
                await self.async_set_unique_id(slugify(data[CONF_NAME]))
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=data[CONF_NAME], data=data)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(SITE_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a site's name, supply or main breaker."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate(user_input)
            if not errors:
                data = _entry_data(user_input)
                unique_id = slugify(data[CONF_NAME])
                for other in self._async_current_entries(include_ignore=False):
                    if (
                        other.entry_id != entry.entry_id
                        and other.unique_id == unique_id
                    ):
                        return self.async_abort(reason="already_configured")
                return self.async_update_reload_and_abort(
                    entry, unique_id=unique_id, title=data[CONF_NAME], data=data
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                SITE_SCHEMA, user_input or _form_values(entry.data)
            ),
            errors=errors,
        )


def _box(unit: str, step: float) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            mode=NumberSelectorMode.BOX, step=step, unit_of_measurement=unit
        )
    )


OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_POLICY): SelectSelector(
            SelectSelectorConfig(
                options=[p.value for p in Policy],
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_POLICY,
            )
        ),
        vol.Required(CONF_MIN_CURRENT_A): _box(UnitOfElectricCurrent.AMPERE, 1),
        vol.Required(CONF_FAILSAFE_A): _box(UnitOfElectricCurrent.AMPERE, 1),
        vol.Required(CONF_ROTATION_MIN): _box("min", 1),
        vol.Required(CONF_INTERVAL_S): _box("s", 1),
        vol.Required(CONF_HYSTERESIS_A): _box(UnitOfElectricCurrent.AMPERE, 0.5),
    }
)


def _within(value: Any, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= float(value) <= bounds[1]


def _validate_options(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors by field for a site's options."""
    errors: dict[str, str] = {}
    minimum = float(user_input[CONF_MIN_CURRENT_A])
    if not _within(minimum, MIN_CURRENT_RANGE):
        errors[CONF_MIN_CURRENT_A] = "min_current_out_of_range"
        minimum = MIN_CURRENT_RANGE[0]  # judge the failsafe on its own then
    failsafe = float(user_input[CONF_FAILSAFE_A])
    if failsafe != 0 and not _within(failsafe, (minimum, FAILSAFE_MAX_A)):
        errors[CONF_FAILSAFE_A] = "failsafe_out_of_range"
    if not _within(user_input[CONF_ROTATION_MIN], ROTATION_RANGE_MIN):
        errors[CONF_ROTATION_MIN] = "rotation_out_of_range"
    if not _within(user_input[CONF_INTERVAL_S], INTERVAL_RANGE_S):
        errors[CONF_INTERVAL_S] = "interval_out_of_range"
    if not _within(user_input[CONF_HYSTERESIS_A], HYSTERESIS_RANGE_A):
        errors[CONF_HYSTERESIS_A] = "hysteresis_out_of_range"
    return errors


class EvPowerShareOptionsFlow(OptionsFlow):
    """Change how a site shares power; applied at once, without a restart."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One form with every option."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate_options(user_input)
            if not errors:
                data = {
                    key: (value if key == CONF_POLICY else float(value))
                    for key, value in user_input.items()
                }
                return self.async_create_entry(data=data)
        current = {**DEFAULT_OPTIONS, **self.config_entry.options}
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, user_input or current
            ),
            errors=errors,
        )
