"""The safety invariant across control cycles, faults and restarts.

A fixed tree; every cycle the non-EV load steps, chargers drop offline or come
back, vehicles come and go, and now and then Home Assistant restarts (the rotation
state is lost). In every cycle no group may exceed any limit on any phase, counting
offline chargers at their failsafe current, unless the fixed loads alone already
do (then every controllable port must be at 0 A).
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from custom_components.ev_power_share.core.allocator import RotationState, allocate
from custom_components.ev_power_share.core.model import (
    CONNECTIONS,
    Group,
    Policy,
    Port,
    Site,
    Vehicle,
)

GROUPS = (
    Group("site", rating_a=100.0),
    Group("panel", "site", rating_a=63.0, max_power_kw=30.0),
    Group("c1", "panel", rating_a=32.0),
    Group("c2", "panel", rating_a=40.0),
    Group("garage", "site", rating_a=50.0),
)
PORT_GROUPS = ("c1", "c1", "c2", "c2", "c2", "garage", "garage", "panel")
CONNS = ("L1-L2-L3", "L2-L3-L1", "L3-L1-L2", "L1", "L2", "L3")

cycle = st.fixed_dictionaries(
    {
        "unmanaged": st.lists(
            st.tuples(st.floats(-5, 60), st.floats(-5, 60), st.floats(-5, 60)),
            min_size=len(GROUPS),
            max_size=len(GROUPS),
        ),
        "online": st.lists(st.booleans() | st.just(True), min_size=8, max_size=8),
        "present": st.lists(st.booleans(), min_size=8, max_size=8),
        "phases": st.lists(st.sampled_from((1, 3)), min_size=8, max_size=8),
        "draw": st.lists(st.none() | st.floats(0, 32), min_size=8, max_size=8),
        "restart": st.booleans(),
        "policy": st.sampled_from(list(Policy)),
    }
)


@settings(max_examples=60, deadline=None)
@given(
    cycles=st.lists(cycle, min_size=2, max_size=12),
    connections=st.lists(st.sampled_from(CONNS), min_size=8, max_size=8),
)
def test_no_cycle_ever_exceeds_a_limit(
    cycles: list[dict[str, object]], connections: list[str]
) -> None:
    state: RotationState | None = None
    offered: dict[str, float] = {}
    for k, snap in enumerate(cycles):
        unmanaged = snap["unmanaged"]
        groups = tuple(
            Group(g.id, g.parent, g.rating_a, g.continuous_factor, g.max_power_kw, u)
            for g, u in zip(GROUPS, unmanaged, strict=True)  # type: ignore[call-overload]
        )
        ports = []
        for i, gid in enumerate(PORT_GROUPS):
            ev = None
            if snap["present"][i]:  # type: ignore[index]
                ev = Vehicle(
                    phases=snap["phases"][i],  # type: ignore[index]
                    max_a=32.0,
                    draw_a=snap["draw"][i],  # type: ignore[index]
                    offered_a=offered.get(f"p{i}"),
                    arrived_s=float(i),
                )
            ports.append(
                Port(
                    f"p{i}",
                    gid,
                    connections[i],
                    max_a=32.0,
                    online=snap["online"][i],  # type: ignore[index]
                    failsafe_a=6.0,
                    ev=ev,
                )
            )
        site = Site(
            groups=groups,
            ports=tuple(ports),
            policy=snap["policy"],  # type: ignore[arg-type]
            now_s=k * 5.0,
            rotation_period_s=15.0,
        )
        if snap["restart"]:
            state = None
        result = allocate(site, state)
        state = result.rotation
        offered = {pid: pa.current_a for pid, pa in result.ports.items()}
        _check_limits(site, result)


def _check_limits(site: Site, result: object) -> None:
    ports = result.ports  # type: ignore[attr-defined]
    by_id = {g.id: g for g in site.groups}
    load = {g.id: [max(0.0, u) for u in g.unmanaged_a] for g in site.groups}
    power = {gid: 230.0 * sum(v) for gid, v in load.items()}
    for port in site.ports:
        amps = ports[port.id].current_a
        conn = CONNECTIONS[port.connection]
        if not port.online:
            legs = conn.legs
            assert amps == 6.0
        elif port.ev is None:
            assert amps == 0.0
            continue
        else:
            legs = conn.active_legs(port.ev.phases)
            assert amps == 0.0 or 6.0 <= amps <= 32.0 + 1e-9
        watts = amps * 230.0 * len(legs)
        for group in site.ancestors(port.group):
            for leg in legs:
                load[group.id][leg] += amps
            power[group.id] += watts

    fixed_ok = result.feasible  # type: ignore[attr-defined]
    if not fixed_ok:
        for port in site.ports:
            if port.online:
                assert ports[port.id].current_a == 0.0
        return
    for gid, legs_load in load.items():
        group = by_id[gid]
        limit = group.limit_a
        if limit is not None:
            for amps in legs_load:
                assert amps <= limit + 0.01, (gid, legs_load, limit)
        if group.max_power_kw is not None:
            assert power[gid] <= group.max_power_kw * 1000.0 + 2.3, (gid, power[gid])
