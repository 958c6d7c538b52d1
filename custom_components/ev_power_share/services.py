"""Service actions: limits for demand response, the policy, an allocation preview."""

from __future__ import annotations

from datetime import timedelta
import time
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr

from .commands import async_command
from .compat import vol
from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_POLICY,
    DOMAIN,
    SITE_GROUP_ID,
    SUBENTRY_CHARGER,
)
from .controller import SiteController
from .core.model import Policy
from .core.settings import LimitOverride
from .data import EvPowerShareConfigEntry, SiteRuntime
from .devices import charger_device_identifier
from .statement_service import (
    EXPORT_SCHEMA,
    SERVICE_EXPORT_STATEMENTS,
    async_export_statements,
)

CONF_CONFIG_ENTRY_ID = "config_entry_id"
SERVICE_SET_LIMIT = "set_limit"
SERVICE_CLEAR_LIMIT = "clear_limit"
SERVICE_SET_POLICY = "set_policy"
SERVICE_ALLOCATE_PREVIEW = "allocate_preview"
ATTR_GROUP = "group"
ATTR_CURRENT_A = "current_a"
ATTR_POWER_KW = "power_kw"
ATTR_DURATION = "duration"

_ENTRY = {vol.Required(CONF_CONFIG_ENTRY_ID): cv.string}
_GROUP = {vol.Optional(ATTR_GROUP, default=SITE_GROUP_ID): cv.string}
SET_LIMIT_SCHEMA = vol.Schema(
    {
        **_ENTRY,
        **_GROUP,
        vol.Optional(ATTR_CURRENT_A): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional(ATTR_POWER_KW): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional(ATTR_DURATION): cv.positive_time_period,
    }
)
CLEAR_LIMIT_SCHEMA = vol.Schema({**_ENTRY, **_GROUP})
SET_POLICY_SCHEMA = vol.Schema(
    {**_ENTRY, vol.Required(CONF_POLICY): vol.In([p.value for p in Policy])}
)
PREVIEW_SCHEMA = vol.Schema(_ENTRY)


def _controller(call: ServiceCall) -> SiteController:
    """The running controller of the site the call names."""
    entry_id = call.data[CONF_CONFIG_ENTRY_ID]
    entry: EvPowerShareConfigEntry | None = call.hass.config_entries.async_get_entry(
        entry_id
    )
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"site": entry.title},
        )
    return entry.runtime_data.controller


def _group(controller: SiteController, call: ServiceCall) -> str:
    """The id of the group the call names, by id or by name (any case)."""
    group = str(call.data[ATTR_GROUP]).strip()
    for config in controller.groups:
        if group == config.id:
            return config.id
    for config in controller.groups:
        if group.casefold() == config.name.casefold():
            return config.id
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="group_not_found",
        translation_placeholders={"group": group},
    )


async def _set_limit(call: ServiceCall) -> None:
    controller = _controller(call)
    group = _group(controller, call)
    current = call.data.get(ATTR_CURRENT_A)
    power = call.data.get(ATTR_POWER_KW)
    if current is None and power is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="limit_required"
        )
    duration: timedelta | None = call.data.get(ATTR_DURATION)
    until = None if duration is None else time.time() + duration.total_seconds()
    controller.set_override(group, LimitOverride(current, power, until))
    await controller.async_request_refresh()


async def _clear_limit(call: ServiceCall) -> None:
    controller = _controller(call)
    controller.set_override(_group(controller, call), None)
    await controller.async_request_refresh()


async def _set_policy(call: ServiceCall) -> None:
    controller = _controller(call)
    entry = controller.config_entry
    call.hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_POLICY: call.data[CONF_POLICY]}
    )


async def _allocate_preview(call: ServiceCall) -> ServiceResponse:
    controller = _controller(call)
    await controller.async_refresh()
    result: dict[str, Any] = controller.data.result()
    return result


CHARGER_SERVICES = {
    "start_charging": "start",
    "stop_charging": "stop",
    "unlock_connector": "unlock",
    "restart_charger": "reset",
}
ATTR_DEVICE_ID = "device_id"
ATTR_CONNECTOR = "connector"
CHARGER_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Optional(ATTR_CONNECTOR, default=1): vol.All(
            vol.Coerce(int), vol.Range(min=1)
        ),
    }
)


def _charger(call: ServiceCall) -> tuple[SiteRuntime, str]:
    """The site and charge point id of the charger device the call names."""
    device_id = str(call.data[ATTR_DEVICE_ID])
    device = dr.async_get(call.hass).async_get(device_id)
    for entry in call.hass.config_entries.async_entries(DOMAIN):
        for sid, subentry in entry.subentries.items():
            if subentry.subentry_type != SUBENTRY_CHARGER or device is None:
                continue
            if charger_device_identifier(entry.entry_id, sid) in device.identifiers:
                if entry.state is not ConfigEntryState.LOADED:
                    raise ServiceValidationError(
                        translation_domain=DOMAIN,
                        translation_key="entry_not_loaded",
                        translation_placeholders={"site": entry.title},
                    )
                runtime: SiteRuntime = entry.runtime_data
                return runtime, str(subentry.data[CONF_CHARGE_POINT_ID])
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="charger_not_found",
        translation_placeholders={"device": device_id},
    )


async def _charger_command(call: ServiceCall) -> None:
    runtime, charge_point_id = _charger(call)
    await async_command(
        runtime.ocpp,
        charge_point_id,
        CHARGER_SERVICES[call.service],
        call.data[ATTR_CONNECTOR],
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's service actions (once, in async_setup)."""
    hass.services.async_register(
        DOMAIN, SERVICE_SET_LIMIT, _set_limit, SET_LIMIT_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_CLEAR_LIMIT, _clear_limit, CLEAR_LIMIT_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SET_POLICY, _set_policy, SET_POLICY_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_ALLOCATE_PREVIEW,
        _allocate_preview,
        PREVIEW_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    for service in CHARGER_SERVICES:
        hass.services.async_register(DOMAIN, service, _charger_command, CHARGER_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_EXPORT_STATEMENTS,
        async_export_statements,
        EXPORT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
