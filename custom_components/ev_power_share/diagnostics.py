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

TO_REDACT = {CONF_NAME, "title", "password", "host"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> dict[str, Any]:
    """Configuration (names redacted) and the last cycle's input and output."""
    runtime = entry.runtime_data
    controller = runtime.controller
    snapshot = controller.data
    decision = runtime.energy.decision
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
        "meters": {
            mid: {
                "state": e.state.value,
                "age_s": e.age_s,
                "non_ev_load_a": list(e.unmanaged_a),
                "problem": e.problem,
            }
            for mid, e in runtime.meters.estimates.items()
        },
        "solar": None
        if decision is None
        else {
            "surplus_w": decision.surplus_w,
            "smoothed_w": decision.smoothed_w,
            "caps_a": dict(decision.caps),
        },
        "scheduled": {
            pid: {
                "at_risk": plan.at_risk,
                "shortfall_kwh": plan.shortfall_kwh,
                "cost": plan.cost,
            }
            for pid, plan in runtime.energy.plans.items()
        },
        "last_cycle_ms": snapshot.cycle_ms,
        "last_allocation_input": snapshot.scenario(),
        "last_allocation_output": snapshot.result(),
    }
