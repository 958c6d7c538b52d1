"""Repair flows: issues the user acknowledges once they have read them."""

from __future__ import annotations

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.core import HomeAssistant


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """A refused removal is explained in the issue; confirming dismisses it."""
    return ConfirmRepairFlow()
