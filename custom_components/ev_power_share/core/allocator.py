"""Hierarchical, per-phase, policy-driven allocation of charging current.

The site is compiled into linear constraints, one per (group, leg) with a current
limit and one per group with a power limit. Every port with a vehicle loads each
constraint it sits under with a coefficient: 1 A per A on a leg, or its watts per
ampere on a power limit. Capacity is what the limit leaves after the non-EV load
and the failsafe currents of offline chargers.

Policies are built from three steps, always in a deterministic order:

* **admission** at the minimum current, in rotation order: a port whose minimum
  does not fit is paused (0 A) rather than given less than the minimum (each
  port's own minimum where it has one, ``Port.min_a``: an on/off port's is its
  whole current, so it gets all of it or nothing);
* **water-filling** (progressive filling) of the admitted ports from their floors
  to their own bounds, with optional weights; this is exactly max-min fair;
* **greedy** filling in a fixed order (first come, first served).

Round robin: ports paused for the minimum rule take the front of the queue every
``rotation_period_s``, so with ``k`` ports fitting at once and ``n`` waiting, a
paused vehicle waits at most ``ceil((n - k) / k)`` rotation periods.

Pinned ports (``Port.pinned``: an on/off port within its minimum on-time) are
served first, at their minimum, before any policy or rotation order; only a
limit they no longer fit under pauses them. A rotation that a pinned port keeps
from admitting any paused one is tried again next cycle (rather than a period
later), so a paused port waits at most a minimum on-time longer.

No Home Assistant imports; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
import functools
import heapq
import math
from typing import NamedTuple

from .model import Connection, Policy, Port, Site, Supply

DRAW_HEADROOM_A = 2.0
"""A vehicle capped for drawing less than it was offered keeps at least this much
above its draw: its cap is ``draw + DRAW_HEADROOM_A`` rounded up to whole amperes
(see :func:`vehicle_bound`)."""
DRAW_RELEASE_A = 1.25
"""A vehicle drawing within this of its offer is using it (and may want more): it
is not capped. Below ``DRAW_HEADROOM_A`` by 0.75 A, so that a capped vehicle (its
offer at least ``DRAW_HEADROOM_A`` above its draw) is not released by draws
measured with up to ±0.375 A of noise."""
DRAW_KEEP_A = 3.75
"""A capped vehicle drawing up to this under its offer keeps its offer. Above
``DRAW_HEADROOM_A`` + 1 A (the rounding up of the cap) by 0.75 A, so that the
same noise does not take a capped vehicle's offer down."""
NOISE_A = 1e-6
"""Float noise: currents are reported to the microampere."""
INFEASIBLE_TOLERANCE_A = 0.01
"""Fixed loads may exceed a limit by this much before it is called infeasible."""
_EPS = 1e-9

REASON_EV = "ev_limit"
REASON_PORT = "port_limit"
REASON_POLICY = "policy"
REASON_PAUSED = "below_minimum"
REASON_OFFLINE = "offline"
REASON_NO_VEHICLE = "no_vehicle"
_BOUND = -1
"""Cause of a port stopped by its own bound (not a constraint index)."""
_PAUSED = -2
_PINNED = -3
"""Cause of a pinned port held at its minimum, below its bound."""


@dataclass(frozen=True, slots=True)
class RotationState:
    """Round-robin state carried from one allocation to the next."""

    queue: tuple[str, ...] = ()
    """Port ids in admission order (front first)."""
    since_s: float | None = None
    """When the current slot holders were last rotated in (or contention began)."""


class PortAllocation(NamedTuple):
    """What one port is given, and why."""

    current_a: float
    reason: str
    legs: tuple[int, ...]
    """Supply legs this current flows on (0 = L1)."""
    power_kw: float
    bound_a: float
    """The port's own bound this cycle: min(port, vehicle, draw cap); 0 if none."""
    required_a: float | None = None
    """Deadline policy: current needed to deliver the energy by departure."""
    deadline_at_risk: bool | None = None
    """Deadline policy: True when the allocation cannot make the departure."""


class GroupAllocation(NamedTuple):
    """A power group's state after allocation."""

    load_a: tuple[float, ...]
    """Current per leg, non-EV load included."""
    limit_a: float | None
    headroom_a: tuple[float, ...] | None
    power_kw: float
    max_power_kw: float | None


@dataclass(frozen=True, slots=True)
class Allocation:
    """The result of one allocation.

    ``ports`` holds every port of the site and ``groups`` every power group,
    each by id, in the order of their ids.
    """

    ports: Mapping[str, PortAllocation]
    groups: Mapping[str, GroupAllocation]
    feasible: bool
    """False when offline failsafe currents and non-EV loads alone break a limit."""
    rotation: RotationState
    overloaded: tuple[str, ...] = ()
    """Groups whose fixed loads alone exceed a limit (infeasible)."""


