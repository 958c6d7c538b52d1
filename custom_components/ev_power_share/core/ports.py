"""What a port source tells the controller once per cycle, and how ports are named.

A *port source* is a transport that knows charging ports: the embedded OCPP
central system today; chargers already in Home Assistant, smart outlets and
Modbus chargers next. Each implements one small protocol (``PortSource`` in the
controller): :meth:`readings` once per cycle, immutable and without side
effects, and ``async_apply(commands)`` to send what the command writer decided.
Everything the cycle needs from a transport is in :class:`PortReadings`; the
adjusters (meters, schedules, solar, planner) read these, never the transport.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Literal, Protocol, Self, runtime_checkable

from .commands import Commands, Held, PortSteps
from .load_estimate import LoadEstimate
from .model import Port, Site
from .planner import ChargePlan
from .settings import PortSettings
from .solar import SolarDecision


@dataclass(frozen=True, slots=True, order=True)
class PortId:
    """A port as its charger knows it: the charger's id and the connector.

    Its text form, ``"charger:connector"``, is the allocator's port id (and
    part of entity unique ids and of the store), so it never changes. A
    charger's id may itself hold ``":"``; the connector is after the last one.
    """

    charger: str
    connector: int

    def __str__(self) -> str:
        return f"{self.charger}:{self.connector}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """The id of ``"charger:connector"``; :class:`ValueError` for other text."""
        charger, sep, connector = text.rpartition(":")
        if not sep or not charger or not connector.isdecimal():
            raise ValueError(f"not a port id (charger:connector): {text!r}")
        return cls(charger, int(connector))


def charger_of(port_id: str) -> str:
    """The charger of a port id (the id itself where it names no connector)."""
    try:
        return PortId.parse(port_id).charger
    except ValueError:
        return port_id


def _frozen[K, V](mapping: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(mapping))


@lru_cache(maxsize=4096)
def port_text(charger: str, connector: int) -> str:
    """``str(PortId(charger, connector))``, kept: sources name their ports
    every cycle."""
    return str(PortId(charger, connector))


@dataclass(frozen=True, slots=True)
class PortReadings:
    """One source's ports as they are at one moment.

    Read once per cycle (:meth:`PortSource.readings`); the mappings are read-only
    copies, so nothing the controller or an adjuster does to them reaches the
    transport, and nothing the transport learns later changes them.
    """

    ports: tuple[Port, ...] = ()
    steps: Mapping[str, PortSteps] = field(default_factory=dict)
    """How each port takes a limit (unit, step, failsafe, refresh, write budget)."""
    held: Mapping[str, Held | None] | None = None
    """What each port's charger confirmed it holds from us (None for a port:
    nothing of ours). None: the source cannot tell; its ports are taken to hold
    what they were commanded."""
    failsafe_a: Mapping[str, float] = field(default_factory=dict)
    """The configured failsafe current of each port (not what it may hold)."""
    phase_currents: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """What each port measures per phase (in its connection's order)."""
    session_kwh: Mapping[str, float] = field(default_factory=dict)
    """The energy of each port's current session."""

    def __post_init__(self) -> None:
        """Read-only copies of what the source passed."""
        object.__setattr__(self, "ports", tuple(self.ports))
        for name in ("steps", "failsafe_a", "phase_currents", "session_kwh"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        if self.held is not None:
            object.__setattr__(self, "held", _frozen(self.held))


@dataclass(frozen=True, slots=True)
class CycleInputs:
    """What the adjusters read besides the site: what every source read this
    cycle (merged), and the user's settings of each port."""

    failsafe_a: Mapping[str, float] = field(default_factory=dict)
    phase_currents: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    session_kwh: Mapping[str, float] = field(default_factory=dict)
    settings: Mapping[str, PortSettings] = field(default_factory=dict)
    """Ports without settings of their own have the defaults
    (:meth:`port_settings`)."""

    @classmethod
    def merged(
        cls,
        readings: list[PortReadings],
        settings: Mapping[str, PortSettings] | None = None,
    ) -> CycleInputs:
        """The inputs of all ``readings`` (later sources win on a shared id)."""
        failsafe: dict[str, float] = {}
        currents: dict[str, tuple[float, ...]] = {}
        energy: dict[str, float] = {}
        for reading in readings:
            failsafe.update(reading.failsafe_a)
            currents.update(reading.phase_currents)
            energy.update(reading.session_kwh)
        return cls(
            _frozen(failsafe),
            _frozen(currents),
            _frozen(energy),
            _frozen(settings or {}),
        )

    def port_settings(self, port_id: str) -> PortSettings:
        """The user's settings of a port (the defaults where none were set)."""
        return self.settings.get(port_id) or PortSettings()


class PortSource(Protocol):
    """A transport that knows charging ports and carries their commands: the
    OCPP central system today; chargers already in Home Assistant, smart
    outlets and Modbus chargers next. Until one is configured a site has no
    sources and allocates nothing."""

    def readings(self, now: float) -> PortReadings:
        """The ports this source serves, as they are at ``now``, and what else
        the cycle needs of them (how they take limits, what they hold, what
        they measure). Once per cycle; reading has no side effects."""

    async def async_apply(self, commands: Commands) -> None:
        """Send new current limits (A per phase; 0 = pause) to the ports: the
        full map of what each port is to hold, and the writes due now
        (``commands.writes``, decreases first)."""


type PortState = Literal["charging", "connected", "idle", "off", "unavailable"]
"""What a port's entities show: drawing current; a vehicle (or load) there but
not drawing; nothing there; switched off or paused by us; the source cannot
tell (stale or unreachable)."""


@runtime_checkable
class PortStatus(Protocol):
    """What a port source of a subentry (a charger already in Home Assistant,
    a smart outlet, a Modbus charger) tells its entities, besides what the
    allocator decided: read between cycles, without side effects."""

    def subentry_ports(self, subentry_id: str) -> list[str]:
        """The port ids of one subentry (none where it is not this source's)."""

    def port_state(self, port_id: str) -> PortState:
        """What the port is doing, as far as the source can tell."""

    def energy_kwh(self, port_id: str) -> float | None:
        """The port's total energy (never decreasing; None: not known yet)."""


@dataclass(frozen=True, slots=True)
class Published:
    """What the adjusters found in one cycle, for entities and diagnostics: the
    meters' estimates of non-EV load, the solar decision, the charge plans."""

    estimates: Mapping[str, LoadEstimate] = field(default_factory=dict)
    """By meter id."""
    solar: SolarDecision | None = None
    """None: no port in a solar mode."""
    plans: Mapping[str, ChargePlan] = field(default_factory=dict)
    """By port id, for the ports in scheduled mode."""

    def merged(self, other: Published) -> Published:
        """This and what another adjuster found (``other`` wins on a shared key)."""
        return Published(
            _frozen({**self.estimates, **other.estimates}),
            other.solar if other.solar is not None else self.solar,
            _frozen({**self.plans, **other.plans}),
        )


def port_name(source: PortSource, port_id: str) -> str:
    """What the user calls a port's device (its charger's name), if its source
    can tell; else the port id."""
    name_of = getattr(source, "port_name", None)
    return str(name_of(port_id)) if callable(name_of) else port_id


def commanded(
    readings: Iterable[PortReadings],
) -> tuple[dict[str, PortSteps], dict[str, Held | None]]:
    """How the ports take limits, and what the ports of sources that can tell
    hold."""
    steps: dict[str, PortSteps] = {}
    held: dict[str, Held | None] = {}
    for reading in readings:
        steps.update(reading.steps)
        if reading.held is not None:
            held.update(reading.held)
    return steps, held


class SiteAdjuster(Protocol):
    """Something that refines each cycle's site before it is allocated: meters
    (a group's measured non-EV load), schedules, solar and the planner (caps on
    ports). It holds no transport: what it needs of the ports comes in
    ``inputs``.

    Called exactly once per cycle, in the order they were added.
    """

    def adjust(
        self, site: Site, inputs: CycleInputs, now: float
    ) -> tuple[Site, Published]:
        """The site to allocate at ``now``, and what the adjuster found (which
        the cycle's snapshot publishes)."""
