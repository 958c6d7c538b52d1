"""The allocation scenario format (version 1) of ``shared/contracts``.

One JSON document describes a site at one instant; :func:`allocate_scenario` turns
it into the allocation, as a JSON-ready dict. The same format is what diagnostics
export, so any user's situation can be replayed with ``scripts/allocate``.

Extensions beyond the contract (all optional): ``groups[].override_a`` (a
temporary cap that can only lower a group's limit), ``rotation_period_s``, a
``rotation`` state (``queue``, ``since_s``) as returned in the output, ``ev.offered_a``
(what the port was given last cycle), ``ev.draw_offered_a`` (the lower offer a draw
reported before the vehicle could follow a raise answers) and the ``single_phase``
supply system.
Unknown fields are ignored, so newer documents still load.
"""

from __future__ import annotations

from collections.abc import Mapping
import math
from typing import Any

from .allocator import Allocation, RotationState, allocate
from .design import design_figures
from .model import (
    LEG_NAMES,
    Group,
    ModelError,
    Policy,
    Port,
    Site,
    Supply,
    SupplySystem,
    Vehicle,
)

VERSION = 1
_MISSING = object()


class ScenarioError(ValueError):
    """An invalid scenario; ``str()`` is one line that names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _get(obj: Mapping[str, Any], key: str, default: Any = _MISSING) -> Any:
    return obj.get(key, default)


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ScenarioError(where, "must be an object")
    return value


def _number(
    obj: Mapping[str, Any],
    key: str,
    where: str,
    default: Any = _MISSING,
    *,
    nullable: bool = False,
) -> Any:
    value = obj.get(key, _MISSING)
    name = f"{where}.{key}" if where else key
    if value is _MISSING:
        if default is _MISSING:
            raise ScenarioError(name, "is required")
        return default
    if value is None:
        if nullable:
            return None
        raise ScenarioError(name, "must be a number")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(name, "must be a number")
    if not math.isfinite(value):
        raise ScenarioError(name, "must be a finite number")
    return float(value)


def _leg_number(values: Mapping[str, Any], key: str, where: str) -> float:
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}[{key}]", "must be a number")
    if not math.isfinite(value):
        raise ScenarioError(f"{where}[{key}]", "must be a finite number")
    return float(value)


def _string(
    obj: Mapping[str, Any], key: str, where: str, *, nullable: bool = False
) -> Any:
    value = obj.get(key, _MISSING)
    name = f"{where}.{key}"
    if value is _MISSING and not nullable:
        raise ScenarioError(name, "is required")
    if value is None or value is _MISSING:
        if nullable:
            return None
        raise ScenarioError(name, "must be a string")
    if not isinstance(value, str) or not value:
        raise ScenarioError(name, "must be a non-empty string")
    return value


def _choice(
    obj: Mapping[str, Any], key: str, where: str, choices: Any, default: Any
) -> Any:
    value = obj.get(key, default)
    name = f"{where}.{key}" if where else key
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(c.value for c in choices)
        raise ScenarioError(name, f"{value!r} is not one of {allowed}") from None


def _list(obj: Mapping[str, Any], key: str, *, required: bool) -> list[Any]:
    value = obj.get(key, _MISSING)
    if value is _MISSING and not required:
        return []
    if not isinstance(value, list):
        raise ScenarioError(key, "must be a list")
    return value


def _group(raw: Any, where: str) -> Group:
    obj = _object(raw, where)
    unmanaged_raw = obj.get("unmanaged_a")
    unmanaged: tuple[float, ...] = ()
    if unmanaged_raw is not None:
        if not isinstance(unmanaged_raw, list):
            raise ScenarioError(f"{where}.unmanaged_a", "must be a list of numbers")
        values = {str(k): v for k, v in enumerate(unmanaged_raw)}
        unmanaged = tuple(
            _leg_number(values, str(k), f"{where}.unmanaged_a")
            for k in range(len(values))
        )
    return Group(
        id=_string(obj, "id", where),
        parent=_string(obj, "parent", where, nullable=True),
        rating_a=_number(obj, "rating_a", where, None, nullable=True),
        continuous_factor=_number(obj, "continuous_factor", where, 0.8),
        max_power_kw=_number(obj, "max_power_kw", where, None, nullable=True),
        unmanaged_a=unmanaged,
        override_a=_number(obj, "override_a", where, None, nullable=True),
    )


def _vehicle(raw: Any, where: str, port_max: float) -> Vehicle | None:
    if raw is None:
        return None
    obj = _object(raw, where)
    phases = _number(obj, "phases", where, 3.0)
    if phases not in (1.0, 2.0, 3.0):
        raise ScenarioError(f"{where}.phases", "must be 1, 2 or 3")
    priority = _number(obj, "priority", where, 0.0)
    if priority != int(priority):
        raise ScenarioError(f"{where}.priority", "must be an integer")
    return Vehicle(
        phases=int(phases),
        max_a=_number(obj, "max_a", where, port_max),
        draw_a=_number(obj, "draw_a", where, None, nullable=True),
        offered_a=_number(obj, "offered_a", where, None, nullable=True),
        draw_offered_a=_number(obj, "draw_offered_a", where, None, nullable=True),
        arrived_s=_number(obj, "arrived_s", where, 0.0),
        priority=int(priority),
        energy_needed_kwh=_number(obj, "energy_needed_kwh", where, None, nullable=True),
        departure_s=_number(obj, "departure_s", where, None, nullable=True),
    )


_DEFAULT_CONNECTION = {
    SupplySystem.THREE_PHASE_WYE: "L1-L2-L3",
    SupplySystem.SPLIT_PHASE: "L1-L2",
    SupplySystem.SINGLE_PHASE: "L1",
}


def _port(raw: Any, where: str, system: SupplySystem) -> Port:
    obj = _object(raw, where)
    online = obj.get("online", True)
    if not isinstance(online, bool):
        raise ScenarioError(f"{where}.online", "must be true or false")
    connection = obj.get("connection", _DEFAULT_CONNECTION[system])
    if not isinstance(connection, str):
        raise ScenarioError(f"{where}.connection", "must be a string")
    max_a = _number(obj, "max_a", where)
    return Port(
        id=_string(obj, "id", where),
        group=_string(obj, "group", where),
        connection=connection,
        max_a=max_a,
        rated_kw=_number(obj, "rated_kw", where, None, nullable=True),
        online=online,
        failsafe_a=_number(obj, "failsafe_a", where, None, nullable=True),
        ev=_vehicle(obj.get("ev"), f"{where}.ev", max_a),
    )


def load_scenario(doc: Any) -> tuple[Site, RotationState | None]:
    """Validate a scenario document and build the site (and rotation state)."""
    root = _object(doc, "scenario")
    version = root.get("version", VERSION)
    if version != VERSION or isinstance(version, bool):
        raise ScenarioError("version", f"must be {VERSION}")
    supply_raw = _object(root.get("supply", {}), "supply")
    system = _choice(
        supply_raw, "system", "supply", SupplySystem, SupplySystem.THREE_PHASE_WYE
    )
    supply = Supply(
        system=system, voltage_ln_v=_number(supply_raw, "voltage_ln_v", "supply", 230.0)
    )
    policy = _choice(root, "policy", "", Policy, Policy.EQUAL_SHARE)
    min_current = _number(root, "min_current_a", "", 6.0)
    groups = tuple(
        _group(g, f"groups[{i}]")
        for i, g in enumerate(_list(root, "groups", required=True))
    )
    ports = tuple(
        _port(p, f"ports[{i}]", system)
        for i, p in enumerate(_list(root, "ports", required=False))
    )
    state = _rotation(root.get("rotation"))
    try:
        site = Site(
            groups=groups,
            ports=ports,
            supply=supply,
            policy=policy,
            min_current_a=min_current,
            rotation_period_s=_number(root, "rotation_period_s", "", 900.0),
            now_s=_number(root, "now_s", "", 0.0),
        )
    except ModelError as err:
        raise ScenarioError(err.field, err.message) from None
    return site, state


def _rotation(raw: Any) -> RotationState | None:
    if raw is None:
        return None
    obj = _object(raw, "rotation")
    queue = obj.get("queue", [])
    if not isinstance(queue, list) or not all(isinstance(q, str) for q in queue):
        raise ScenarioError("rotation.queue", "must be a list of port ids")
    return RotationState(
        queue=tuple(queue),
        since_s=_number(obj, "since_s", "rotation", None, nullable=True),
    )


def dump_scenario(site: Site, state: RotationState | None = None) -> dict[str, Any]:
    """The scenario document of ``site``: what diagnostics export for replay."""

    def group(g: Group) -> dict[str, Any]:
        return {
            "id": g.id,
            "parent": g.parent,
            "rating_a": g.rating_a,
            "continuous_factor": g.continuous_factor,
            "max_power_kw": g.max_power_kw,
            "unmanaged_a": list(g.unmanaged_a),
            "override_a": g.override_a,
        }

    def port(p: Port) -> dict[str, Any]:
        ev = p.ev
        return {
            "id": p.id,
            "group": p.group,
            "connection": p.connection,
            "max_a": p.max_a,
            "rated_kw": p.rated_kw,
            "online": p.online,
            "failsafe_a": p.failsafe_a,
            "ev": None
            if ev is None
            else {
                "phases": ev.phases,
                "max_a": ev.max_a,
                "draw_a": ev.draw_a,
                "offered_a": ev.offered_a,
                "draw_offered_a": ev.draw_offered_a,
                "arrived_s": ev.arrived_s,
                "priority": ev.priority,
                "energy_needed_kwh": ev.energy_needed_kwh,
                "departure_s": ev.departure_s,
            },
        }

    doc: dict[str, Any] = {
        "version": VERSION,
        "supply": {
            "system": site.supply.system.value,
            "voltage_ln_v": site.supply.voltage_ln_v,
        },
        "policy": site.policy.value,
        "min_current_a": site.min_current_a,
        "rotation_period_s": site.rotation_period_s,
        "groups": [group(g) for g in site.groups],
        "ports": [port(p) for p in site.ports],
        "now_s": site.now_s,
    }
    if state is not None:
        doc["rotation"] = {"queue": list(state.queue), "since_s": state.since_s}
    return doc


def dump_allocation(site: Site, result: Allocation) -> dict[str, Any]:
    """The contract's output document for ``result``."""
    ports: dict[str, Any] = {}
    for pid, pa in result.ports.items():
        entry: dict[str, Any] = {
            "current_a": pa.current_a,
            "reason": pa.reason,
            "legs": [LEG_NAMES[leg] for leg in pa.legs],
            "power_kw": round(pa.power_kw, 3),
            "bound_a": round(pa.bound_a, 2),
        }
        if pa.required_a is not None:
            entry["required_a"] = round(pa.required_a, 2)
            entry["deadline_at_risk"] = pa.deadline_at_risk
        ports[pid] = entry
    groups: dict[str, Any] = {}
    for gid, ga in result.groups.items():
        groups[gid] = {
            "load_a": list(ga.load_a),
            "limit_a": None if ga.limit_a is None else [ga.limit_a] * len(ga.load_a),
            "headroom_a": None if ga.headroom_a is None else list(ga.headroom_a),
            "power_kw": ga.power_kw,
            "max_power_kw": ga.max_power_kw,
        }
    design = design_figures(site)
    return {
        "ports": ports,
        "groups": groups,
        "feasible": result.feasible,
        "overloaded": list(result.overloaded),
        "rotation": {
            "queue": list(result.rotation.queue),
            "since_s": result.rotation.since_s,
        },
        "design": {
            gid: {
                "oversubscription": d.oversubscription,
                "guaranteed_a": d.guaranteed_a,
                "ports": d.ports,
            }
            for gid, d in design.items()
        },
    }


def allocate_scenario(doc: Any) -> dict[str, Any]:
    """Validate ``doc``, allocate, and return the output document."""
    site, state = load_scenario(doc)
    return dump_allocation(site, allocate(site, state))
