"""The meter subentry flow: a CT clamp set or site meter on a power group.

Two sources: sensor entities Home Assistant already has (any CT clamp, P1/DSMR
reader, Shelly, inverter …: currents per phase and/or a power), or a Modbus TCP
meter that the site reads itself (probed before it is saved).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import SubentryFlowResult
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_NAME,
    UnitOfElectricCurrent,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
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
    CONF_CURRENT_ENTITIES,
    CONF_GROUP,
    CONF_HOST,
    CONF_POLL_S,
    CONF_PORT,
    CONF_POWER_ENTITY,
    CONF_POWER_SIGN,
    CONF_PROFILE,
    CONF_SOURCE,
    CONF_STALE_S,
    CONF_UNIT,
    DEFAULT_POLL_S,
    DEFAULT_STALE_S,
    FORM_RANGES,
    METER_SOURCES,
    POWER_SIGNS,
    SITE_GROUP_ID,
    SUBENTRY_METER,
)
from .core.topology import GroupConfig
from .form_checks import in_range, name_and_group_errors, within
from .form_parts import SiteForm, SiteSubentryFlow, box, group_picker
from .modbus import DEFAULT_PORT, PROFILES, MeterError, probe

CURRENT_UNITS = {UnitOfElectricCurrent.AMPERE, UnitOfElectricCurrent.MILLIAMPERE}
POWER_UNITS = {UnitOfPower.WATT, UnitOfPower.KILO_WATT, UnitOfPower.MEGA_WATT}
PROBE_TIMEOUT_S = 5.0


def _sensors_schema(groups: list[GroupConfig], legs: int) -> vol.Schema:
    fields: dict[Any, Any] = {
        vol.Required(CONF_NAME): TextSelector(),
        vol.Required(CONF_GROUP, default=SITE_GROUP_ID): group_picker(groups),
    }
    for key in CONF_CURRENT_ENTITIES[:legs]:
        fields[vol.Optional(key)] = EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class="current")
        )
    fields[vol.Optional(CONF_POWER_ENTITY)] = EntitySelector(
        EntitySelectorConfig(domain="sensor", device_class="power")
    )
    fields[vol.Required(CONF_POWER_SIGN, default=POWER_SIGNS[0])] = SelectSelector(
        SelectSelectorConfig(
            options=list(POWER_SIGNS),
            mode=SelectSelectorMode.LIST,
            translation_key=CONF_POWER_SIGN,
        )
    )
    fields[vol.Required(CONF_STALE_S, default=DEFAULT_STALE_S)] = box("s", 1)
    return vol.Schema(fields)


def _modbus_schema(groups: list[GroupConfig]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_GROUP, default=SITE_GROUP_ID): group_picker(groups),
            vol.Required(CONF_PROFILE, default="sdm630"): SelectSelector(
                SelectSelectorConfig(
                    options=list(PROFILES),
                    mode=SelectSelectorMode.DROPDOWN,
                    translation_key=CONF_PROFILE,
                )
            ),
            vol.Required(CONF_HOST): TextSelector(),
            vol.Required(CONF_PORT, default=DEFAULT_PORT): box("", 1),
            vol.Required(CONF_UNIT, default=1): box("", 1),
            vol.Required(CONF_POLL_S, default=DEFAULT_POLL_S): box("s", 1),
            vol.Required(CONF_STALE_S, default=DEFAULT_STALE_S): box("s", 1),
        }
    )


def _common_errors(
    user_input: Mapping[str, Any], site: SiteForm
) -> tuple[dict[str, str], GroupConfig | None]:
    """Form errors of what every meter has, and the group it measures (None: not
    one of the site's): one meter a group."""
    errors, group = name_and_group_errors(user_input, site.groups)
    if group is not None and any(
        s.subentry_type == SUBENTRY_METER
        and sid != site.subentry_id
        and s.data.get(CONF_GROUP) == group.id
        for sid, s in site.entry.subentries.items()
    ):
        errors[CONF_GROUP] = "group_has_meter"
    if not in_range(user_input, CONF_STALE_S):
        errors[CONF_STALE_S] = "stale_out_of_range"
    return errors, group


def _unit_of(hass: HomeAssistant, entity_id: str) -> str | bool | None:
    """The entity's unit; False if it does not exist."""
    state = hass.states.get(entity_id)
    if state is None:
        return False
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    return None if unit is None else str(unit)


def validate_sensors(
    hass: HomeAssistant, user_input: Mapping[str, Any], site: SiteForm
) -> dict[str, str]:
    """Form errors by field for a meter made of sensor entities."""
    errors, group = _common_errors(user_input, site)
    currents = {
        i: user_input[key]
        for i, key in enumerate(CONF_CURRENT_ENTITIES)
        if user_input.get(key)
    }
    power = user_input.get(CONF_POWER_ENTITY)
    if not currents and not power:
        errors["base"] = "sources_required"
    errors |= _current_errors(hass, currents, group)
    if power:
        unit = _unit_of(hass, power)
        if unit is False:
            errors[CONF_POWER_ENTITY] = "entity_missing"
        elif unit not in POWER_UNITS:
            errors[CONF_POWER_ENTITY] = "entity_not_power"
    return errors


def _current_errors(
    hass: HomeAssistant, currents: Mapping[int, str], group: GroupConfig | None
) -> dict[str, str]:
    """Form errors of the current sensors (``currents``: entity by leg): each a
    current on one of the group's legs, and, if there are any, one on every leg."""
    errors: dict[str, str] = {}
    for i, entity_id in currents.items():
        key = CONF_CURRENT_ENTITIES[i]
        unit = _unit_of(hass, entity_id)
        if unit is False:
            errors[key] = "entity_missing"
        elif unit not in CURRENT_UNITS:
            errors[key] = "entity_not_current"
        elif group is not None and i not in group.phases:
            errors[key] = "phase_not_in_group"
    if currents and group is not None:
        # A leg without a sensor would count as carrying nothing: not safe.
        for leg in group.phases:
            if leg not in currents:
                errors.setdefault(CONF_CURRENT_ENTITIES[leg], "current_required")
    return errors


def sensors_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """What a sensor meter stores."""
    return {
        CONF_SOURCE: "sensors",
        CONF_GROUP: user_input[CONF_GROUP],
        **{key: user_input.get(key) or None for key in CONF_CURRENT_ENTITIES},
        CONF_POWER_ENTITY: user_input.get(CONF_POWER_ENTITY) or None,
        CONF_POWER_SIGN: user_input[CONF_POWER_SIGN],
        CONF_STALE_S: float(user_input[CONF_STALE_S]),
    }


async def async_validate_modbus(
    user_input: Mapping[str, Any], site: SiteForm
) -> dict[str, str]:
    """Form errors for a Modbus meter; the meter is read once when all else is right."""
    errors, group = _common_errors(user_input, site)
    host = str(user_input[CONF_HOST]).strip()
    if not host or any(c.isspace() or c in "/?#" for c in host):
        errors[CONF_HOST] = "host_invalid"
    port = float(user_input[CONF_PORT])
    if port % 1 or not 1 <= port <= 65535:
        errors[CONF_PORT] = "port_invalid"
    unit = float(user_input[CONF_UNIT])
    if unit % 1 or not within(unit, FORM_RANGES[CONF_UNIT]):
        errors[CONF_UNIT] = "unit_invalid"
    if not in_range(user_input, CONF_POLL_S):
        errors[CONF_POLL_S] = "poll_out_of_range"
    profile = PROFILES[user_input[CONF_PROFILE]]
    if group is not None and profile.phases != len(group.phases):
        errors[CONF_PROFILE] = "meter_phases_mismatch"
    if errors:
        return errors
    try:
        await probe(host, int(port), int(unit), profile, timeout=PROBE_TIMEOUT_S)
    except MeterError as err:
        errors["base"] = f"meter_{err.reason.value}"
    return errors


def modbus_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """What a Modbus meter stores."""
    return {
        CONF_SOURCE: "modbus",
        CONF_GROUP: user_input[CONF_GROUP],
        CONF_PROFILE: user_input[CONF_PROFILE],
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(float(user_input[CONF_PORT])),
        CONF_UNIT: int(float(user_input[CONF_UNIT])),
        CONF_POLL_S: float(user_input[CONF_POLL_S]),
        CONF_STALE_S: float(user_input[CONF_STALE_S]),
    }


class MeterSubentryFlow(SiteSubentryFlow):
    """Add or change a meter of a site: one form per source."""

    modbus = False
    """The form is a Modbus meter's (else a meter made of sensor entities)."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Where its figures come from."""
        return self.async_show_menu(step_id="user", menu_options=list(METER_SOURCES))

    async def async_step_sensors(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A meter made of sensor entities."""
        return await self.async_form("sensors", user_input)

    async def async_step_modbus(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A Modbus TCP meter."""
        return await self.async_form("modbus", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a meter: the form of its source (which stays; one not Modbus
        is read from sensors)."""
        modbus = self._get_reconfigure_subentry().data[CONF_SOURCE] == "modbus"
        return await self.async_form(
            "reconfigure_modbus" if modbus else "reconfigure_sensors", user_input
        )

    async def async_step_reconfigure_sensors(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a meter made of sensor entities."""
        return await self.async_step_reconfigure(user_input)

    async def async_step_reconfigure_modbus(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a Modbus meter."""
        return await self.async_step_reconfigure(user_input)

    async def async_form(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """The form of the source the step is named after."""
        self.modbus = step_id.endswith("modbus")
        return await super().async_form(step_id, user_input)

    def form_schema(self, site: SiteForm) -> vol.Schema:
        """The source's fields."""
        if self.modbus:
            return _modbus_schema(site.groups)
        return _sensors_schema(site.groups, site.legs)

    async def async_form_errors(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Checked against the site; a Modbus meter is read once when all else is right."""
        if self.modbus:
            return await async_validate_modbus(user_input, site)
        return validate_sensors(self.hass, user_input, site)

    def form_data(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """What the meter stores."""
        return modbus_data(user_input) if self.modbus else sensors_data(user_input)

    def form_unique_id(self, data: Mapping[str, Any]) -> str | None:
        """A Modbus meter is one address, port and unit."""
        if data[CONF_SOURCE] != "modbus":
            return None
        return f"{data[CONF_HOST]}:{data[CONF_PORT]}:{data[CONF_UNIT]}"
