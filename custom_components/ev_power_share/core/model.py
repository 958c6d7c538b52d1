"""The electrical model of a site: supply, power groups, charger ports, vehicles.

Pure data: frozen dataclasses and the electrical facts the allocator relies on
(which legs a port loads, how many watts one ampere is). No Home Assistant imports.

Units: amperes per phase (A), volts (V), kilowatts (kW), seconds (s).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import math


class ModelError(ValueError):
    """A site description that cannot be right; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SupplySystem(StrEnum):
    """How the site is fed."""

    THREE_PHASE_WYE = "3p_wye"
    """EU 400/230 V or US 208/120 V; line-to-line = √3 × line-to-neutral."""
    SPLIT_PHASE = "split_phase"
    """US 240/120 V: legs L1 and L2; line-to-line = 2 × line-to-neutral."""
    SINGLE_PHASE = "single_phase"
    """One line and neutral: only L1."""


_LEGS_OF_SYSTEM = {
    SupplySystem.THREE_PHASE_WYE: 3,
    SupplySystem.SPLIT_PHASE: 2,
    SupplySystem.SINGLE_PHASE: 1,
}
LEG_NAMES = ("L1", "L2", "L3")


class Policy(StrEnum):
    """How capacity is shared between the vehicles that want it."""

    EQUAL_SHARE = "equal_share"
    FIRST_COME = "first_come"
    PROPORTIONAL = "proportional"
    PRIORITY = "priority"
    DEADLINE = "deadline"


@dataclass(frozen=True, slots=True)
class Connection:
    """Which supply legs a charger's phases land on, in order."""

    name: str
    legs: tuple[int, ...]
    line_to_line: bool

    def active_legs(self, ev_phases: int) -> tuple[int, ...]:
        """Legs loaded by a vehicle using ``ev_phases`` of the charger's phases.

        A line-to-line charger always loads both of its legs; otherwise the
        vehicle uses the charger's first ``ev_phases`` phases (so a one-phase
        vehicle on an ``L2-L3-L1`` charger loads only L2).
        """
        if self.line_to_line:
            return self.legs
        return self.legs[: max(1, min(ev_phases, len(self.legs)))]


CONNECTIONS: Mapping[str, Connection] = {
    c.name: c
    for c in (
        Connection("L1", (0,), False),
        Connection("L2", (1,), False),
        Connection("L3", (2,), False),
        Connection("L1-L2", (0, 1), True),
        Connection("L2-L3", (1, 2), True),
        Connection("L3-L1", (2, 0), True),
        Connection("L1-L2-L3", (0, 1, 2), False),
        Connection("L2-L3-L1", (1, 2, 0), False),
        Connection("L3-L1-L2", (2, 0, 1), False),
    )
}


@dataclass(frozen=True, slots=True)
class Supply:
    """The site's supply system and its line-to-neutral voltage."""

    system: SupplySystem = SupplySystem.THREE_PHASE_WYE
    voltage_ln_v: float = 230.0

    @property
    def legs(self) -> int:
        """Number of legs (phases) the supply has."""
        return _LEGS_OF_SYSTEM[self.system]

    @property
    def voltage_ll_v(self) -> float:
        """Line-to-line voltage."""
        if self.system is SupplySystem.SPLIT_PHASE:
            return 2.0 * self.voltage_ln_v
        return math.sqrt(3.0) * self.voltage_ln_v

    def watts_per_amp(self, connection: Connection, legs: tuple[int, ...]) -> float:
        """Power drawn per ampere by a port loading ``legs`` of ``connection``."""
        if connection.line_to_line:
            return self.voltage_ll_v
        return len(legs) * self.voltage_ln_v


@dataclass(frozen=True, slots=True)
class Group:
    """A power group: transformer, main breaker, panel or circuit."""

    id: str
    parent: str | None = None
    rating_a: float | None = None
    """Breaker rating per phase; None: no current limit."""
    continuous_factor: float = 0.8
    """Share of the rating that may be carried continuously (80 % rule)."""
    max_power_kw: float | None = None
    """Cap on the group's total power; None: none."""
    unmanaged_a: tuple[float, ...] = ()
    """Non-EV current through the group, per leg (L1, L2, L3): the total measured
    at this group (it is not added up from child groups)."""
    override_a: float | None = None
    """A temporary cap per phase (demand response, tariff peak); it can only lower
    the limit, never raise it above the rating's continuous limit."""

    @property
    def limit_a(self) -> float | None:
        """Current the group may carry on each phase."""
        limit = (
            None if self.rating_a is None else self.rating_a * self.continuous_factor
        )
        if self.override_a is not None:
            return self.override_a if limit is None else min(limit, self.override_a)
        return limit

    def unmanaged_on(self, leg: int) -> float:
        """Non-EV current on ``leg``; a negative reading (export) counts as 0.

        A measurement may shrink headroom, never widen it beyond the rating.
        """
        if leg < len(self.unmanaged_a):
            return max(0.0, self.unmanaged_a[leg])
        return 0.0