@dataclass(slots=True)
class _Problem:
    """A site compiled into constraints (internal)."""

    site: Site
    group_ids: list[str]
    chains: dict[str, tuple[str, ...]]
    """Group id -> itself and its ancestors."""
    cons_group: list[str]
    cap: list[float]
    """Capacity left for controllable ports, per constraint."""
    cons_ports: list[list[int]]
    """Constraint -> the candidate ports that load it."""
    # Candidate ports (online, with a vehicle), by index:
    ports: list[Port]
    legs: list[tuple[int, ...]]
    wpa: list[float]
    """Watts per ampere."""
    bound: list[float]
    bound_reason: list[str]
    minimum: list[float]
    """Each candidate's minimum (its own, else the site's)."""
    port_cons: list[list[tuple[int, float]]]
    overloaded: list[str]
    all_ports: list[Port]
    """Every port of the site, by id."""


@dataclass(slots=True)
class _Outcome:
    """What a policy run gave the candidates (internal)."""

    x: dict[int, float] = field(default_factory=dict)
    """Current per candidate."""
    cause: dict[int, int] = field(default_factory=dict)
    """What stopped each: a constraint index, ``_BOUND`` or ``_PAUSED``."""
    required: dict[int, float] = field(default_factory=dict)
    """Deadline policy: the current each vehicle with a deadline needs."""


def _chains(parent: Mapping[str, str | None]) -> dict[str, tuple[str, ...]]:
    """Group id -> itself and its ancestors, nearest first."""
    chains: dict[str, tuple[str, ...]] = {}

    def chain(gid: str) -> tuple[str, ...]:
        found = chains.get(gid)
        if found is None:
            up = parent[gid]
            found = (gid,) if up is None else (gid, *chain(up))
            chains[gid] = found
        return found

    for gid in parent:
        chain(gid)
    return chains


def vehicle_bound(port: Port, site: Site) -> tuple[float, str]:
    """The most a port's vehicle can be given now, and what bounds it.

    A vehicle measured drawing well below what it was offered is capped a little
    above its draw, so that what it does not use goes to others; it gets room back
    as soon as its draw rises towards its offer.

    The rule is stateless: ``offered_a`` (the last command) carries the state.
    With ``gap = offered_a - draw_a``:

    * ``gap <= DRAW_RELEASE_A``: the vehicle uses what it is offered and may want
      more: no cap (it can have its full share at once);
    * ``gap <= DRAW_KEEP_A``: capped at its offer (it keeps what it has);
    * larger: capped at ``draw_a + DRAW_HEADROOM_A`` rounded up to whole amperes;
    * ``offered_a`` unknown: capped at ``draw_a + DRAW_HEADROOM_A``;
    * a draw measured before the offer was raised (``draw_offered_a``) is judged
      against the offer it answers, the lower one: a vehicle that used that one
      is not capped (it may take the raise; were it capped at its stale draw, the
      raise would be taken back at once and given again once the next report
      shows the vehicle following it: the limit would hunt with every report);

    and never capped below the port's minimum (its own, else the site's).

    Why it is stable: commands are rounded down to the charger's step (1 A or
    0.1 A); a whole-ampere cap survives that, so a vehicle just capped has a gap
    of 2 to 3 A next cycle, inside the keep band with 0.75 A to spare on either
    side: while its draw stays steady (give or take ±0.375 A of noise) its cap
    and command stay the same. (The old rule capped at ``draw + 2`` only while
    that was at most ``offered + 0.5``; rounding the cap down to whole amperes
    for the command often broke that, so the cap went off and on every other
    cycle.) A vehicle that wants more draws up to its offer (or up to 1.25 A
    under it), which releases the cap at once. The cap only lowers a vehicle's
    bound: every group limit still holds.
    """
    ev = port.ev
    if ev is None:
        return 0.0, REASON_NO_VEHICLE
    ev_max = ev.max_a
    draw, offered = ev.draw_a, ev.offered_a
    if draw is not None:
        # A draw measured before the offer was raised answers the lower offer.
        answered = offered
        if offered is not None and ev.draw_offered_a is not None:
            answered = min(offered, ev.draw_offered_a)
        if offered is None:
            ev_max = min(ev_max, max(site.minimum_of(port), draw + DRAW_HEADROOM_A))
        elif answered is not None and answered - draw > DRAW_RELEASE_A:
            if answered - draw <= DRAW_KEEP_A:
                cap = offered
            else:
                cap = float(math.ceil(draw + DRAW_HEADROOM_A - NOISE_A))
            ev_max = min(ev_max, max(site.minimum_of(port), cap))
    if ev_max < port.max_a:
        return ev_max, REASON_EV
    return port.max_a, REASON_PORT


_Kind = tuple[tuple[int, ...], float, list[tuple[int, float]]]
"""Legs, watts per ampere and constraints of a (group, connection, phases) port."""


