"""Site design figures: how oversubscribed each group is, and what it guarantees.

These answer the board's question "what does every car get when all spaces are
taken?" independently of today's measurements: every port busy with a vehicle
that takes all of the charger's phases at the charger's maximum, no other load.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .allocator import allocate
from .model import Policy, Site, Vehicle


@dataclass(frozen=True, slots=True)
class DesignFigures:
    """Design figures of one power group."""

    ports: int
    """Ports under the group (at any depth)."""
    oversubscription: float | None
    """Sum of the ports' maxima over the group's limit (worst leg, or power);
    None when the group has no limit. Above 1 the ports can't all run flat out."""
    guaranteed_a: float | None
    """Lowest current any of its ports gets when every port on the site is busy
    (max-min fair share); None when the group has no ports."""


def design_figures(site: Site) -> dict[str, DesignFigures]:
    """Design figures for every group of ``site``, by group id."""
    busy = replace(
        site,
        groups=tuple(replace(g, unmanaged_a=()) for g in site.groups),
        ports=tuple(
            replace(p, online=True, ev=Vehicle(phases=3, max_a=p.max_a))
            for p in site.ports
        ),
        policy=Policy.EQUAL_SHARE,
        min_current_a=0.0,
    )
    result = allocate(busy)
    supply = site.supply
    by_id = {g.id: g for g in site.groups}
    under: dict[str, list[str]] = {gid: [] for gid in by_id}
    demand_a = {gid: [0.0] * supply.legs for gid in by_id}
    demand_w = dict.fromkeys(by_id, 0.0)
    for port in site.ports:
        conn = port.conn
        for group in site.ancestors(port.group):
            under[group.id].append(port.id)
            for leg in conn.legs:
                demand_a[group.id][leg] += port.max_a
            demand_w[group.id] += port.max_a * supply.watts_per_amp(conn, conn.legs)

    figures: dict[str, DesignFigures] = {}
    for gid, group in by_id.items():
        ratios: list[float] = []
        if group.limit_a is not None:
            ratios.append(max(demand_a[gid]) / group.limit_a)
        if group.max_power_kw is not None:
            ratios.append(demand_w[gid] / (group.max_power_kw * 1000.0))
        currents = [result.ports[pid].current_a for pid in under[gid]]
        figures[gid] = DesignFigures(
            ports=len(under[gid]),
            oversubscription=round(max(ratios), 3) if ratios else None,
            guaranteed_a=min(currents) if currents else None,
        )
    return figures
