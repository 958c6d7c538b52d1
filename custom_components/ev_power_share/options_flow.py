"""The options flow of a site: how it shares power, its OCPP server, its
solar and tariff sensors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, UnitOfElectricCurrent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .compat import vol
from .const import (
    BATTERY_SIGNS,
    CONF_ACCESS_MODE,
    CONF_BATTERY_IS_SURPLUS,
    CONF_BATTERY_POWER_ENTITY,
    CONF_BATTERY_POWER_SIGN,
    CONF_DEFAULT_TARIFF,
    CONF_FAILSAFE_A,
    CONF_GRID_POWER_ENTITY,
    CONF_GRID_POWER_SIGN,
    CONF_HYSTERESIS_A,
    CONF_INTERVAL_S,
    CONF_MIN_CURRENT_A,
    CONF_OCPP_PORT,
    CONF_POLICY,
    CONF_POWER_SIGN,
    CONF_PRICE_ENTITY,
    CONF_REJECTED_CHARGERS,
    CONF_ROTATION_MIN,
    CONF_WATCHDOG_S,
    DEFAULT_OCPP_PORT,
    DEFAULT_OPTIONS,
    DEFAULT_WATCHDOG_S,
    FAILSAFE_MAX_A,
    FORM_RANGES,
    POWER_SIGNS,
)
from .core.access import AccessSetting
from .core.model import Policy
from .form_checks import async_port_errors, in_range, within
from .form_parts import box
from .meter_flow import POWER_UNITS
from .user_flow import tariff_plans

OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_POLICY): SelectSelector(
            SelectSelectorConfig(
                options=[p.value for p in Policy],
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_POLICY,
            )
        ),
        vol.Required(CONF_MIN_CURRENT_A): box(UnitOfElectricCurrent.AMPERE, 1),
        vol.Required(CONF_FAILSAFE_A): box(UnitOfElectricCurrent.AMPERE, 1),
        vol.Required(CONF_ROTATION_MIN): box("min", 1),
        vol.Required(CONF_INTERVAL_S): box("s", 1),
        vol.Required(CONF_HYSTERESIS_A): box(UnitOfElectricCurrent.AMPERE, 0.5),
        vol.Optional(CONF_OCPP_PORT): box("", 1),
        vol.Optional(CONF_WATCHDOG_S): box("s", 10),
        vol.Optional(CONF_GRID_POWER_ENTITY): EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class="power")
        ),
        vol.Optional(CONF_GRID_POWER_SIGN, default="import_positive"): SelectSelector(
            SelectSelectorConfig(
                options=list(POWER_SIGNS),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_POWER_SIGN,
            )
        ),
        vol.Optional(CONF_BATTERY_POWER_ENTITY): EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class="power")
        ),
        vol.Optional(
            CONF_BATTERY_POWER_SIGN, default="discharge_positive"
        ): SelectSelector(
            SelectSelectorConfig(
                options=list(BATTERY_SIGNS),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_BATTERY_POWER_SIGN,
            )
        ),
        vol.Optional(CONF_BATTERY_IS_SURPLUS, default=False): BooleanSelector(),
        vol.Optional(CONF_ACCESS_MODE): SelectSelector(
            SelectSelectorConfig(
                options=[s.value for s in AccessSetting],
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_ACCESS_MODE,
            )
        ),
        vol.Optional(CONF_PRICE_ENTITY): EntitySelector(
            EntitySelectorConfig(domain="sensor")
        ),
    }
)
NUMERIC_OPTIONS = (
    CONF_MIN_CURRENT_A,
    CONF_FAILSAFE_A,
    CONF_ROTATION_MIN,
    CONF_INTERVAL_S,
    CONF_HYSTERESIS_A,
    CONF_WATCHDOG_S,
)


def _validate_options(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors by field for a site's options."""
    errors: dict[str, str] = {}
    minimum = float(user_input[CONF_MIN_CURRENT_A])
    if not within(minimum, FORM_RANGES[CONF_MIN_CURRENT_A]):
        errors[CONF_MIN_CURRENT_A] = "min_current_out_of_range"
        # Judge the failsafe on its own then.
        minimum = FORM_RANGES[CONF_MIN_CURRENT_A][0]
    failsafe = float(user_input[CONF_FAILSAFE_A])
    if failsafe != 0 and not within(failsafe, (minimum, FAILSAFE_MAX_A)):
        errors[CONF_FAILSAFE_A] = "failsafe_out_of_range"
    if not in_range(user_input, CONF_ROTATION_MIN):
        errors[CONF_ROTATION_MIN] = "rotation_out_of_range"
    if not in_range(user_input, CONF_INTERVAL_S):
        errors[CONF_INTERVAL_S] = "interval_out_of_range"
    if not in_range(user_input, CONF_HYSTERESIS_A):
        errors[CONF_HYSTERESIS_A] = "hysteresis_out_of_range"
    watchdog = user_input.get(CONF_WATCHDOG_S)
    if watchdog is not None and not within(watchdog, FORM_RANGES[CONF_WATCHDOG_S]):
        errors[CONF_WATCHDOG_S] = "watchdog_out_of_range"
    return errors