class _Layout:
    """The shape of a site's tree compiled into constraints.

    It depends only on the groups' ids, parents, which limits they have and the
    supply, so it is cached across control cycles; measurements and vehicles,
    which change every cycle, are applied in :func:`_compile`.
    """

    def __init__(self, supply: Supply, shape: Sequence[_GroupShape]) -> None:
        self.supply = supply
        n_legs = supply.legs
        self.chains = _chains({gid: parent for gid, parent, _, _ in shape})
        by_id = {gid: (limited, powered) for gid, _, limited, powered in shape}
        self.group_ids = sorted(by_id)
        self.cons_group: list[str] = []
        self.cons_is_power: list[bool] = []
        leg_con: dict[tuple[str, int], int] = {}
        power_con: dict[str, int] = {}
        for gid in self.group_ids:
            limited, powered = by_id[gid]
            if limited:
                for leg in range(n_legs):
                    leg_con[gid, leg] = len(self.cons_group)
                    self.cons_group.append(gid)
                    self.cons_is_power.append(False)
            if powered:
                power_con[gid] = len(self.cons_group)
                self.cons_group.append(gid)
                self.cons_is_power.append(True)
        # Per group: the current constraints along its chain per leg, and the
        # power constraints along its chain.
        self.on_leg = {
            gid: [
                [leg_con[up, leg] for up in chain if (up, leg) in leg_con]
                for leg in range(n_legs)
            ]
            for gid, chain in self.chains.items()
        }
        self.on_power = {
            gid: [power_con[up] for up in chain if up in power_con]
            for gid, chain in self.chains.items()
        }
        self._kinds: dict[tuple[str, str, int], _Kind] = {}

    def coefficients(
        self, gid: str, legs: tuple[int, ...], wpa: float
    ) -> list[tuple[int, float]]:
        """Constraints loaded by a port of ``gid`` on ``legs``, with coefficients."""
        out = [(c, 1.0) for leg in legs for c in self.on_leg[gid][leg]]
        out += [(c, wpa) for c in self.on_power[gid]]
        return out

    def kind(self, gid: str, connection: Connection, phases: int) -> _Kind:
        """Legs, W/A and constraints of a vehicle using ``phases`` (memoised)."""
        key = (gid, connection.name, phases)
        found = self._kinds.get(key)
        if found is None:
            legs = connection.active_legs(phases)
            wpa = self.supply.watts_per_amp(connection, legs)
            found = self._kinds[key] = (legs, wpa, self.coefficients(gid, legs, wpa))
        return found


_GroupShape = tuple[str, str | None, bool, bool]
"""A group's id, parent, and whether it has a current limit and a power limit."""


@functools.lru_cache(maxsize=16)
def _layout(supply: Supply, shape: tuple[_GroupShape, ...]) -> _Layout:
    return _Layout(supply, shape)


def _compile(site: Site) -> _Problem:
    """The site as constraints, with the candidates (online, with a vehicle)."""
    supply = site.supply
    layout = _layout(
        supply,
        tuple(
            (g.id, g.parent, g.limit_a is not None, g.max_power_kw is not None)
            for g in site.groups
        ),
    )
    prob = _Problem(
        site=site,
        group_ids=layout.group_ids,
        chains=layout.chains,
        cons_group=layout.cons_group,
        cap=_capacities(site, layout),
        cons_ports=[],
        ports=[],
        legs=[],
        wpa=[],
        bound=[],
        bound_reason=[],
        minimum=[],
        port_cons=[],
        overloaded=[],
        all_ports=sorted(site.ports, key=lambda p: p.id),
    )
    members = _add_ports(prob, layout)
    prob.overloaded = _overloaded(prob.cap, layout, supply.voltage_ln_v)
    cons_ports: list[list[int]] = [[] for _ in prob.cap]
    for kind_cons, kind_ports in members.values():
        for c, _coef in kind_cons:
            cons_ports[c].extend(kind_ports)
    for lst in cons_ports:
        lst.sort()
    prob.cons_ports = cons_ports
    return prob


def _capacities(site: Site, layout: _Layout) -> list[float]:
    """What each constraint's limit leaves after the groups' non-EV loads."""
    supply = site.supply
    n_legs = supply.legs
    by_id = {g.id: g for g in site.groups}
    cap: list[float] = []
    for gid in layout.group_ids:
        g = by_id[gid]
        limit = g.limit_a
        if limit is not None:
            cap.extend(limit - g.unmanaged_on(leg) for leg in range(n_legs))
        if g.max_power_kw is not None:
            unmanaged_w = supply.voltage_ln_v * sum(
                g.unmanaged_on(leg) for leg in range(n_legs)
            )
            cap.append(g.max_power_kw * 1000.0 - unmanaged_w)
    return cap


