"""The subentry flow of a smart outlet: a switch (and its sensors) as an on/off port."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_NAME, UnitOfElectricCurrent, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .compat import vol
from .const import (
    CONF_CONNECTION,
    CONF_GROUP,
    CONF_OUTLET_ENERGY,
    CONF_OUTLET_MIN_OFF_MIN,
    CONF_OUTLET_MIN_ON_MIN,
    CONF_OUTLET_NOMINAL_A,
    CONF_OUTLET_POWER,
    CONF_OUTLET_SWITCH,
    OUTLET_DEFAULT_MIN,
    OUTLET_RANGES,
    SITE_GROUP_ID,
    SUBENTRY_OUTLET,
)
from .core.model import CONNECTIONS
from .core.topology import GroupConfig
from .form_checks import name_and_group_errors, within
from .form_parts import SiteForm, SiteSubentryFlow, box, group_picker
from .outlets import ENERGY
from .sensor_values import POWER, Quantity

OUTLET_CONNECTIONS = ("L1", "L2", "L3", "L1-L2", "L2-L3", "L3-L1", "L1-L2-L3")
"""What an outlet may be wired to: one leg (and neutral), two legs (a 240 V
split-phase or a 400 V line-to-line outlet), or all three."""


def suggested_nominal_a(voltage_ln_v: float) -> float:
    """What an outlet's load typically draws: 12 A on 120 V (80 % of 15 A),
    10 A on 230 V (a household socket's continuous load)."""
    return 12.0 if voltage_ln_v < 180.0 else 10.0


def _schema(groups: list[GroupConfig], legs: int, nominal_a: float) -> vol.Schema:
    minutes = box(UnitOfTime.MINUTES, 1)
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_GROUP, default=SITE_GROUP_ID): group_picker(groups),
            vol.Required(CONF_CONNECTION, default="L1"): SelectSelector(
                SelectSelectorConfig(
                    options=[
                        c for c in OUTLET_CONNECTIONS if max(CONNECTIONS[c].legs) < legs
                    ],
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(CONF_OUTLET_SWITCH): EntitySelector(
                EntitySelectorConfig(domain="switch")
            ),
            vol.Optional(CONF_OUTLET_POWER): EntitySelector(
                EntitySelectorConfig(domain="sensor", device_class="power")
            ),
            vol.Optional(CONF_OUTLET_ENERGY): EntitySelector(
                EntitySelectorConfig(domain="sensor", device_class="energy")
            ),
            vol.Required(CONF_OUTLET_NOMINAL_A, default=nominal_a): box(
                UnitOfElectricCurrent.AMPERE, 0.1
            ),
            vol.Required(CONF_OUTLET_MIN_ON_MIN, default=OUTLET_DEFAULT_MIN): minutes,
            vol.Required(CONF_OUTLET_MIN_OFF_MIN, default=OUTLET_DEFAULT_MIN): minutes,
        }
    )


def _known(hass: HomeAssistant, entity_id: str) -> bool:
    """An entity Home Assistant has (a state now, or in the entity registry)."""
    return (
        hass.states.get(entity_id) is not None
        or er.async_get(hass).async_get(entity_id) is not None
    )


def _sensor_errors(
    hass: HomeAssistant, user_input: Mapping[str, Any], key: str, quantity: Quantity
) -> dict[str, str]:
    """What is wrong with an optional sensor (none: nothing)."""
    errors: dict[str, str] = {}
    entity_id = str(user_input.get(key) or "")
    state = hass.states.get(entity_id) if entity_id else None
    unit = None if state is None else state.attributes.get("unit_of_measurement")
    if not entity_id:
        return errors
    if not entity_id.startswith("sensor.") or not _known(hass, entity_id):
        errors[key] = "entity_unknown"
    elif unit is not None and unit not in quantity.scales:
        errors[key] = "sensor_unit_invalid"
    return errors


