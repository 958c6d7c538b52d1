"""Commands to a charger (buttons and service actions share them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from homeassistant.exceptions import HomeAssistantError

from .const import DOMAIN
from .csms import Station
from .ocpp_source import OcppSource

REMOTE_ID_TAG = "ev-power-share"
"""The id tag remote starts are made with."""

COMMANDS: dict[str, Callable[[Station, int], Awaitable[bool]]] = {
    "start": lambda station, connector: station.remote_start(connector, REMOTE_ID_TAG),
    "stop": lambda station, connector: station.remote_stop(connector),
    "unlock": lambda station, connector: station.unlock(connector),
    "reset": lambda station, _connector: station.reset(hard=False),
}


async def async_command(
    source: OcppSource, charge_point_id: str, command: str, connector: int = 1
) -> None:
    """Send ``command``; a translated error if the charger is offline or refuses."""
    charger = source.chargers.get(charge_point_id)
    station = source.stations.get(charge_point_id)
    if charger is None or station is None or not station.commandable:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="charger_offline",
            translation_placeholders={"charger": charge_point_id},
        )
    if not 1 <= connector <= charger.connectors:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="connector_not_found",
            translation_placeholders={
                "charger": charge_point_id,
                "connector": str(connector),
            },
        )
    if not await COMMANDS[command](station, connector):
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="charger_refused",
            translation_placeholders={"charger": charge_point_id, "command": command},
        )
