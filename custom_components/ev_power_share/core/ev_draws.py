"""What the chargers under each power group report drawing (:func:`ev_draws`),
for the non-EV load estimate (:mod:`.load_estimate`). No Home Assistant
imports; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import math

from .meter_data import EvDraw, PortDraw, finite_or_zero
from .model import Port, Site


def ev_draws(
    site: Site, phase_currents: Mapping[str, Sequence[float]] | None = None
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
    """
    supply = site.supply
    legs = supply.legs
    parent = {g.id: g.parent for g in site.groups}
    high = {g.id: [0.0] * legs for g in site.groups}
    low = {g.id: [0.0] * legs for g in site.groups}
    high_w = dict.fromkeys(parent, 0.0)
    low_w = dict.fromkeys(parent, 0.0)
    known: dict[str, set[str]] = {gid: set() for gid in parent}
    own: dict[str, dict[str, PortDraw]] = {gid: {} for gid in parent}
    for port in site.ports:
        ev = port.ev
        if not port.online or ev is None:
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
            gid: str | None = port.group
            while gid is not None:
                known[gid].add(port.id)
                own[gid][port.id] = figures
                gid = parent[gid]
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
        gid = port.group
        while gid is not None:
            for leg, amps in per_leg.items():
                high[gid][leg] += amps
                low[gid][leg] += capped[leg]
            high_w[gid] += w_high
            low_w[gid] += w_low
            gid = parent[gid]
    return {
        gid: EvDraw(
            currents_a=tuple(high[gid]),
            power_w=high_w[gid],
            at_least_a=tuple(low[gid]),
            at_least_w=low_w[gid],
            known=frozenset(known[gid]),
            ports=own[gid],
        )
        for gid in parent
    }


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
