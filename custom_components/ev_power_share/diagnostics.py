"""Diagnostics: the site's configuration and its last allocation, replayable.

``last_allocation_input`` is a scenario document in the format of
``shared/contracts/allocation-scenario.md``: save it to a file and
``scripts/allocate FILE`` reproduces ``last_allocation_output`` exactly.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant

from .data import EvPowerShareConfigEntry

TO_REDACT = {CONF_NAME, "title", "password"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> dict[str, Any]:
    """Configuration (names redacted) and the last cycle's input and output."""
    controller = entry.runtime_data.controller
    snapshot = controller.data
    return {
        "entry": async_redact_data(
            {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
                "subentries": [
                    {
                        "subentry_id": s.subentry_id,
                        "subentry_type": s.subentry_type,
                        "title": s.title,
                        "data": dict(s.data),
                    }
                    for s in entry.subentries.values()
                ],
            },
            TO_REDACT,
        ),
        "overrides": {
            gid: {"current_a": o.current_a, "power_kw": o.power_kw, "until": o.until}
            for gid, o in controller.overrides.items()
        },
        "last_cycle_ms": snapshot.cycle_ms,
        "last_allocation_input": snapshot.scenario(),
        "last_allocation_output": snapshot.result(),
    }
