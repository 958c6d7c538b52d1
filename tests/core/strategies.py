"""Hypothesis strategies: random valid scenario documents (the contract's format)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

CONNECTIONS = {
    "3p_wye": [
        "L1",
        "L2",
        "L3",
        "L1-L2",
        "L2-L3",
        "L3-L1",
        "L1-L2-L3",
        "L2-L3-L1",
        "L3-L1-L2",
    ],
    "split_phase": ["L1", "L2", "L1-L2"],
    "single_phase": ["L1"],
}
LEGS = {"3p_wye": 3, "split_phase": 2, "single_phase": 1}
POLICIES = ["equal_share", "first_come", "proportional", "priority", "deadline"]


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    max_ports: int = 60,
    policy: str | None = None,
    min_current: float | None = None,
    allow_offline: bool = True,
    allow_draw: bool = True,
) -> dict[str, Any]:
    """A random site: 1–4 levels, one or more roots, mixed everything."""
    system = draw(st.sampled_from(["3p_wye", "3p_wye", "split_phase", "single_phase"]))
    voltage = draw(st.sampled_from([230.0, 120.0]))
    n_legs = LEGS[system]
    depth = draw(st.integers(1, 4))
    n_roots = draw(st.integers(1, 2))
    groups: list[dict[str, Any]] = []
    levels: list[list[str]] = []
    for level in range(depth):
        ids = []
        count = n_roots if level == 0 else draw(st.integers(1, 4))
        for k in range(count):
            gid = f"g{level}_{k}"
            parent = None if level == 0 else draw(st.sampled_from(levels[-1]))
            unmanaged = None
            if draw(st.booleans()):
                unmanaged = [
                    draw(st.floats(-5.0, 40.0, allow_nan=False)) for _ in range(n_legs)
                ]
            groups.append(
                {
                    "id": gid,
                    "parent": parent,
                    "rating_a": draw(st.one_of(st.none(), st.floats(6.0, 250.0))),
                    "continuous_factor": draw(st.sampled_from([0.8, 0.8, 1.0, 0.6])),
                    "max_power_kw": draw(
                        st.one_of(st.none(), st.none(), st.floats(3.0, 120.0))
                    ),
                    "unmanaged_a": unmanaged,
                }
            )
            ids.append(gid)
        levels.append(ids)
    all_groups = [g["id"] for g in groups]
    n_ports = draw(st.one_of(st.integers(1, 12), st.integers(1, max_ports)))
    ports = []
    for i in range(n_ports):
        ev = None
        if draw(st.integers(0, 9)) < 8:
            ev = {
                "phases": draw(st.sampled_from([1, 2, 3])),
                "max_a": draw(st.sampled_from([6.0, 10.0, 16.0, 32.0, 48.0, 5.0])),
                "draw_a": draw(st.one_of(st.none(), st.floats(0, 40)))
                if allow_draw and draw(st.integers(0, 4)) == 0
                else None,
                "arrived_s": draw(st.integers(0, 5000)),
                "priority": draw(st.integers(0, 2)),
                "energy_needed_kwh": draw(st.one_of(st.none(), st.floats(0.5, 60.0))),
                "departure_s": draw(st.one_of(st.none(), st.integers(60, 40000))),
            }
            if ev["draw_a"] is not None and draw(st.booleans()):
                # What it was offered last cycle, and (maybe) the lower offer its
                # draw was measured under: the draw cap's inputs.
                ev["offered_a"] = draw(st.floats(0, 48).map(lambda a: round(a, 1)))
                ev["draw_offered_a"] = draw(
                    st.one_of(st.none(), st.floats(0, 48).map(lambda a: round(a, 1)))
                )
        ports.append(
            {
                "id": f"p{i:03d}",
                "group": draw(st.sampled_from(all_groups)),
                "connection": draw(st.sampled_from(CONNECTIONS[system])),
                "max_a": draw(st.sampled_from([16.0, 32.0, 40.0, 80.0])),
                "rated_kw": draw(st.one_of(st.none(), st.floats(3.0, 50.0))),
                "online": (not allow_offline) or draw(st.integers(0, 9)) > 0,
                "failsafe_a": draw(
                    st.one_of(st.none(), st.sampled_from([0.0, 6.0, 8.0]))
                ),
                "ev": ev,
            }
        )
    return {
        "version": 1,
        "supply": {"system": system, "voltage_ln_v": voltage},
        "policy": policy or draw(st.sampled_from(POLICIES)),
        "min_current_a": min_current
        if min_current is not None
        else draw(st.sampled_from([6.0, 6.0, 8.0, 0.0])),
        "groups": groups,
        "ports": ports,
        "now_s": 0,
    }


NOMINALS_A = [10.0, 12.0, 13.0, 16.0, 8.0]
"""Nominal currents of on/off ports (smart outlets)."""


@st.composite
def onoff_sites(draw: st.DrawFn, *, max_ports: int = 30) -> Any:
    """A random site (:func:`scenarios`) where some ports are on/off ports: their
    own minimum is their whole current (``min_a = max_a``), some pinned (within
    their minimum on-time)."""
    from dataclasses import replace  # noqa: PLC0415

    from custom_components.ev_power_share.core.model import Vehicle  # noqa: PLC0415
    from custom_components.ev_power_share.core.scenario import (  # noqa: PLC0415
        load_scenario,
    )

    site, _state = load_scenario(draw(scenarios(max_ports=max_ports)))
    ports = []
    for k, served in enumerate(site.ports):
        port = served
        if draw(st.integers(0, 2)) == 0:
            nominal = draw(st.sampled_from(NOMINALS_A))
            ev = None
            if draw(st.integers(0, 4)):
                phases = len(port.conn.legs)
                ev = Vehicle(phases=phases, max_a=nominal, arrived_s=k)
            port = replace(
                port,
                max_a=nominal,
                min_a=nominal,
                failsafe_a=nominal,
                pinned=draw(st.booleans()),
                ev=ev,
            )
        ports.append(port)
    return replace(site, ports=tuple(ports))