def _add_ports(
    prob: _Problem, layout: _Layout
) -> dict[int, tuple[list[tuple[int, float]], list[int]]]:
    """Take the offline ports' failsafe currents from ``prob.cap`` and add the
    candidates to ``prob``; returns the candidates of each kind (by the identity
    of its constraint list: every port of a kind shares one)."""
    site = prob.site
    supply = site.supply
    cap = prob.cap
    port_cons = prob.port_cons
    members: dict[int, tuple[list[tuple[int, float]], list[int]]] = {}
    for port in prob.all_ports:
        conn = port.conn
        if not port.online:
            failsafe = site.failsafe_of(port)
            wpa = supply.watts_per_amp(conn, conn.legs)
            for c, coef in layout.coefficients(port.group, conn.legs, wpa):
                cap[c] -= coef * failsafe
            continue
        if port.ev is None:
            continue
        legs, wpa, cons = layout.kind(port.group, conn, port.ev.phases)
        same = members.get(id(cons))
        if same is None:
            same = members[id(cons)] = (cons, [])
        same[1].append(len(port_cons))
        bound, reason = vehicle_bound(port, site)
        prob.ports.append(port)
        prob.legs.append(legs)
        prob.wpa.append(wpa)
        prob.bound.append(bound)
        prob.bound_reason.append(reason)
        prob.minimum.append(site.minimum_of(port))
        port_cons.append(cons)
    return members


def _overloaded(cap: list[float], layout: _Layout, volts: float) -> list[str]:
    """Groups whose fixed loads alone break a limit; clamps ``cap`` at 0."""
    cons_group = layout.cons_group
    overloaded: list[str] = []
    for c, room in enumerate(cap):
        tolerance = INFEASIBLE_TOLERANCE_A
        if layout.cons_is_power[c]:
            tolerance *= volts
        if room < -tolerance and cons_group[c] not in overloaded:
            overloaded.append(cons_group[c])
        cap[c] = max(room, 0.0)
    return overloaded


def _take(prob: _Problem, cap: list[float], i: int, amps: float) -> None:
    for c, coef in prob.port_cons[i]:
        cap[c] -= coef * amps


def _room(prob: _Problem, cap: list[float], i: int) -> tuple[float, int]:
    """Most port ``i`` can get on top of ``cap``'s loads, and what stops it."""
    best, cause = prob.bound[i], _BOUND
    for c, coef in prob.port_cons[i]:
        room = cap[c] / coef
        if room < best - _EPS:
            best, cause = room, c
    return max(best, 0.0), cause