def _group_limit_a(groups: list[GroupConfig], group: GroupConfig) -> float | None:
    """The lowest continuous limit per phase from ``group`` up to the site."""
    by_id = {g.id: g for g in groups}
    limits: list[float] = []
    current: GroupConfig | None = group
    while current is not None:
        if current.rating_a is not None:
            limits.append(current.rating_a * current.continuous_factor)
        current = by_id.get(current.parent) if current.parent else None
    return min(limits) if limits else None


def validate_outlet(
    hass: HomeAssistant,
    user_input: Mapping[str, Any],
    site: SiteForm,
) -> dict[str, str]:
    """Form errors by field for an outlet."""
    errors, group = name_and_group_errors(user_input, site.groups)
    connection = CONNECTIONS[user_input[CONF_CONNECTION]]
    if group is not None and not set(connection.legs) <= set(group.phases):
        errors[CONF_CONNECTION] = "connection_not_in_group"
    errors.update(_entity_errors(hass, user_input, site))
    nominal = float(user_input[CONF_OUTLET_NOMINAL_A])
    limit = None if group is None else _group_limit_a(site.groups, group)
    if not within(nominal, OUTLET_RANGES[CONF_OUTLET_NOMINAL_A]):
        errors[CONF_OUTLET_NOMINAL_A] = "nominal_out_of_range"
    elif limit is not None and nominal > limit:
        errors[CONF_OUTLET_NOMINAL_A] = "nominal_above_group"
    for key in (CONF_OUTLET_MIN_ON_MIN, CONF_OUTLET_MIN_OFF_MIN):
        if not within(user_input[key], OUTLET_RANGES[key]):
            errors[key] = "minutes_out_of_range"
    return errors


def _entity_errors(
    hass: HomeAssistant, user_input: Mapping[str, Any], site: SiteForm
) -> dict[str, str]:
    """Errors in the outlet's switch and sensors."""
    errors: dict[str, str] = {}
    switch = str(user_input[CONF_OUTLET_SWITCH])
    others = {
        s.data.get(CONF_OUTLET_SWITCH)
        for sid, s in site.entry.subentries.items()
        if s.subentry_type == SUBENTRY_OUTLET and sid != site.subentry_id
    }
    if not switch.startswith("switch.") or not _known(hass, switch):
        errors[CONF_OUTLET_SWITCH] = "entity_unknown"
    elif switch in others:
        errors[CONF_OUTLET_SWITCH] = "switch_taken"
    errors.update(_sensor_errors(hass, user_input, CONF_OUTLET_POWER, POWER))
    errors.update(_sensor_errors(hass, user_input, CONF_OUTLET_ENERGY, ENERGY))
    return errors


def outlet_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """What an outlet stores."""
    return {
        CONF_GROUP: user_input[CONF_GROUP],
        CONF_CONNECTION: user_input[CONF_CONNECTION],
        CONF_OUTLET_SWITCH: user_input[CONF_OUTLET_SWITCH],
        CONF_OUTLET_POWER: user_input.get(CONF_OUTLET_POWER) or None,
        CONF_OUTLET_ENERGY: user_input.get(CONF_OUTLET_ENERGY) or None,
        CONF_OUTLET_NOMINAL_A: float(user_input[CONF_OUTLET_NOMINAL_A]),
        CONF_OUTLET_MIN_ON_MIN: float(user_input[CONF_OUTLET_MIN_ON_MIN]),
        CONF_OUTLET_MIN_OFF_MIN: float(user_input[CONF_OUTLET_MIN_OFF_MIN]),
    }


class OutletSubentryFlow(SiteSubentryFlow):
    """Add or change a smart outlet of a site."""

    def form_schema(self, site: SiteForm) -> vol.Schema:
        """Name, group, wiring, switch and sensors, current, on/off times; the
        nominal current suggested from the site's voltage."""
        nominal = suggested_nominal_a(site.settings.supply.voltage_ln_v)
        return _schema(site.groups, site.legs, nominal)

    async def async_form_errors(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Checked against the site's groups, entities and other outlets."""
        return validate_outlet(self.hass, user_input, site)

    def form_data(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """What an outlet stores."""
        return outlet_data(user_input)
