"""What the user set for each port and group, and what it does to the port.

The controller owns these settings and keeps them in one store
(:class:`SiteState`: the ports' settings, the groups' limit overrides and the
round-robin state); entities show and write them. A port
source knows nothing of them: :func:`with_settings` applies them to the ports it
serves, once per cycle, before anything else adjusts the site.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import contextlib
from dataclasses import dataclass, field, replace
import datetime as dt
import math
from typing import Any, TypeIs

from .allocator import RotationState
from .model import Group, Port
from .solar import ChargeMode
from .topology import GroupConfig, build_groups

MAX_ENERGY_KWH = 200.0
"""The most energy a session may be asked to add (a stored value above is not
taken)."""


@dataclass(slots=True)
class PortSettings:
    """What the user set for one port (a charger's connector)."""

    max_current_a: float | None = None
    """A cap below the charger's maximum; None: the charger's maximum."""
    enabled: bool = True
    mode: ChargeMode = ChargeMode.FAST
    energy_kwh: float = 20.0
    """Scheduled mode: the energy to add in a session."""
    departure: dt.time = dt.time(7, 0)
    """Scheduled mode: when the vehicle leaves (local time, the next one)."""
    user_id: str | None = None
    """Who a session of a port without a card reader is booked to (a user's
    id); None: unassigned."""

    @property
    def wants_charge(self) -> bool:
        """Whether the port may charge at all (enabled, and a mode but off)."""
        return self.enabled and self.mode is not ChargeMode.OFF

    def to_dict(self) -> dict[str, Any]:
        """As stored (JSON)."""
        return {
            "max_current_a": self.max_current_a,
            "enabled": self.enabled,
            "mode": self.mode.value,
            "energy_kwh": self.energy_kwh,
            "departure": self.departure.isoformat(timespec="minutes"),
            "user_id": self.user_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PortSettings:
        """From what was stored; a value that cannot be read keeps its default
        (a damaged store never stops the site)."""
        settings = cls()
        cap = data.get("max_current_a")
        if _finite(cap) and cap > 0:
            settings.max_current_a = float(cap)
        if isinstance(data.get("enabled"), bool):
            settings.enabled = data["enabled"]
        with contextlib.suppress(ValueError):
            settings.mode = ChargeMode(str(data.get("mode")))
        energy = data.get("energy_kwh")
        if _finite(energy) and 0 <= energy <= MAX_ENERGY_KWH:
            settings.energy_kwh = float(energy)
        departure = data.get("departure")
        if isinstance(departure, str):
            with contextlib.suppress(ValueError):
                settings.departure = dt.time.fromisoformat(departure).replace(
                    second=0, microsecond=0, tzinfo=None
                )
        user_id = data.get("user_id")
        if isinstance(user_id, str) and user_id:
            settings.user_id = user_id
        return settings


def _finite(value: object) -> TypeIs[int | float]:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def with_settings(port: Port, settings: PortSettings | None) -> Port:
    """``port`` as the user's settings leave it: its maximum capped, and no
    vehicle to charge while it is switched off (or in mode off)."""
    if settings is None:
        return port
    max_a = port.max_a
    if settings.max_current_a is not None:
        max_a = min(max_a, settings.max_current_a)
    ev = port.ev
    if ev is not None and not settings.wants_charge:
        ev = None
    elif ev is not None and ev.max_a > max_a:
        ev = replace(ev, max_a=max_a)
    if max_a == port.max_a and ev is port.ev:
        return port
    return replace(port, max_a=max_a, ev=ev)


@dataclass(frozen=True, slots=True)
class LimitOverride:
    """A temporary cap on a group, set by a service action or an entity."""

    current_a: float | None = None
    power_kw: float | None = None
    until: float | None = None
    """UTC timestamp when it reverts; None: until cleared."""

    def to_dict(self) -> dict[str, Any]:
        """As stored (JSON)."""
        return {
            "current_a": self.current_a,
            "power_kw": self.power_kw,
            "until": self.until,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LimitOverride:
        """From what was stored."""
        return cls(
            current_a=data.get("current_a"),
            power_kw=data.get("power_kw"),
            until=data.get("until"),
        )


@dataclass
class SiteState:
    """What the controller keeps across restarts, in one store."""

    overrides: dict[str, LimitOverride] = field(default_factory=dict)
    rotation: RotationState | None = None
    ports: dict[str, PortSettings] = field(default_factory=dict)
    """The user's settings of each port (mode, on/off, cap, energy, departure)."""

    def to_dict(self) -> dict[str, Any]:
        """As stored (JSON)."""
        rotation = self.rotation
        return {
            "overrides": {gid: o.to_dict() for gid, o in self.overrides.items()},
            "rotation": None
            if rotation is None
            else {"queue": list(rotation.queue), "since_s": rotation.since_s},
            "ports": {pid: s.to_dict() for pid, s in self.ports.items()},
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> SiteState:
        """From what was stored (a port whose settings cannot be read keeps
        its defaults)."""
        rotation = stored.get("rotation")
        ports = stored.get("ports")
        return cls(
            ports={
                str(pid): PortSettings.from_dict(data)
                for pid, data in (ports.items() if isinstance(ports, dict) else ())
                if isinstance(data, dict)
            },
            overrides={
                gid: LimitOverride.from_dict(o)
                for gid, o in stored.get("overrides", {}).items()
            },
            rotation=None
            if not rotation
            else RotationState(
                queue=tuple(rotation.get("queue", ())),
                since_s=rotation.get("since_s"),
            ),
        )


def site_groups(
    configs: Sequence[GroupConfig],
    overrides: Mapping[str, LimitOverride],
    legs: int,
) -> tuple[Group, ...]:
    """The site's groups with the user's overrides: a current override caps
    each leg, a power override the group's power (never above its own)."""
    groups = build_groups(
        configs,
        overrides={
            gid: o.current_a for gid, o in overrides.items() if o.current_a is not None
        },
        legs=legs,
    )
    return tuple(
        replace(
            g,
            max_power_kw=min(
                x for x in (g.max_power_kw, overrides[g.id].power_kw) if x is not None
            ),
        )
        if g.id in overrides and overrides[g.id].power_kw is not None
        else g
        for g in groups
    )