class _Filling:
    """Max-min fair (weighted) progressive filling of some candidates (members).

    Each member starts at its floor (which must fit in ``cap``) and rises as
    ``weight × level`` until its own bound or a constraint it loads is full.
    Event-driven: O(non-zeros × log constraints). Three kinds of event: a member
    reaches its own bound, a constraint is full (every member rising on it
    stops), a waiting member's floor is reached (it starts to rise). The
    constraints' levels are kept in a heap, each entry valid while its version
    is the constraint's. :meth:`run` writes the members' currents to ``out.x``
    and what stopped each to ``out.cause``, and takes them from ``cap``.
    """

    __slots__ = (
        "a_pos",
        "activations",
        "bound",
        "cap",
        "cause",
        "cons_ports",
        "dirty",
        "fixed",
        "flo",
        "heap",
        "port_cons",
        "rising",
        "s_pos",
        "saturations",
        "slope",
        "state",
        "version",
        "wt",
        "x",
    )

    def __init__(
        self,
        prob: _Problem,
        floor: Mapping[int, float],
        weight: Sequence[float] | None,
        cap: list[float],
        out: _Outcome,
    ) -> None:
        """Every member (a key of ``floor``) waiting at its floor, which loads
        ``fixed``."""
        members = list(floor)
        n_cons = len(cap)
        n_ports = len(prob.ports)
        self.cap = cap
        self.x = out.x
        self.cause = out.cause
        self.port_cons = port_cons = prob.port_cons
        self.cons_ports = prob.cons_ports
        self.bound = bound = prob.bound
        self.wt = wt = [1.0] * n_ports if weight is None else weight
        self.flo = flo = [0.0] * n_ports
        for i, f in floor.items():
            flo[i] = f
        self.fixed = fixed = [0.0] * n_cons  # load of members at their floor or frozen
        self.slope = [0.0] * n_cons  # sum of coef × weight of rising members
        self.rising = [0] * n_cons  # how many members are rising, per constraint
        self.version = [0] * n_cons
        # Member state: 0 not in this run, 1 waiting at its floor, 2 rising, 3 frozen.
        self.state = state = [0] * n_ports
        for i in members:
            state[i] = 1
            f = flo[i]
            if f:
                for c, coef in port_cons[i]:
                    fixed[c] += coef * f
        self.activations = sorted(members, key=lambda i: (flo[i] / wt[i], i))
        self.saturations = sorted(members, key=lambda i: (bound[i] / wt[i], i))
        self.a_pos = self.s_pos = 0
        self.heap: list[tuple[float, int, int]] = []
        self.dirty: set[int] = set()

    def run(self) -> None:
        """Fill until every member is frozen; take their load from ``cap``."""
        level = 0.0
        left = len(self.saturations)
        while left:
            # Next event of each kind; ties: bound first, then constraint, then rise.
            con_level = self.next_full()
            sat_level, act_level = self.next_bound_and_rise()
            if sat_level <= con_level + _EPS and sat_level <= act_level:
                level = max(level, sat_level)
                left -= self.reach_bounds(sat_level)
            elif con_level <= act_level:
                level = max(level, con_level)
                left -= self.fill_constraint(level)
            else:
                level = max(level, act_level)
                self.rise(act_level)
        cap, fixed = self.cap, self.fixed
        for c in range(len(cap)):  # every member is frozen: ``fixed`` is their load
            cap[c] -= fixed[c]

    def next_full(self) -> float:
        """The level at which the next constraint is full, once the levels of
        those whose load the last event changed are queued."""
        version, rising, heap = self.version, self.rising, self.heap
        cap, fixed, slope, dirty = self.cap, self.fixed, self.slope, self.dirty
        for c in dirty:
            version[c] += 1
            if rising[c]:
                heapq.heappush(heap, ((cap[c] - fixed[c]) / slope[c], version[c], c))
        dirty.clear()
        while heap and heap[0][1] != version[heap[0][2]]:
            heapq.heappop(heap)
        return heap[0][0] if heap else math.inf

    def next_bound_and_rise(self) -> tuple[float, float]:
        """The levels at which the next member reaches its own bound, and at
        which the next waiting member's floor is reached."""
        state, wt = self.state, self.wt
        saturations, activations = self.saturations, self.activations
        n = len(saturations)
        s_pos, a_pos = self.s_pos, self.a_pos
        while s_pos < n and state[saturations[s_pos]] == 3:
            s_pos += 1
        while a_pos < n and state[activations[a_pos]] != 1:
            a_pos += 1
        self.s_pos, self.a_pos = s_pos, a_pos
        sat_level = math.inf
        if s_pos < n:
            i = saturations[s_pos]
            sat_level = self.bound[i] / wt[i]
        act_level = math.inf
        if a_pos < n:
            i = activations[a_pos]
            act_level = self.flo[i] / wt[i]
        return sat_level, act_level

    def reach_bounds(self, level: float) -> int:
        """Freeze every member reaching its own bound at ``level``; how many."""
        saturations = self.saturations
        state, bound, wt = self.state, self.bound, self.wt
        n = len(saturations)
        s_pos = self.s_pos
        frozen = 0
        while s_pos < n:
            i = saturations[s_pos]
            if state[i] != 3:
                if bound[i] / wt[i] > level + _EPS:
                    break
                self.freeze(i, bound[i], _BOUND)
                frozen += 1
            s_pos += 1
        self.s_pos = s_pos
        return frozen

    def fill_constraint(self, level: float) -> int:
        """Freeze every member still on the next full constraint; how many."""
        c = heapq.heappop(self.heap)[2]
        state, wt, flo = self.state, self.wt, self.flo
        frozen = 0
        for i in self.cons_ports[c]:
            st = state[i]
            if st in {1, 2}:
                amps = wt[i] * level if st == 2 else flo[i]
                self.freeze(i, max(amps, flo[i]), c)
                frozen += 1
        return frozen

    def rise(self, level: float) -> None:
        """Every waiting member whose floor is reached at ``level`` rises."""
        activations, state, wt, flo = self.activations, self.state, self.wt, self.flo
        fixed, rising, slope, dirty = self.fixed, self.rising, self.slope, self.dirty
        n = len(activations)
        a_pos = self.a_pos
        while a_pos < n:
            i = activations[a_pos]
            if state[i] == 1:
                if flo[i] / wt[i] > level + _EPS:
                    break
                state[i] = 2
                f, wi = flo[i], wt[i]
                for c, coef in self.port_cons[i]:
                    fixed[c] -= coef * f
                    rising[c] += 1
                    slope[c] += coef * wi
                    dirty.add(c)
            a_pos += 1
        self.a_pos = a_pos

    def freeze(self, i: int, amps: float, why: int) -> None:
        """Member ``i`` stops at ``amps``, stopped by ``why``."""
        was_rising = self.state[i] == 2
        self.state[i] = 3
        self.x[i] = amps
        self.cause[i] = why
        fixed, dirty = self.fixed, self.dirty
        if was_rising:
            wi = self.wt[i]
            rising, slope, version = self.rising, self.slope, self.version
            for c, coef in self.port_cons[i]:
                rising[c] -= 1
                fixed[c] += coef * amps
                if rising[c]:
                    slope[c] -= coef * wi
                    dirty.add(c)
                else:  # nothing rises on it any more: just drop its heap entry
                    slope[c] = 0.0
                    version[c] += 1
        else:
            extra = amps - self.flo[i]
            for c, coef in self.port_cons[i]:
                fixed[c] += coef * extra
                dirty.add(c)