def _validate_energy(
    hass: HomeAssistant, user_input: Mapping[str, Any]
) -> dict[str, str]:
    """The power sensors must be power sensors; the price sensor must exist."""
    errors: dict[str, str] = {}
    for key in (CONF_GRID_POWER_ENTITY, CONF_BATTERY_POWER_ENTITY):
        entity_id = user_input.get(key)
        if not entity_id:
            continue
        state = hass.states.get(entity_id)
        if state is None:
            errors[key] = "entity_missing"
        elif state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) not in POWER_UNITS:
            errors[key] = "entity_not_power"
    price = user_input.get(CONF_PRICE_ENTITY)
    if price and hass.states.get(price) is None:
        errors[CONF_PRICE_ENTITY] = "entity_missing"
    return errors


def _with_default_plan(schema: vol.Schema, plans: Mapping[str, str]) -> vol.Schema:
    """The site's default tariff plan, picked from its plans (if it has any)."""
    if not plans:
        return schema
    choices = [SelectOptionDict(value=sid, label=name) for sid, name in plans.items()]
    return schema.extend(
        {
            vol.Optional(CONF_DEFAULT_TARIFF): SelectSelector(
                SelectSelectorConfig(options=choices, mode=SelectSelectorMode.DROPDOWN)
            )
        }
    )


class EvPowerShareOptionsFlow(OptionsFlow):
    """Change how a site shares power; applied at once, without a restart."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One form with every option (and the rejected chargers, if any)."""
        options = self.config_entry.options
        rejected = list(options.get(CONF_REJECTED_CHARGERS, ()))
        schema = _with_default_plan(OPTIONS_SCHEMA, tariff_plans(self.config_entry))
        if rejected:
            schema = schema.extend(
                {
                    vol.Optional(CONF_REJECTED_CHARGERS): SelectSelector(
                        SelectSelectorConfig(
                            options=rejected,
                            multiple=True,
                            mode=SelectSelectorMode.LIST,
                        )
                    )
                }
            )
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = (
                _validate_options(user_input)
                | _validate_energy(self.hass, user_input)
                | await async_port_errors(
                    self.hass, user_input.get(CONF_OCPP_PORT), self.config_entry
                )
            )
            if not errors:
                data: dict[str, Any] = {
                    key: (
                        int(value)
                        if key == CONF_OCPP_PORT
                        else float(value)
                        if key in NUMERIC_OPTIONS
                        else value
                    )
                    for key, value in user_input.items()
                    if key != CONF_REJECTED_CHARGERS
                }
                # Unticking a rejected charger lets it connect again (as unknown).
                kept = set(user_input.get(CONF_REJECTED_CHARGERS, ()))
                if still := [i for i in rejected if i in kept]:
                    data[CONF_REJECTED_CHARGERS] = still
                return self.async_create_entry(data=data)
        current = {
            CONF_ACCESS_MODE: AccessSetting.OPEN.value,  # a site from before it
            CONF_OCPP_PORT: DEFAULT_OCPP_PORT,
            CONF_WATCHDOG_S: DEFAULT_WATCHDOG_S,
            **DEFAULT_OPTIONS,
            **options,
        }
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or current
            ),
            errors=errors,
        )
