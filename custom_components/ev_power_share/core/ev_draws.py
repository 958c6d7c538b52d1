"""The chargers' side of a metered group's load estimate: what the chargers
under each power group report drawing (:func:`ev_draws`, as :class:`EvDraw`),
for the non-EV load estimate (:mod:`.load_estimate`). No Home Assistant
imports; no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
import math
from typing import NamedTuple

from .model import Port, Site


@dataclass(frozen=True, slots=True)
class EvDraw:
    """What the online chargers under a group reported drawing since the last
    update, summed per leg (see :func:`ev_draws`)."""

    currents_a: tuple[float, ...] = ()
    """Per leg (L1, L2, L3), as the chargers reported it."""
    power_w: float | None = None
    """Their total power; None: derived from the currents on the safe side."""
    at_least_a: tuple[float, ...] | None = None
    """Per leg, the part of ``currents_a`` that is certain: each report capped by
    the limit in force (a vehicle told to slow down may have done so already
    while its report still shows the old current); None: ``currents_a``."""
    at_least_w: float | None = None
    """Likewise for ``power_w``."""
    known: frozenset[str] = frozenset()
    """The ports whose draw these figures include because it was reported (0 A
    included); a charging port missing here (its draw not reported yet) counts
    as non-EV load. A sample whose reports know a port that earlier samples did
    not know ends those samples' smoothing (see :mod:`.load_estimate`)."""
    ports: Mapping[str, PortDraw] = field(default_factory=dict)
    """Each known port's own figures, for the smoothed samples' correction by
    later reports (see :mod:`.load_estimate`); empty: no correction."""


class PortDraw(NamedTuple):
    """One port's reported draw, as :class:`EvDraw` sums it."""

    currents_a: tuple[float, ...]
    """Per leg of the supply (L1, L2, L3), as the charger reported it."""
    cap_a: float
    """The most it may draw on a leg: the limit in force (0: none of ours is
    known, so a later report corrects nothing)."""


def finite_or_zero(value: float) -> float:
    """``value`` if it is a finite positive number, else 0 (a report or a limit
    that is not a usable number subtracts nothing and caps nothing)."""
    return value if math.isfinite(value) and value > 0 else 0.0


def ev_draws(
    site: Site,
    phase_currents: Mapping[str, Sequence[float]] | None = None,
    groups: Collection[str] | None = None,
) -> dict[str, EvDraw]:
    """What the online chargers under each group draw, from ``site``'s ports.

    A port's draw is ``phase_currents[port.id]`` when given (the charger's
    measured current per phase, in the order of its connection's legs; a
    line-to-line charger's current flows on both of its legs), else its
    vehicle's ``draw_a`` on the legs the vehicle uses. ``draw_a`` is a single
    figure: if it is the largest of the phases, or the vehicle's phase count is
    a guess, it may count current on a leg that does not carry it, so pass the
    per-phase currents where the charger has them. Unknown draws count as 0 and
    offline ports are not subtracted at all (their current stays in the non-EV
    load, which over-states it: the safe side). A report above what the port may
    draw at all (``port.max_a``) is suspect: it counts at that maximum, never as
    headroom. ``at_least_a`` caps each port by its vehicle's ``offered_a`` (the
    limit in force). ``known`` names the online
    ports with a vehicle whose draw is given (0 A included), under each group,
    and ``ports`` gives each one's draw and the most it may draw.
    ``groups``: only these groups' draws (default: every group's).
    """
    supply = site.supply
    legs = supply.legs
    parent = {g.id: g.parent for g in site.groups}
    wanted = [gid for gid in parent if groups is None or gid in groups]
    chains = _chains(parent, groups)
    high = {gid: [0.0] * legs for gid in wanted}
    low = {gid: [0.0] * legs for gid in wanted}
    high_w = dict.fromkeys(wanted, 0.0)
    low_w = dict.fromkeys(wanted, 0.0)
    known: dict[str, set[str]] = {gid: set() for gid in wanted}
    own: dict[str, dict[str, PortDraw]] = {gid: {} for gid in wanted}
    for port in site.ports:
        ev = port.ev
        chain = chains.get(port.group, [])
        if not port.online or ev is None or not chain:
            continue
        per_leg = _port_draw(port, phase_currents)
        cap = ev.offered_a if ev.offered_a is not None else math.inf
        if (phase_currents is not None and port.id in phase_currents) or (
            ev.draw_a is not None
        ):
            figures = PortDraw(
                tuple(per_leg.get(leg, 0.0) for leg in range(legs)),
                # No limit of ours known: nothing says what it may draw.
                min(cap, port.max_a, ev.max_a) if ev.offered_a is not None else 0.0,
            )
            for gid in chain:
                known[gid].add(port.id)
                own[gid][port.id] = figures
        if not per_leg:
            continue
        conn = port.conn
        capped = {leg: min(a, cap) for leg, a in per_leg.items()}
        if conn.line_to_line:
            # One current through both legs, at the line-to-line voltage.
            w_high = supply.voltage_ll_v * min(per_leg.values())
            w_low = supply.voltage_ll_v * min(capped.values())
        else:
            w_high = supply.voltage_ln_v * sum(per_leg.values())
            w_low = supply.voltage_ln_v * sum(capped.values())
        for gid in chain:
            for leg, amps in per_leg.items():
                high[gid][leg] += amps
                low[gid][leg] += capped[leg]
            high_w[gid] += w_high
            low_w[gid] += w_low
    return {
        gid: EvDraw(
            currents_a=tuple(high[gid]),
            power_w=high_w[gid],
            at_least_a=tuple(low[gid]),
            at_least_w=low_w[gid],
            known=frozenset(known[gid]),
            ports=own[gid],
        )
        for gid in wanted
    }


def _chains(
    parent: Mapping[str, str | None], groups: Collection[str] | None
) -> dict[str, list[str]]:
    """Each group's ancestors (itself first) among ``groups`` (None: all)."""
    chains: dict[str, list[str]] = {}
    for gid in parent:
        chain: list[str] = []
        up: str | None = gid
        while up is not None:
            if groups is None or up in groups:
                chain.append(up)
            up = parent[up]
        chains[gid] = chain
    return chains


def _port_draw(
    port: Port, phase_currents: Mapping[str, Sequence[float]] | None
) -> dict[int, float]:
    """Leg -> current a port draws (only legs with a known current)."""
    conn = port.conn
    ev = port.ev
    measured = None if phase_currents is None else phase_currents.get(port.id)
    most = finite_or_zero(port.max_a)
    if measured is not None:
        values = [min(most, finite_or_zero(a)) for a in measured[: len(conn.legs)]]
        if conn.line_to_line and values:
            # The same current flows through both legs: trust the lower figure.
            return dict.fromkeys(conn.legs, min(values))
        return {conn.legs[i]: a for i, a in enumerate(values) if a > 0}
    if ev is None or ev.draw_a is None:
        return {}
    amps = min(most, finite_or_zero(ev.draw_a))
    return dict.fromkeys(conn.active_legs(ev.phases), amps) if amps > 0 else {}