def _admit(
    prob: _Problem, order: Sequence[int], cap: Sequence[float]
) -> tuple[list[int], list[int]]:
    """Admit ports in ``order`` while each one's minimum still fits."""
    scratch = list(cap)
    admitted: list[int] = []
    paused: list[int] = []
    port_cons, minima = prob.port_cons, prob.minimum
    for i in order:
        cons = port_cons[i]
        minimum = minima[i]
        for c, coef in cons:
            if scratch[c] - coef * minimum < -_EPS:
                paused.append(i)
                break
        else:
            for c, coef in cons:
                scratch[c] -= coef * minimum
            admitted.append(i)
    return admitted, paused


def _share(
    prob: _Problem,
    order: Sequence[int],
    cap: list[float],
    out: _Outcome,
    weight: Sequence[float] | None = None,
    floors: Mapping[int, float] | None = None,
) -> None:
    """Admit at the minimum in ``order``, pause the rest, water-fill the admitted."""
    fresh = [i for i in order if floors is None or i not in floors]
    scratch = list(cap)
    if floors:
        for i, f in floors.items():
            _take(prob, scratch, i, f)
    admitted, paused = _admit(prob, fresh, scratch)
    for i in paused:
        out.x[i], out.cause[i] = 0.0, _PAUSED
    floor = {i: prob.minimum[i] for i in admitted}
    if floors:
        floor.update(floors)
    if floor:
        _Filling(prob, floor, weight, cap, out).run()


def _greedy(
    prob: _Problem, order: Sequence[int], cap: list[float], out: _Outcome
) -> None:
    """Serve ports fully, one after the other (first come, first served)."""
    x, cause = out.x, out.cause
    for i in order:
        room, why = _room(prob, cap, i)
        if room < prob.minimum[i] - _EPS or room <= _EPS:
            x[i], cause[i] = 0.0, why if why != _BOUND else _PAUSED
            continue
        x[i], cause[i] = room, why
        _take(prob, cap, i, room)


def _deadline_needs(prob: _Problem, i: int) -> tuple[float, float] | None:
    """(laxity in s, current needed in A) for a vehicle with a deadline."""
    ev = prob.ports[i].ev
    if ev is None or not ev.energy_needed_kwh or ev.departure_s is None:
        return None
    energy_ws = ev.energy_needed_kwh * 3.6e6
    left = ev.departure_s - prob.site.now_s
    rate = prob.bound[i] * prob.wpa[i]
    if left <= 0:
        return (-math.inf, math.inf)
    fastest = energy_ws / rate if rate > 0 else math.inf
    return (left - fastest, energy_ws / (left * prob.wpa[i]))


def _run_policy(prob: _Problem, queue: Sequence[int]) -> _Outcome:
    """Currents and causes for every candidate; ``queue`` is the rotation order
    (the pinned ports are served first)."""
    site = prob.site
    cap = list(prob.cap)
    out = _Outcome()
    policy = site.policy
    queue = _serve_pinned(prob, queue, cap, out)

    if policy is Policy.FIRST_COME:
        order = sorted(queue, key=lambda i: (_arrived(prob, i), prob.ports[i].id))
        _greedy(prob, order, cap, out)
    elif policy is Policy.EQUAL_SHARE:
        _share(prob, queue, cap, out)
    elif policy is Policy.PROPORTIONAL:
        # Power in proportion to rated power: weight = current at rated power.
        weight = [
            (p.rated_kw * 1000.0 if p.rated_kw else p.max_a * _full_wpa(site, p))
            / prob.wpa[i]
            for i, p in enumerate(prob.ports)
        ]
        _share(prob, queue, cap, out, weight=weight)
    elif policy is Policy.PRIORITY:
        tiers = sorted({_priority(prob, i) for i in queue}, reverse=True)
        for tier in tiers:
            members = [i for i in queue if _priority(prob, i) == tier]
            _share(prob, members, cap, out)
    else:  # Policy.DEADLINE
        _deadline(prob, queue, cap, out)
    return out


def _serve_pinned(
    prob: _Problem, queue: Sequence[int], cap: list[float], out: _Outcome
) -> list[int]:
    """Give each pinned port (in ``queue`` order) its minimum where it fits,
    pause the others; the rest of the queue, for the policy."""
    rest: list[int] = []
    for i in queue:
        if not prob.ports[i].pinned:
            rest.append(i)
            continue
        need = prob.minimum[i]
        room, _why = _room(prob, cap, i)
        if room < need - _EPS or need <= _EPS:
            out.x[i], out.cause[i] = 0.0, _PAUSED
            continue
        out.x[i] = need
        out.cause[i] = _BOUND if need >= prob.bound[i] - _EPS else _PINNED
        _take(prob, cap, i, need)
    return rest


