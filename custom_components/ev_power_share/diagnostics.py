"""Diagnostics: the site's configuration and its last allocation, replayable.

``last_allocation_input`` is a scenario document in the format of
``shared/contracts/allocation-scenario.md``: save it to a file and
``scripts/allocate FILE`` reproduces ``last_allocation_output`` exactly.
Names, passwords, hosts, users' cards and persons are redacted; each charger's charge point id (often
its serial number) is replaced everywhere by a stand-in (``charger_1``, …).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant

from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_REJECTED_CHARGERS,
    CONF_USER_PERSON,
    CONF_USER_TOKENS,
    SUBENTRY_CHARGER,
)
from .core.ports import PortId
from .data import EvPowerShareConfigEntry

TO_REDACT = {
    CONF_NAME,
    "title",
    "password",
    "host",
    CONF_REJECTED_CHARGERS,
    CONF_USER_TOKENS,
    CONF_USER_PERSON,
}


def _pseudonyms(entry: EvPowerShareConfigEntry) -> dict[str, str]:
    """A stand-in for each charger's charge point id (often its serial number):
    ``charger_1``, ``charger_2``, … in the order the chargers were added."""
    ids = [
        str(s.data[CONF_CHARGE_POINT_ID])
        for s in entry.subentries.values()
        if s.subentry_type == SUBENTRY_CHARGER
    ]
    # (A charger whose id is also a group's, say "site", keeps it: replacing
    # it would rename the group.)
    groups = {"site", *entry.subentries}
    return {
        cp_id: f"charger_{n}"
        for n, cp_id in enumerate(ids, start=1)
        if cp_id not in groups
    }


def _pseudonymized(value: Any, names: Mapping[str, str]) -> Any:
    """``value`` with every charge point id, and every port id made of one
    (``<id>:<connector>``), replaced by its stand-in; keys included. The
    scenario stays replayable: ids are replaced consistently."""

    def one(text: str) -> str:
        if text in names:
            return names[text]
        try:
            port = PortId.parse(text)
        except ValueError:
            return text
        if port.charger in names:
            return str(PortId(names[port.charger], port.connector))
        return text

    if isinstance(value, str):
        return one(value)
    if isinstance(value, Mapping):
        return {
            one(k) if isinstance(k, str) else k: _pseudonymized(v, names)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_pseudonymized(v, names) for v in value]
    return value


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvPowerShareConfigEntry
) -> dict[str, Any]:
    """Configuration (names redacted) and the last cycle's input and output."""
    runtime = entry.runtime_data
    controller = runtime.controller
    snapshot = controller.data
    published = snapshot.published
    decision = published.solar
    diagnostics = {
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
                "rejected_readings": runtime.meters.rejected.get(mid, 0),
            }
            for mid, e in published.estimates.items()
        },
        "central_system": {
            "connections": runtime.central.connections,
            "refused_connections": runtime.central.refused_connections,
            "stations": {
                # (An unknown charger's id is not redacted by the stand-ins.)
                station.id if station.id in runtime.ocpp.chargers else f"unknown_{n}": {
                    "version": station.version,
                    "admission": station.admission.value,
                    "malformed_frames": station.malformed_frames,
                    "discarded_meter_values": station.discarded_values,
                }
                for n, station in enumerate(runtime.central.stations.values(), 1)
            },
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
            for pid, plan in published.plans.items()
        },
        "last_cycle_ms": snapshot.cycle_ms,
        "last_allocation_input": snapshot.scenario(),
        "last_allocation_output": snapshot.result(),
    }
    # Names and passwords are redacted above; charge point ids (often serial
    # numbers) are replaced by stand-ins wherever they appear.
    return dict(_pseudonymized(diagnostics, _pseudonyms(entry)))