@dataclass(frozen=True, slots=True)
class Vehicle:
    """What the vehicle plugged into a port can take and wants."""

    phases: int = 3
    max_a: float = 32.0
    draw_a: float | None = None
    """Current measured last cycle; None: unknown."""
    offered_a: float | None = None
    """Current the port was given last cycle; None: unknown."""
    draw_offered_a: float | None = None
    """The offer ``draw_a`` answers, when it is older than a raise of the offer:
    the lower offer in force before it (a draw measured before the vehicle could
    take a higher offer says nothing about whether it will). None: ``draw_a`` is
    recent enough to answer ``offered_a``."""
    arrived_s: float = 0.0
    priority: int = 0
    energy_needed_kwh: float | None = None
    departure_s: float | None = None


@dataclass(frozen=True, slots=True)
class Port:
    """One charging point (an OCPP connector, a Modbus wallbox)."""

    id: str
    group: str
    connection: str = "L1-L2-L3"
    max_a: float = 32.0
    rated_kw: float | None = None
    online: bool = True
    failsafe_a: float | None = None
    """Current an offline charger falls back to; None: the site minimum."""
    ev: Vehicle | None = None
    min_a: float | None = None
    """The port's own minimum (A per phase): below it it is paused. None: the
    site's ``min_current_a``. An on/off port (a smart outlet) has ``min_a =
    max_a``: all of its current, or 0 (a cap below it keeps it at 0)."""
    pinned: bool = False
    """Served before every other port, at its minimum, whatever the rotation
    or the policy: an on/off port within its minimum on-time. Only a limit it
    no longer fits under (after the fixed loads and the ports pinned before
    it) pauses it."""

    @property
    def conn(self) -> Connection:
        """The port's connection (validated by :class:`Site`)."""
        return CONNECTIONS[self.connection]


@dataclass(frozen=True, slots=True)
class Site:
    """A whole site at one instant: the input of one allocation."""

    groups: tuple[Group, ...]
    ports: tuple[Port, ...] = ()
    supply: Supply = field(default_factory=Supply)
    policy: Policy = Policy.EQUAL_SHARE
    min_current_a: float = 6.0
    rotation_period_s: float = 900.0
    now_s: float = 0.0

    def __post_init__(self) -> None:
        """Check the structure; raise :class:`ModelError` naming the field."""
        validate_site(self)

    def minimum_of(self, port: Port) -> float:
        """The least a port is given when it is not paused: its own minimum,
        else the site's."""
        return self.min_current_a if port.min_a is None else port.min_a

    def failsafe_of(self, port: Port) -> float:
        """Current an offline port is assumed to draw on each of its legs."""
        return self.min_current_a if port.failsafe_a is None else port.failsafe_a

    def ancestors(self, group_id: str) -> Iterator[Group]:
        """The group and every group above it, nearest first."""
        by_id = {g.id: g for g in self.groups}
        current: str | None = group_id
        while current is not None:
            group = by_id[current]
            yield group
            current = group.parent


# The checks below name the culprit ``where.name`` (``name`` alone without a
# ``where``), and only build that name for an error: a site is checked every
# time it is made, several times a control cycle.


