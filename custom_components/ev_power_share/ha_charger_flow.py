"""The subentry flow of a charger already in Home Assistant (through its
maker's integration): the user picks its device; the flow finds its
integration, picks the profile (``ha_profiles``) and fills in its entities,
which the user may change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import SubentryFlowResult
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_NAME,
    UnitOfElectricCurrent,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.selector import (
    DeviceSelector,
    EntitySelector,
    EntitySelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)

from .compat import vol
from .const import (
    CONF_CHARGER_PROFILE,
    CONF_CONNECTION,
    CONF_DEVICE_ID,
    CONF_GROUP,
    CONF_LINK,
    CONF_MAX_CURRENT_A,
    DOMAIN,
    LINKS,
    SITE_GROUP_ID,
)
from .core.model import CONNECTIONS
from .core.topology import GroupConfig
from .form_checks import in_range, name_and_group_errors
from .form_parts import SiteForm, SiteSubentryFlow, box, group_picker
from .ha_chargers import limit_scale
from .ha_profiles import (
    GENERIC,
    PROFILES,
    ROLE_DOMAINS,
    ROLE_LIMIT,
    ROLE_PAUSE,
    ROLES,
    Profile,
    RegistryEntity,
    profile_for_domain,
)

_LIMIT_UNITS = ("A", "W", "kW")


def ha_charger_schema(groups: list[GroupConfig], legs: int) -> vol.Schema:
    """The form of a charger already in Home Assistant."""
    fields: dict[Any, Any] = {
        vol.Required(CONF_NAME): TextSelector(),
        vol.Required(CONF_GROUP, default=SITE_GROUP_ID): group_picker(groups),
        vol.Required(
            CONF_CONNECTION, default="L1-L2-L3" if legs == 3 else "L1"
        ): SelectSelector(
            SelectSelectorConfig(
                options=[n for n, c in CONNECTIONS.items() if max(c.legs) < legs],
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        vol.Required(CONF_MAX_CURRENT_A, default=32): box(
            UnitOfElectricCurrent.AMPERE, 1
        ),
        vol.Required(CONF_CHARGER_PROFILE, default=GENERIC): SelectSelector(
            SelectSelectorConfig(
                options=[
                    SelectOptionDict(value=k, label=p.name) for k, p in PROFILES.items()
                ],
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        vol.Required(CONF_LINK, default="local"): SelectSelector(
            SelectSelectorConfig(
                options=list(LINKS),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_LINK,
            )
        ),
    }
    for role in ROLES:
        fields[vol.Optional(role)] = EntitySelector(
            EntitySelectorConfig(domain=list(ROLE_DOMAINS[role]))
        )
    return vol.Schema(fields)


def device_entities(hass: HomeAssistant, device_id: str) -> list[RegistryEntity]:
    """The device's entities as the entity registry knows them."""
    return [
        RegistryEntity(e.entity_id, e.translation_key, e.unique_id)
        for e in er.async_entries_for_device(er.async_get(hass), device_id)
        if e.disabled_by is None
    ]