def _deadline(
    prob: _Problem, queue: Sequence[int], cap: list[float], out: _Outcome
) -> None:
    """The deadline policy: each vehicle with a deadline is given what it needs
    first, as a floor; the others, and what is left, are shared."""
    needs = {i: n for i in queue if (n := _deadline_needs(prob, i)) is not None}
    # Deadlines that can still be met come first, least laxity first; one
    # that cannot be met even at full speed must not make the others miss.
    urgent = sorted(
        needs,
        key=lambda i: (
            needs[i][1] > prob.bound[i] + _EPS,
            needs[i][0],
            prob.ports[i].id,
        ),
    )
    floors: dict[int, float] = {}
    staged = list(cap)  # the water-filling below takes the floors from ``cap``
    for i in urgent:
        out.required[i] = needs[i][1]
        minimum = prob.minimum[i]
        target = min(prob.bound[i], max(needs[i][1], minimum))
        room, why = _room(prob, staged, i)
        give = min(room, target)
        if give < minimum - _EPS or give <= _EPS:
            out.x[i], out.cause[i] = 0.0, _PAUSED if why == _BOUND else why
            continue
        floors[i] = give
        _take(prob, staged, i, give)
    rest = [i for i in queue if i not in needs]
    _share(prob, rest, cap, out, floors=floors)


def _full_wpa(site: Site, port: Port) -> float:
    """Watts per ampere of a port when every one of its phases is used."""
    return site.supply.watts_per_amp(port.conn, port.conn.legs)


def _arrived(prob: _Problem, i: int) -> float:
    ev = prob.ports[i].ev
    return 0.0 if ev is None else ev.arrived_s


def _priority(prob: _Problem, i: int) -> int:
    ev = prob.ports[i].ev
    return 0 if ev is None else ev.priority


def allocate(site: Site, state: RotationState | None = None) -> Allocation:
    """Decide every port's current for ``site`` at ``site.now_s``.

    ``state`` carries the round-robin queue between cycles; pass the returned
    ``Allocation.rotation`` back in next time.
    """
    prob = _compile(site)
    candidates = [
        i
        for i, (b, least) in enumerate(zip(prob.bound, prob.minimum, strict=True))
        if b >= least - _EPS and b > _EPS
    ]
    queue = _queue(prob, candidates, state)
    since = site.now_s if state is None or state.since_s is None else state.since_s

    out = _Outcome()
    feasible = not prob.overloaded
    if feasible:
        out = _run_policy(prob, queue)
        paused = [i for i in queue if out.cause.get(i) == _PAUSED]
        if not paused:
            since = site.now_s
        elif site.now_s - since >= site.rotation_period_s - _EPS:
            rotated = paused + [i for i in queue if i not in set(paused)]
            turned = _run_policy(prob, rotated)
            if not _pinned_out(prob, turned, paused):
                queue, out, since = rotated, turned, site.now_s

    rotation = RotationState(
        queue=tuple(prob.ports[i].id for i in queue), since_s=since
    )
    return _result(prob, out, feasible, rotation)


def _pinned_out(prob: _Problem, out: _Outcome, paused: Sequence[int]) -> bool:
    """Whether pinned ports kept every port ``paused`` before a rotation from
    being admitted by it (then the queue stays as it was, and the rotation is
    tried again next cycle)."""
    return all(out.cause.get(i) == _PAUSED for i in paused) and any(
        p.pinned and out.x.get(i, 0.0) > 0.0 for i, p in enumerate(prob.ports)
    )


def _queue(
    prob: _Problem, candidates: Sequence[int], state: RotationState | None
) -> list[int]:
    """Rotation order: the kept queue, then newcomers by arrival and id."""
    index = {prob.ports[i].id: i for i in candidates}
    queue: list[int] = []
    if state is not None:
        queue = [index[pid] for pid in state.queue if pid in index]
    known = set(queue)
    newcomers = sorted(
        (i for i in candidates if i not in known),
        key=lambda i: (_arrived(prob, i), prob.ports[i].id),
    )
    return queue + newcomers


def _result(
    prob: _Problem, out: _Outcome, feasible: bool, rotation: RotationState
) -> Allocation:
    """The allocation of a policy run: every port's current and reason, and
    every group's load (EV and non-EV) against its limits."""
    ports, load, power = _port_results(prob, out, feasible)
    _add_up(prob, load, power)
    return Allocation(
        ports=ports,
        groups=_group_results(prob, load, power),
        feasible=feasible,
        rotation=rotation,
        overloaded=tuple(prob.overloaded),
    )