def _culprit(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _positive_or_none(value: float | None, name: str, where: str = "") -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ModelError(_culprit(where, name), "must be a positive number or null")


def _non_negative(value: float, name: str, where: str = "") -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ModelError(_culprit(where, name), "must be a number >= 0")


def _non_negative_or_none(value: float | None, name: str, where: str) -> None:
    """Like :func:`_non_negative`, for an optional value (None is fine)."""
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise ModelError(_culprit(where, name), "must be a number >= 0")


def validate_site(site: Site) -> None:
    """Raise :class:`ModelError` for the first thing that is wrong with ``site``."""
    _validate_settings(site)
    index: dict[str, int] = {}
    for i, group in enumerate(site.groups):
        _validate_group(group, f"groups[{i}]", index, site.supply)
        index[group.id] = i
    _validate_tree(site.groups, index)
    groups = frozenset(index)
    port_ids: set[str] = set()
    for i, port in enumerate(site.ports):
        if port.id in port_ids:
            raise ModelError(f"ports[{i}].id", f"duplicate port id {port.id!r}")
        port_ids.add(port.id)
        check_port(port, groups, site.supply, f"ports[{i}]")


def check_port(
    port: Port, groups: frozenset[str], supply: Supply, where: str = "port"
) -> None:
    """:func:`validate_port`, once per port object and context: a port found
    valid among the same group ids and supply is not checked again."""
    context = _CHECKED.context(groups, supply)
    if not _CHECKED.valid(port, context):
        validate_port(port, groups, supply, where)
        _CHECKED.add(port, context)


class _Checked:
    """Ports already found valid, each with the context it was checked in (the
    site's group ids and supply: all a port's validity depends on besides its
    own frozen fields).

    A control cycle makes its site several times (a schedule, the measured
    loads and the solar caps each replace a few fields); most of its ports are
    the very same objects every time, and are not checked again. An entry holds
    its port, so no other object can take its ``id()`` while it is kept; at
    most :attr:`LIMIT` are kept (then they are forgotten, and checked anew).
    """

    LIMIT = 4096

    def __init__(self) -> None:
        self._context: tuple[frozenset[str], Supply] | None = None
        self._ports: dict[int, tuple[Port, object]] = {}

    def context(self, groups: frozenset[str], supply: Supply) -> object:
        """One object per context (the same one as last time if it is equal)."""
        last = self._context
        if last is None or last != (groups, supply):
            last = self._context = (groups, supply)
        return last

    def valid(self, port: Port, context: object) -> bool:
        """Whether ``port`` itself was found valid in ``context``."""
        entry = self._ports.get(id(port))
        return entry is not None and entry[0] is port and entry[1] is context

    def add(self, port: Port, context: object) -> None:
        """Remember that ``port`` is valid in ``context``."""
        if len(self._ports) >= self.LIMIT:
            self._ports.clear()
        self._ports[id(port)] = (port, context)


_CHECKED = _Checked()


def _validate_settings(site: Site) -> None:
    """The site's own numbers, and that it has a group."""
    supply = site.supply
    if not (math.isfinite(supply.voltage_ln_v) and supply.voltage_ln_v > 0):
        raise ModelError("supply.voltage_ln_v", "must be a positive number")
    _non_negative(site.min_current_a, "min_current_a")
    if not (math.isfinite(site.rotation_period_s) and site.rotation_period_s > 0):
        raise ModelError("rotation_period_s", "must be a positive number")
    if not math.isfinite(site.now_s):
        raise ModelError("now_s", "must be a number")
    if not site.groups:
        raise ModelError("groups", "at least one group is needed")


def _validate_group(
    group: Group, where: str, seen: Collection[str], supply: Supply
) -> None:
    """One group alone (``seen``: the ids of the groups before it)."""
    if not group.id:
        raise ModelError(f"{where}.id", "must be a non-empty string")
    if group.id in seen:
        raise ModelError(f"{where}.id", f"duplicate group id {group.id!r}")
    _positive_or_none(group.rating_a, "rating_a", where)
    cf = group.continuous_factor
    if not (math.isfinite(cf) and 0 < cf <= 1):
        raise ModelError(f"{where}.continuous_factor", "must be in (0, 1]")
    _positive_or_none(group.max_power_kw, "max_power_kw", where)
    _non_negative_or_none(group.override_a, "override_a", where)
    if len(group.unmanaged_a) > 3:
        raise ModelError(f"{where}.unmanaged_a", "at most one value per leg (3)")
    for leg, amps in enumerate(group.unmanaged_a):
        if not math.isfinite(amps):
            raise ModelError(f"{where}.unmanaged_a[{leg}]", "must be a number")
        if leg >= supply.legs and amps != 0:
            raise ModelError(
                f"{where}.unmanaged_a[{leg}]",
                f"the {supply.system} supply has no leg {LEG_NAMES[leg]}",
            )


def _validate_tree(groups: Sequence[Group], index: Mapping[str, int]) -> None:
    """Every parent is a group, and no group is its own ancestor."""
    for i, group in enumerate(groups):
        if group.parent is not None and group.parent not in index:
            raise ModelError(f"groups[{i}].parent", f"unknown group {group.parent!r}")
    for i, group in enumerate(groups):
        seen = {group.id}
        parent = group.parent
        while parent is not None:
            if parent in seen:
                raise ModelError(f"groups[{i}].parent", "groups form a cycle")
            seen.add(parent)
            parent = groups[index[parent]].parent


def validate_port(
    port: Port, groups: Collection[str], supply: Supply, where: str = "port"
) -> None:
    """Raise :class:`ModelError` for the first thing that is wrong with ``port``
    alone (``groups``: the ids of the site's groups)."""
    if not port.id:
        raise ModelError(f"{where}.id", "must be a non-empty string")
    if port.group not in groups:
        raise ModelError(f"{where}.group", f"unknown group {port.group!r}")
    conn = CONNECTIONS.get(port.connection)
    if conn is None:
        raise ModelError(
            f"{where}.connection",
            f"{port.connection!r} is not one of {', '.join(CONNECTIONS)}",
        )
    if max(conn.legs) >= supply.legs:
        raise ModelError(
            f"{where}.connection",
            f"{port.connection} does not exist on a {supply.system} supply",
        )
    if not (math.isfinite(port.max_a) and port.max_a >= 0):
        raise ModelError(f"{where}.max_a", "must be a number >= 0")
    _positive_or_none(port.rated_kw, "rated_kw", where)
    _non_negative_or_none(port.failsafe_a, "failsafe_a", where)
    # A minimum above the maximum is checked where a source's ports enter
    # (core.gather): a cap applied later (a setting, a schedule) may lower the
    # maximum of an on/off port below it, which keeps it off.
    _positive_or_none(port.min_a, "min_a", where)
    if port.ev is not None:
        _validate_vehicle(port.ev, where)


def counted_at_most(
    port: Port, groups: Collection[str], root: str, supply: Supply, most_a: float
) -> Port:
    """A port whose description is wrong (see :func:`validate_port`), as the
    allocator can still count it safely: offline, drawing the most it may on
    every leg it may load (the larger of its maximum, or ``most_a`` if that is
    not a valid number, and what it may hold), and commanded nothing. Its
    group, if unknown, is ``root`` (the site: every limit above the port still
    counts it)."""
    conn = (
        CONNECTIONS.get(port.connection) if isinstance(port.connection, str) else None
    )
    if conn is None or max(conn.legs) >= supply.legs:
        # One that loads every leg of the supply (L1-L2-L3, L1-L2, L1).
        connection = next(
            c.name for c in CONNECTIONS.values() if len(c.legs) == supply.legs
        )
    else:
        connection = port.connection

    def valid(amps: object) -> float | None:
        ok = isinstance(amps, (int, float)) and math.isfinite(amps) and amps >= 0
        return float(amps) if ok else None  # type: ignore[arg-type]

    most, held = valid(port.max_a), valid(port.failsafe_a)
    amps = max(most_a if most is None else most, 0.0 if held is None else held)
    return Port(
        id=port.id or "?",
        group=port.group if port.group in groups else root,
        connection=connection,
        max_a=amps,
        online=False,
        failsafe_a=amps,
    )


def _validate_vehicle(ev: Vehicle, where: str) -> None:
    """The vehicle of the port at ``where``."""
    if ev.phases not in (1, 2, 3):
        raise ModelError(f"{where}.ev.phases", "must be 1, 2 or 3")
    _non_negative(ev.max_a, "ev.max_a", where)
    _non_negative_or_none(ev.draw_a, "ev.draw_a", where)
    _non_negative_or_none(ev.offered_a, "ev.offered_a", where)
    _non_negative_or_none(ev.draw_offered_a, "ev.draw_offered_a", where)
    if not math.isfinite(ev.arrived_s):
        raise ModelError(f"{where}.ev.arrived_s", "must be a number")
    _non_negative_or_none(ev.energy_needed_kwh, "ev.energy_needed_kwh", where)
    if ev.departure_s is not None and not math.isfinite(ev.departure_s):
        raise ModelError(f"{where}.ev.departure_s", "must be a number or null")
