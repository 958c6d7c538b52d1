"""Checks more than one of the site's forms makes: a number in range, a name
and a power group given, an OCPP port free for the site."""

from __future__ import annotations

from collections.abc import Mapping
import socket
from typing import Any

from homeassistant.config_entries import SOURCE_IGNORE, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant

from .const import (
    CONF_GROUP,
    CONF_OCPP_PORT,
    DEFAULT_OCPP_PORT,
    DOMAIN,
    FORM_RANGES,
    OCPP_HOST,
)
from .core.topology import GroupConfig


def within(value: Any, bounds: tuple[float, float]) -> bool:
    """``value`` (a number, or the text of one) lies in ``bounds``, ends included."""
    return bounds[0] <= float(value) <= bounds[1]


def in_range(user_input: Mapping[str, Any], key: str) -> bool:
    """The form's number ``key`` is one the forms accept for it (``FORM_RANGES``)."""
    return within(user_input[key], FORM_RANGES[key])


def name_and_group_errors(
    user_input: Mapping[str, Any], groups: list[GroupConfig]
) -> tuple[dict[str, str], GroupConfig | None]:
    """Form errors of a name and of the power group picked (one of ``groups``),
    and that group (None: it is not one of them)."""
    errors: dict[str, str] = {}
    if not str(user_input[CONF_NAME]).strip():
        errors[CONF_NAME] = "name_required"
    group = next((g for g in groups if g.id == user_input[CONF_GROUP]), None)
    if group is None:
        errors[CONF_GROUP] = "group_invalid"
    return errors, group


def _port_bindable(host: str, port: int) -> bool:
    """Whether a server could listen on ``port`` now (run off the event loop)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the central system binds (asyncio sets it): a port that only has
        # connections closing (TIME_WAIT) is free, a listening one is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def configured_port(entry: ConfigEntry) -> int:
    """The OCPP port a site's central system listens on (or will)."""
    return int(entry.options.get(CONF_OCPP_PORT, DEFAULT_OCPP_PORT))


async def async_port_errors(
    hass: HomeAssistant, port: Any, entry: ConfigEntry | None
) -> dict[str, str]:
    """Form errors for the OCPP port of ``entry`` (None: a new site).

    In range; not another site's of this integration; free to bind on this
    machine, unless it is the one this site's running central system listens on.
    """
    errors: dict[str, str] = {}
    if port is None:
        return errors
    if float(port) % 1 or not within(port, FORM_RANGES[CONF_OCPP_PORT]):
        errors[CONF_OCPP_PORT] = "port_out_of_range"
        return errors
    port = int(float(port))
    for other in hass.config_entries.async_entries(DOMAIN):
        if other.source == SOURCE_IGNORE or (
            entry is not None and other.entry_id == entry.entry_id
        ):
            continue
        if configured_port(other) == port:
            errors[CONF_OCPP_PORT] = "port_taken_by_site"
            return errors
    if entry is not None and entry.state is ConfigEntryState.LOADED:
        runtime = getattr(entry, "runtime_data", None)
        if runtime is not None and (
            port == runtime.ocpp_port
            or (runtime.central.running and port == runtime.central.port)
        ):
            return errors  # its own server
    if not await hass.async_add_executor_job(_port_bindable, OCPP_HOST, port):
        errors[CONF_OCPP_PORT] = "port_in_use"
    return errors
