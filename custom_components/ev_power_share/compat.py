"""Differences between the Home Assistant versions we support, in one place."""

from inspect import signature
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult
from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr

try:  # Home Assistant 2026 validates with probatio, voluptuous-compatible
    import probatio as vol
except ImportError:  # Home Assistant 2025
    import voluptuous as vol  # type: ignore[no-redef,unused-ignore]

try:  # Home Assistant 2026 types what a repair flow step returns
    from homeassistant.components.repairs import (  # type: ignore[attr-defined,unused-ignore]
        RepairsFlowResult,
    )
except ImportError:  # Home Assistant 2025: a plain flow result
    from homeassistant.data_entry_flow import (  # type: ignore[assignment,no-redef,unused-ignore]
        FlowResult as RepairsFlowResult,
    )

_VIA_DEVICE_ID = (
    "via_device_id" in signature(dr.DeviceRegistry.async_get_or_create).parameters
)
"""Home Assistant 2026 links a device to its parent by the parent's device id when
it creates it (``via_device``, by identifier, is deprecated there); 2025 only
does so by identifier, or in an update."""


@callback
def async_get_or_create_device(
    registry: dr.DeviceRegistry, *, via_device_id: str | None, **device: Any
) -> dr.DeviceEntry:
    """``registry.async_get_or_create(**device)``, linked to the device
    ``via_device_id`` (None: to no device)."""
    if _VIA_DEVICE_ID:
        entry: dr.DeviceEntry = registry.async_get_or_create(  # type: ignore[call-arg,unused-ignore]
            **device, via_device_id=via_device_id
        )
        return entry
    entry = registry.async_get_or_create(**device)
    if entry.via_device_id == via_device_id:
        return entry
    return registry.async_update_device(entry.id, via_device_id=via_device_id) or entry


@callback
def async_update_and_abort(
    flow: ConfigFlow, entry: ConfigEntry, **changes: Any
) -> ConfigFlowResult:
    """Update the entry and end a reconfigure flow, without reloading it: the
    entry's update listener decides (``async_update_reload_and_abort`` with an
    update listener is deprecated from Home Assistant 2026.6, an error from
    2026.12). Home Assistant 2025 has no ``ConfigFlow.async_update_and_abort``."""
    if hasattr(ConfigFlow, "async_update_and_abort"):
        result: ConfigFlowResult = flow.async_update_and_abort(entry, **changes)  # type: ignore[attr-defined,unused-ignore]
        return result
    flow.hass.config_entries.async_update_entry(entry, **changes)
    return flow.async_abort(reason="reconfigure_successful")


__all__ = [
    "RepairsFlowResult",
    "async_get_or_create_device",
    "async_update_and_abort",
    "vol",
]