def _port_results(
    prob: _Problem, out: _Outcome, feasible: bool
) -> tuple[dict[str, PortAllocation], dict[str, list[float]], dict[str, float]]:
    """Every port's allocation, and the EV load (A per leg, W) each group's
    own ports put on it."""
    site = prob.site
    load = {g.id: [0.0] * site.supply.legs for g in site.groups}
    power = dict.fromkeys(load, 0.0)  # watts
    candidates = _candidate_results(prob, out, feasible)
    k = 0  # the candidates are the online ports with a vehicle, in id order
    ports: dict[str, PortAllocation] = {}
    for port in prob.all_ports:
        if not port.online:
            given, wpa = _offline_result(site, port)
        elif port.ev is None:
            ports[port.id] = _NO_VEHICLE
            continue
        else:
            given, wpa = candidates[k], prob.wpa[k]
            k += 1
        amps = given.current_a
        if amps:
            own = load[port.group]
            for leg in given.legs:
                own[leg] += amps
            power[port.group] += amps * wpa
        ports[port.id] = given
    return ports, load, power


_NO_VEHICLE = PortAllocation(0.0, REASON_NO_VEHICLE, (), 0.0, 0.0)


def _candidate_results(
    prob: _Problem, out: _Outcome, feasible: bool
) -> list[PortAllocation]:
    """Each candidate's allocation, by index.

    Currents are given at microampere resolution, rounded down (never above a
    bound): quantizing coarser here would waste up to a step per port; commands
    are rounded down to each charger's step later.
    """
    x, cause, required = out.x, out.cause, out.required
    given: list[PortAllocation] = []
    for i, (legs, bound, wpa, minimum) in enumerate(
        zip(prob.legs, prob.bound, prob.wpa, prob.minimum, strict=True)
    ):
        amps = 0.0
        if feasible:
            amps = math.floor(x.get(i, 0.0) * 1e6 + 1e-3) / 1e6
            if amps < minimum - NOISE_A:
                amps = 0.0
            elif amps < minimum:
                amps = minimum
        required_a = required.get(i)
        given.append(
            PortAllocation(
                amps,
                _reason(prob, i, amps, cause.get(i), feasible),
                legs,
                amps * wpa / 1000.0,
                bound,
                required_a,
                None if required_a is None else amps + 0.01 < required_a,
            )
        )
    return given


def _offline_result(site: Site, port: Port) -> tuple[PortAllocation, float]:
    """An offline port's allocation (its failsafe current), and its watts per
    ampere."""
    conn = port.conn
    amps, legs = site.failsafe_of(port), conn.legs
    wpa = site.supply.watts_per_amp(conn, legs)
    return PortAllocation(amps, REASON_OFFLINE, legs, amps * wpa / 1000.0, 0.0), wpa


def _add_up(
    prob: _Problem, load: dict[str, list[float]], power: dict[str, float]
) -> None:
    """Add each group's load to its parent's (leaves first), then every group's
    own non-EV load, which is measured at each group itself."""
    site = prob.site
    by_id = {g.id: g for g in site.groups}
    for gid in sorted(by_id, key=lambda g: -len(prob.chains[g])):  # leaves first
        parent = by_id[gid].parent
        if parent is not None:
            up = load[parent]
            for leg, amps in enumerate(load[gid]):
                up[leg] += amps
            power[parent] += power[gid]
    volts = site.supply.voltage_ln_v
    for gid, g in by_id.items():
        for leg in range(site.supply.legs):
            unmanaged = g.unmanaged_on(leg)
            load[gid][leg] += unmanaged
            power[gid] += unmanaged * volts


def _group_results(
    prob: _Problem, load: Mapping[str, list[float]], power: Mapping[str, float]
) -> dict[str, GroupAllocation]:
    """Each group's load, limit and headroom, to the milliampere (as reported:
    the limits are kept by the ports' currents, not by these figures)."""
    by_id = {g.id: g for g in prob.site.groups}
    groups: dict[str, GroupAllocation] = {}
    for gid in prob.group_ids:
        g = by_id[gid]
        limit = g.limit_a
        loads = tuple(round(v, 3) for v in load[gid])
        groups[gid] = GroupAllocation(
            load_a=loads,
            limit_a=None if limit is None else round(limit, 3),
            headroom_a=None
            if limit is None
            else tuple(round(limit - v, 3) for v in load[gid]),
            power_kw=round(power[gid] / 1000.0, 3),
            max_power_kw=g.max_power_kw,
        )
    return groups


def _reason(
    prob: _Problem,
    i: int,
    amps: float,
    why: int | None,
    feasible: bool,
) -> str:
    if not feasible:
        chain = prob.chains[prob.ports[i].group]
        hit = [gid for gid in prob.overloaded if gid in chain]
        # Ports under a healthy group are held at 0 too: the measurements that
        # make the site infeasible cannot be trusted anywhere.
        return f"group:{hit[0]}" if hit else REASON_POLICY
    if why is None:  # a vehicle whose own bound is below the minimum
        return prob.bound_reason[i]
    if why == _PAUSED:
        return REASON_PAUSED
    if why == _PINNED:
        return REASON_POLICY
    if why == _BOUND or amps >= prob.bound[i] - NOISE_A:
        return prob.bound_reason[i]
    return f"group:{prob.cons_group[why]}"