def detected(hass: HomeAssistant, device_id: str) -> dict[str, Any]:
    """What the form starts from for a device: its name, the profile of its
    integration, the link that profile has, and the entities it finds (for
    the generic profile: the device's first number in A, W or kW)."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return {}
    domains = [
        entry.domain
        for entry_id in device.config_entries
        if (entry := hass.config_entries.async_get_entry(entry_id)) is not None
    ]
    profile = profile_for_domain(domains)
    entities = device_entities(hass, device_id)
    found = profile.find_entities(entities)
    if profile.key == GENERIC and (limit := _a_limit(hass, entities)) is not None:
        found[ROLE_LIMIT] = limit
    return {
        CONF_NAME: device.name_by_user or device.name or "",
        CONF_CHARGER_PROFILE: profile.key,
        CONF_LINK: profile.link,
        **found,
    }


def _a_limit(hass: HomeAssistant, entities: list[RegistryEntity]) -> str | None:
    for entity in entities:
        state = hass.states.get(entity.entity_id)
        if (
            entity.domain == "number"
            and state is not None
            and state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) in _LIMIT_UNITS
        ):
            return entity.entity_id
    return None


def device_errors(hass: HomeAssistant, device_id: str | None) -> dict[str, str]:
    """Errors in the device picked (none picked: the user fills in the rest)."""
    errors: dict[str, str] = {}
    device = None if not device_id else dr.async_get(hass).async_get(device_id)
    if device_id and device is None:
        errors[CONF_DEVICE_ID] = "device_missing"
    elif device is not None and any(i[0] == DOMAIN for i in device.identifiers):
        errors[CONF_DEVICE_ID] = "device_is_ours"
    return errors


def validate_ha_charger(
    hass: HomeAssistant, user_input: Mapping[str, Any], site: SiteForm
) -> dict[str, str]:
    """Form errors by field of a charger already in Home Assistant."""
    errors, group = name_and_group_errors(user_input, site.groups)
    if group is not None and not set(
        CONNECTIONS[user_input[CONF_CONNECTION]].legs
    ) <= set(group.phases):
        errors[CONF_CONNECTION] = "connection_not_in_group"
    if not in_range(user_input, CONF_MAX_CURRENT_A):
        errors[CONF_MAX_CURRENT_A] = "max_current_out_of_range"
    profile = PROFILES.get(str(user_input.get(CONF_CHARGER_PROFILE)))
    if profile is None:
        errors[CONF_CHARGER_PROFILE] = "profile_invalid"
        return errors
    errors.update(_ha_entity_errors(hass, user_input))
    if profile.commanded and ROLE_LIMIT not in errors:
        errors.update(_ha_limit_errors(hass, user_input, profile))
    return errors


def _ha_entity_errors(
    hass: HomeAssistant, user_input: Mapping[str, Any]
) -> dict[str, str]:
    """Each entity given exists and is of a domain its role may be."""
    errors: dict[str, str] = {}
    for role in ROLES:
        entity_id = str(user_input.get(role) or "")
        if not entity_id:
            continue
        if entity_id.partition(".")[0] not in ROLE_DOMAINS[role]:
            errors[role] = "entity_wrong_domain"
        elif hass.states.get(entity_id) is None:
            errors[role] = "entity_missing"
    return errors


def _ha_limit_errors(
    hass: HomeAssistant, user_input: Mapping[str, Any], profile: Profile
) -> dict[str, str]:
    """A commanded charger has a limit it can be given, and pauses."""
    errors: dict[str, str] = {}
    limit = str(user_input.get(ROLE_LIMIT) or "")
    scale = limit_scale(hass.states.get(limit), profile.unit)
    if not limit:
        errors[ROLE_LIMIT] = "limit_required"
    elif limit.startswith("sensor.") and profile.service is None:
        errors[ROLE_LIMIT] = "limit_not_settable"
    elif scale is None:
        errors[ROLE_LIMIT] = "limit_unit_invalid"
    elif not user_input.get(ROLE_PAUSE) and not (
        profile.zero_pauses and not (scale.minimum or 0.0) > 0.0
    ):
        errors[ROLE_PAUSE] = "pause_required"
    return errors


def ha_charger_data(
    user_input: Mapping[str, Any], device_id: str | None
) -> dict[str, Any]:
    """What a charger already in Home Assistant stores."""
    data: dict[str, Any] = {
        CONF_DEVICE_ID: device_id,
        CONF_CHARGER_PROFILE: user_input[CONF_CHARGER_PROFILE],
        CONF_LINK: user_input.get(CONF_LINK) or "local",
        CONF_GROUP: user_input[CONF_GROUP],
        CONF_CONNECTION: user_input[CONF_CONNECTION],
        CONF_MAX_CURRENT_A: float(user_input[CONF_MAX_CURRENT_A]),
    }
    for role in ROLES:
        data[role] = user_input.get(role) or None
    return data


class HaChargerSubentryFlow(SiteSubentryFlow):
    """Add or change a charger already in Home Assistant."""

    names_site = True
    device_id: str | None = None

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Its device (none: any entities, with the generic profile)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            device_id = user_input.get(CONF_DEVICE_ID) or None
            errors = device_errors(self.hass, device_id)
            if not errors:
                self.device_id = device_id
                profile = detected(self.hass, device_id) if device_id else {}
                if PROFILES[profile.get(CONF_CHARGER_PROFILE, GENERIC)].read_only:
                    return await self.async_step_read_only()
                return await self.async_step_entities()
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema({vol.Optional(CONF_DEVICE_ID): DeviceSelector()}),
            errors=errors,
            description_placeholders={"site": self._get_entry().title},
        )

    async def async_step_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Its profile, entities and wiring (filled in from its device)."""
        return await self.async_form("entities", user_input)

    async def async_step_read_only(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A charger that takes no limit (Tesla Wall Connector): the same form,
        saying it is only counted, at its rating, never commanded."""
        return await self.async_form("read_only", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change it (its device stays)."""
        stored = self._get_reconfigure_subentry().data.get(CONF_DEVICE_ID)
        self.device_id = None if stored is None else str(stored)
        return await self.async_form("reconfigure", user_input)

    def form_schema(self, site: SiteForm) -> vol.Schema:
        """Its fields."""
        return ha_charger_schema(site.groups, site.legs)

    def form_suggested(self, site: SiteForm) -> Mapping[str, Any] | None:
        """A new one: what its device has; else what it stores."""
        if site.subentry is None:
            return detected(self.hass, self.device_id) if self.device_id else None
        return super().form_suggested(site)

    def form_placeholders(self, site: SiteForm) -> dict[str, str]:
        """The site, and the profile its device was found to have."""
        suggested = self.form_suggested(site) or {}
        profile = PROFILES.get(str(suggested.get(CONF_CHARGER_PROFILE)))
        return {
            "site": site.entry.title,
            "profile": PROFILES[GENERIC].name if profile is None else profile.name,
        }

    async def async_form_errors(
        self, site: SiteForm, user_input: Mapping[str, Any]
    ) -> dict[str, str]:
        """Checked against the site and the entities' states."""
        return validate_ha_charger(self.hass, user_input, site)

    def form_data(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """What it stores."""
        return ha_charger_data(user_input, self.device_id)

    def form_unique_id(self, data: Mapping[str, Any]) -> str | None:
        """One per device and site."""
        device_id = data.get(CONF_DEVICE_ID)
        return None if device_id is None else f"ha_device_{device_id}"
