"""Buttons of a charger: restart it; per connector start, stop, unlock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# The device class moved to .const in 2026 (still re-exported at runtime); 2025.4
# only has it in the package, so import it from the package for both versions.
from homeassistant.components.button import (  # type: ignore[attr-defined,unused-ignore]
    ButtonDeviceClass,
    ButtonEntity,
    ButtonEntityDescription,
)
from homeassistant.const import EntityCategory

from .commands import async_command
from .entity import OnlineEntity
from .ocpp_source import OcppSource
from .port_links import OcppLink


@dataclass(frozen=True, kw_only=True)
class CommandButtonDescription(ButtonEntityDescription):
    """A button that sends a command to a charger or one of its connectors."""

    press_fn: Callable[[OcppSource, str, int], Awaitable[None]]
    """Send it: (source, charge point id, connector)."""


def _command(command: str) -> CommandButtonDescription:
    """The button of ``command`` (its key, and ``<command>_charger`` names it)."""

    async def press(source: OcppSource, charge_point_id: str, connector: int) -> None:
        await async_command(source, charge_point_id, command, connector)

    restart = command == "reset"
    return CommandButtonDescription(
        key=command,
        translation_key=f"{command}_charger",
        device_class=ButtonDeviceClass.RESTART if restart else None,
        entity_category=EntityCategory.CONFIG if restart else None,
        press_fn=press,
    )


CHARGER_BUTTONS: tuple[CommandButtonDescription, ...] = (_command("reset"),)
CONNECTOR_BUTTONS: tuple[CommandButtonDescription, ...] = tuple(
    _command(command) for command in ("start", "stop", "unlock")
)


class CommandButton(OnlineEntity, ButtonEntity):
    """Sends its command to the charger (``connector`` None) or a connector;
    only a charger under control takes commands."""

    entity_description: CommandButtonDescription

    async def async_press(self) -> None:
        """Send the command (only OCPP chargers have these buttons)."""
        link = self.link
        if isinstance(link, OcppLink):
            await self.entity_description.press_fn(
                link.source, link.charge_point_id, self.connector or 1
            )


async_setup_entry = CommandButton.setup_entry(
    per_charger=CHARGER_BUTTONS, per_connector=CONNECTOR_BUTTONS, per_port=()
)
"""Per OCPP charger: restart; per connector: start, stop, unlock. The other
kinds of port take no such commands."""

# One press at a time: commands to a charger are sent one after another.
PARALLEL_UPDATES = 1
